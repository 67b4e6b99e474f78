/**
 * The access-policy model every adapter shares: combining scope requirements (DNF product),
 * combining whole policies (scopes and claim checks, AND), describing them, and the one rule for
 * which refusal answers a response when several operations of it were refused.
 */
import { AuthError } from './errors.js';
import {
  type ClaimCheck,
  compileScopes,
  matchesClaims,
  passesClaimCheck,
  type ScopeAlternatives,
} from './scopes.js';
import type { AccessPolicy } from './types.js';

// Beyond this many alternatives a requirement is unreadable and its check costly: refuse it.
const MAX_ALTERNATIVES = 64;

/** Alternatives that another alternative already implies are dropped: {a} makes {a, b} redundant. */
function minimal(alternatives: readonly (readonly string[])[]): ScopeAlternatives {
  const unique = new Map<string, readonly string[]>();
  for (const alternative of alternatives) {
    const key = [...alternative].sort().join(' ');
    if (!unique.has(key)) unique.set(key, alternative);
  }
  const list = [...unique.values()];
  const kept = list.filter(
    (alternative) =>
      !list.some(
        (other) => other.length < alternative.length && other.every((scope) => alternative.includes(scope)),
      ),
  );
  return Object.freeze(kept.map((alternative) => Object.freeze([...alternative])));
}

/**
 * Both scope requirements: the product of their alternatives, minimal (`undefined` is "none").
 * @throws TypeError when the product has more than 64 alternatives
 */
export function allOfScopes(
  a: ScopeAlternatives | undefined,
  b: ScopeAlternatives | undefined,
): ScopeAlternatives | undefined {
  if (!a) return b;
  if (!b) return a;
  const product: string[][] = [];
  for (const left of a) {
    for (const right of b) product.push([...new Set([...left, ...right])]);
  }
  const scopes = minimal(product);
  if (scopes.length > MAX_ALTERNATIVES) {
    throw new TypeError(`the combined requirement has more than ${MAX_ALTERNATIVES} alternatives`);
  }
  compileScopes(scopes); // registers the result as compiled
  return scopes;
}

/** Both claim checks, in order: the second runs only when the first holds. */
function allOfClaims<TClaims>(
  a: ClaimCheck<TClaims> | undefined,
  b: ClaimCheck<TClaims> | undefined,
): ClaimCheck<TClaims> | undefined {
  if (!a) return b;
  if (!b) return a;
  return async (claims: TClaims) =>
    (await passesClaimCheck(claims as object, a as ClaimCheck<object>)) &&
    passesClaimCheck(claims as object, b as ClaimCheck<object>);
}

/**
 * Both policies: scopes by DNF product, claim checks in sequence. Stacked requirements are one
 * policy, so a refusal names everything the operation requires.
 * @throws TypeError when the combined scopes have more than 64 alternatives
 */
export function allOf<TClaims>(a: AccessPolicy<TClaims>, b: AccessPolicy<TClaims>): AccessPolicy<TClaims> {
  const scopes = allOfScopes(
    a.scopes === undefined ? undefined : compileScopes(a.scopes),
    b.scopes === undefined ? undefined : compileScopes(b.scopes),
  );
  const claims = allOfClaims(a.claims, b.claims);
  return Object.freeze({
    ...(scopes !== undefined && { scopes }),
    ...(claims !== undefined && { claims }),
  });
}

function refusalUnless(passes: unknown): AuthError | null {
  return passes === true ? null : new AuthError('claim_check_failed');
}

/**
 * A claim check decided synchronously: `null` when it holds, else the `claim_check_failed`
 * refusal (returned, not thrown); a promise of either only when a predicate answers with one.
 * A throwing predicate throws: it is a bug, not a refusal.
 */
export function claimCheckRefusal<TClaims extends object>(
  claims: TClaims,
  check: ClaimCheck<TClaims>,
): AuthError | null | Promise<AuthError | null> {
  if (typeof check !== 'function') return refusalUnless(matchesClaims(claims, check));
  const passes: unknown = check(claims);
  return typeof (passes as PromiseLike<unknown> | null)?.then === 'function'
    ? Promise.resolve(passes).then(refusalUnless)
    : refusalUnless(passes);
}

/** A requirement in words, for audits and logs: `a AND b`, or `(a AND b) OR (admin)`. */
export function describeScopes(alternatives: ScopeAlternatives): string {
  return alternatives.length === 1
    ? (alternatives[0] as readonly string[]).join(' AND ')
    : alternatives.map((alternative) => `(${alternative.join(' AND ')})`).join(' OR ');
}

// The most basic problem answers: the request itself (400: fix it), then the credentials (401),
// then the grant (403). 503 says nothing about the token: it answers only when nothing else did.
const RANK: Readonly<Record<number, number>> = { 400: 0, 401: 1, 403: 2, 503: 3 };

/**
 * The refusal that answers a response (its status and challenge) when several operations of one
 * request were refused: 400, then 401, then 403, the first in order among equals; a 503 only when
 * every refusal is a 503. `undefined` entries (other errors) are skipped.
 */
export function answeringRefusal(refusals: Iterable<AuthError | undefined>): AuthError | undefined {
  let chosen: AuthError | undefined;
  for (const refusal of refusals) {
    if (refusal === undefined) continue;
    const rank = RANK[refusal.status] as number;
    if (!chosen || rank < (RANK[chosen.status] as number)) chosen = refusal;
  }
  return chosen;
}
