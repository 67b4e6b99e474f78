/**
 * Scope requirements and claim checks: pure functions shared by every adapter. Scopes are
 * compared as whole tokens in a Set, case-sensitively, never as substrings (SECURITY.md #65-67).
 */
import { AuthError } from './errors.js';

/**
 * What an operation requires:
 * - `'read:data'` or `'read:data write:data'`: these scopes (a string is split on spaces);
 * - `['read:data', 'write:data']`: all of them;
 * - `{ anyOf: ['admin', ['read:data', 'write:data']] }`: any one alternative;
 * - `[['read:data', 'write:data'], ['admin']]`: disjunctive normal form, (read AND write) OR admin.
 */
export type ScopeRequirement =
  | string
  | readonly string[]
  | readonly (readonly string[])[]
  | { readonly anyOf: readonly (string | readonly string[])[] };

/** A requirement in disjunctive normal form: any alternative, all scopes of it. */
export type ScopeAlternatives = readonly (readonly string[])[];

/**
 * A claim check: a predicate over the verified claims, or `{ claim: expected }` pairs that must
 * all hold (equality; for an array claim, membership; an array `expected` needs every element).
 */
export type ClaimCheck<TClaims = Record<string, unknown>> =
  | ((claims: TClaims) => boolean | Promise<boolean>)
  | { readonly [claim: string]: ClaimValue | readonly ClaimValue[] };

type ClaimValue = string | number | boolean | null;

const compiled = new WeakMap<object, ScopeAlternatives>();

// Object claim checks that passed compileClaimCheck: the runtime path compiles any other one, so
// `{ org: undefined }` can never reach a comparison (it would match every token without `org`).
const compiledChecks = new WeakSet<object>();

/** A value a `{ claim: expected }` check may hold: a string, a finite number, a boolean or null. */
function isClaimValue(value: unknown): value is ClaimValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function scopeList(value: unknown, what: string): string[] {
  const list = typeof value === 'string' ? value.split(' ').filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${what} must be a non-empty scope string or list of scope strings`);
  }
  for (const scope of list) {
    if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw new TypeError(`${what}: ${JSON.stringify(scope)} is not a valid scope (RFC 6749 3.3)`);
    }
  }
  return [...new Set(list as string[])];
}

/**
 * Normalizes a requirement to frozen DNF. Call it once, where the requirement is declared.
 * @throws TypeError on an empty or malformed requirement
 */
export function compileScopes(requirement: ScopeRequirement): ScopeAlternatives {
  if (typeof requirement === 'object' && requirement !== null) {
    const hit = compiled.get(requirement);
    if (hit) return hit;
  }
  let alternatives: string[][];
  if (typeof requirement === 'string') {
    alternatives = [scopeList(requirement, 'scope requirement')];
  } else if (Array.isArray(requirement)) {
    if (requirement.length > 0 && requirement.every(Array.isArray)) {
      alternatives = requirement.map((alt) => scopeList(alt, 'scope requirement alternative'));
    } else {
      alternatives = [scopeList(requirement, 'scope requirement')];
    }
  } else if (
    typeof requirement === 'object' &&
    requirement !== null &&
    Array.isArray((requirement as { anyOf?: unknown }).anyOf) &&
    (requirement as { anyOf: unknown[] }).anyOf.length > 0
  ) {
    alternatives = (requirement as { anyOf: unknown[] }).anyOf.map((alt) =>
      scopeList(alt, '"anyOf" alternative'),
    );
  } else {
    throw new TypeError('scope requirement must be a string, a list, a list of lists, or { anyOf }');
  }
  const result: ScopeAlternatives = Object.freeze(alternatives.map((alt) => Object.freeze(alt)));
  if (typeof requirement === 'object') compiled.set(requirement, result);
  // Compiled requirements are often handed back (adapters compile once, then check per request).
  compiled.set(result, result);
  return result;
}

/**
 * The scopes a token grants, from the given claims in order. Each claim may be a
 * space-delimited string or an array of strings; any other type grants nothing.
 */
export function grantedScopes(claims: object, scopeClaims: readonly string[]): ReadonlySet<string> {
  const granted = new Set<string>();
  for (const name of scopeClaims) {
    if (!Object.hasOwn(claims, name)) continue;
    const value = (claims as Record<string, unknown>)[name];
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (scope) granted.add(scope);
    } else if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) {
      for (const scope of value) if (scope) granted.add(scope);
    }
  }
  return granted;
}

/** True when the granted scopes satisfy the requirement. */
export function hasScopes(granted: ReadonlySet<string>, requirement: ScopeRequirement): boolean {
  return compileScopes(requirement).some((alternative) => alternative.every((scope) => granted.has(scope)));
}

/**
 * The synchronous form of {@link checkScopes}: `null` when the granted scopes satisfy the
 * requirement, else the `insufficient_scope` refusal (returned, not thrown).
 */
export function scopeRefusal(granted: ReadonlySet<string>, requirement: ScopeRequirement): AuthError | null {
  if (hasScopes(granted, requirement)) return null;
  // The realm and other presentation come from the verifier serving the request, at render time.
  return new AuthError('insufficient_scope', { requirement: compileScopes(requirement) });
}

/** @throws AuthError `FORBIDDEN` `insufficient_scope`, with `requiredScopes`, when not satisfied. */
export function checkScopes(granted: ReadonlySet<string>, requirement: ScopeRequirement): void {
  const refusal = scopeRefusal(granted, requirement);
  if (refusal) throw refusal;
}

/**
 * Validates a claim check where it is declared.
 * @throws TypeError when it is neither a function nor an object of primitive expectations
 */
export function compileClaimCheck<TClaims>(check: ClaimCheck<TClaims>): ClaimCheck<TClaims> {
  if (typeof check === 'function') return check;
  if (
    typeof check !== 'object' ||
    check === null ||
    Array.isArray(check) ||
    Object.keys(check).length === 0
  ) {
    throw new TypeError('claim check must be a predicate or a non-empty { claim: expected } object');
  }
  for (const [claim, expected] of Object.entries(check)) {
    const values: readonly unknown[] = Array.isArray(expected) ? expected : [expected];
    if (values.length === 0 || !values.every(isClaimValue)) {
      const got = values.length === 0 ? 'an empty list' : values.find((value) => !isClaimValue(value));
      throw new TypeError(
        `claim check "${claim}": expected a string, number, boolean or null, or a non-empty list of them (got ${
          typeof got === 'string' ? got : String(got)
        }; a missing configuration value?)`,
      );
    }
  }
  const frozen = Object.freeze({ ...check });
  compiledChecks.add(frozen);
  return frozen;
}

function named<TFunction extends (...args: never[]) => unknown>(fn: TFunction, name: string): TFunction {
  // The name is what audits print (`describeProcedures`): `claimEquals(org_id, "acme")`.
  return Object.defineProperty(fn, 'name', { value: name });
}

function claimName(claim: unknown, helper: string): string {
  if (typeof claim !== 'string' || claim === '')
    throw new TypeError(`${helper}: the claim name must be a non-empty string`);
  return claim;
}

function primitives(values: readonly unknown[], helper: string): readonly ClaimValue[] {
  if (values.length === 0 || !values.every(isClaimValue)) {
    throw new TypeError(`${helper}: expected one or more strings, numbers, booleans or null`);
  }
  return Object.freeze([...values]) as readonly ClaimValue[];
}

/**
 * A claim check: the claim is present and strictly equal to `expected` (an array claim never is).
 *
 * @example
 * ```ts
 * protectedProcedure.use(requireClaims(claimEquals('org_id', 'acme')));
 * ```
 */
export function claimEquals(claim: string, expected: ClaimValue): ClaimCheck<object> {
  const name = claimName(claim, 'claimEquals');
  const [value] = primitives([expected], 'claimEquals');
  return named(
    (claims: object) => Object.hasOwn(claims, name) && (claims as Record<string, unknown>)[name] === value,
    `claimEquals(${name}, ${JSON.stringify(value)})`,
  );
}

/**
 * A claim check: the claim holds every expected value, as an array member or, for a string claim,
 * as a space-delimited word (`"roles": ["admin", "editor"]`, `"amr": "pwd mfa"`).
 *
 * @example
 * ```ts
 * await auth.require({ claims: claimIncludes('roles', 'admin') });
 * ```
 */
export function claimIncludes(claim: string, ...expected: ClaimValue[]): ClaimCheck<object> {
  const name = claimName(claim, 'claimIncludes');
  const values = primitives(expected, 'claimIncludes');
  return named(
    (claims: object) => {
      if (!Object.hasOwn(claims, name)) return false;
      const actual = (claims as Record<string, unknown>)[name];
      const members: readonly unknown[] | null =
        typeof actual === 'string' ? actual.split(' ') : Array.isArray(actual) ? actual : null;
      return members !== null && values.every((value) => members.includes(value));
    },
    `claimIncludes(${name}, ${values.map((value) => JSON.stringify(value)).join(', ')})`,
  );
}

function claimMatches(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) return expected.every((value) => claimMatches(actual, value));
  return Array.isArray(actual) ? actual.includes(expected) : actual === expected;
}

/** True when the claims hold every `{ claim: expected }` pair of a claim check object. */
export function matchesClaims(
  claims: object,
  expectations: Exclude<ClaimCheck<never>, (claims: never) => unknown>,
): boolean {
  // A check that skipped its declaration-time validation is validated here (a TypeError: fail closed).
  const checked = compiledChecks.has(expectations) ? expectations : compileClaimCheck(expectations);
  for (const [claim, expected] of Object.entries(checked)) {
    const actual = Object.hasOwn(claims, claim) ? (claims as Record<string, unknown>)[claim] : undefined;
    if (!claimMatches(actual, expected)) return false;
  }
  return true;
}

/** True when the verified claims pass the check. A throwing predicate propagates: it is a bug. */
export async function passesClaimCheck<TClaims extends object>(
  claims: TClaims,
  check: ClaimCheck<TClaims>,
): Promise<boolean> {
  if (typeof check === 'function') return (await check(claims)) === true;
  return matchesClaims(claims, check);
}

/** @throws AuthError `FORBIDDEN` `claim_check_failed` when the check fails. */
export async function checkClaims<TClaims extends object>(
  claims: TClaims,
  check: ClaimCheck<TClaims>,
): Promise<void> {
  if (await passesClaimCheck(claims, check)) return;
  throw new AuthError('claim_check_failed');
}
