/**
 * Field requirements: what an `@auth` directive, an `extensions.auth` entry or a `withAuth` call
 * asks for, compiled once (at transform time) into one DNF that the resolver guard and the
 * pre-execution check share. Several requirements on one field are combined by AND, so a field
 * can never weaken its type or its interface.
 */

import { allOfScopes } from '../core/policy.js';
import { compileScopes, type ScopeAlternatives, type ScopeRequirement } from '../core/scopes.js';

/**
 * What a protected field requires, code-first or from the directive's arguments:
 * - `true` or `{}`: a valid token;
 * - `{ scopes: ['a', 'b'] }`: all of these scopes;
 * - `{ anyOf: [['a', 'b'], ['admin']] }`: any one alternative, (a AND b) OR admin;
 * - any core {@link ScopeRequirement} (`'a b'`, `['a', 'b']`, `[['a'], ['b']]`, `{ anyOf }`).
 *
 * `scopes` and `anyOf` together mean both: `scopes` AND one of `anyOf`.
 */
export type AuthRequirement =
  | true
  | ScopeRequirement
  | {
      readonly scopes?: readonly string[];
      readonly anyOf?: readonly (string | readonly string[])[];
    };

/** A compiled requirement: a valid token, plus one of `scopes`' alternatives when present. */
export interface FieldRequirement {
  /** DNF; `undefined` when a valid token is enough. */
  readonly scopes: ScopeAlternatives | undefined;
}

/** A valid token, nothing more. */
export const AUTHENTICATED: FieldRequirement = Object.freeze({ scopes: undefined });

function isDirectiveShape(value: object): value is { scopes?: unknown; anyOf?: unknown } {
  if (Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.every((key) => key === 'scopes' || key === 'anyOf');
}

/**
 * Compiles one requirement.
 * @param where names the annotated element in error messages, e.g. `@auth on Order.total`
 * @throws TypeError on an empty or malformed requirement (an empty scope list always fails)
 */
export function compileRequirement(requirement: unknown, where: string): FieldRequirement {
  try {
    if (requirement === true) return AUTHENTICATED;
    if (typeof requirement === 'object' && requirement !== null && isDirectiveShape(requirement)) {
      let result = AUTHENTICATED;
      if (Object.hasOwn(requirement, 'scopes')) {
        const scopes = requirement.scopes;
        if (!Array.isArray(scopes)) throw new TypeError('"scopes" must be a non-empty list of scopes');
        result = and(result, { scopes: compileScopes(scopes as string[]) });
      }
      if (Object.hasOwn(requirement, 'anyOf')) {
        const anyOf = requirement.anyOf;
        if (!Array.isArray(anyOf)) throw new TypeError('"anyOf" must be a non-empty list of alternatives');
        result = and(result, { scopes: compileScopes({ anyOf: anyOf as string[] }) });
      }
      return result;
    }
    if (typeof requirement === 'string' || (typeof requirement === 'object' && requirement !== null)) {
      return { scopes: compileScopes(requirement as ScopeRequirement) };
    }
    throw new TypeError('expected true, a scope requirement, or { scopes?, anyOf? }');
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`${where}: ${error.message}`);
    throw error;
  }
}

/**
 * Both requirements (the core's DNF product).
 * @throws TypeError when the product has more than 64 alternatives
 */
export function and(a: FieldRequirement, b: FieldRequirement): FieldRequirement {
  if (!a.scopes) return b;
  if (!b.scopes) return a;
  return Object.freeze({ scopes: allOfScopes(a.scopes, b.scopes) });
}

/**
 * Checks every scope against the API's declared list.
 * @throws TypeError naming the first unknown scope
 */
export function assertDeclared(
  requirement: FieldRequirement,
  declared: ReadonlySet<string> | undefined,
  where: string,
): void {
  if (!declared || !requirement.scopes) return;
  for (const alternative of requirement.scopes) {
    for (const scope of alternative) {
      if (!declared.has(scope)) {
        throw new TypeError(`${where}: unknown scope ${JSON.stringify(scope)} (not in options.scopes)`);
      }
    }
  }
}

// Where the transformer records a field's compiled requirement: schema extensions survive later
// `mapSchema` passes, so the pre-execution check finds every guarded field.
const EXTENSION_KEY = 'scopegate';
const recorded = new WeakSet<FieldRequirement>();

/** The `extensions` entry that records a guarded field's requirement. */
export function recordRequirement(requirement: FieldRequirement): Readonly<Record<string, unknown>> {
  recorded.add(requirement);
  return { [EXTENSION_KEY]: requirement };
}

/** The requirement the transformer recorded on a field, or `undefined` for a public field. */
export function recordedRequirement(
  field: { readonly extensions?: Readonly<Record<string, unknown>> | null | undefined } | undefined,
): FieldRequirement | undefined {
  const value = field?.extensions?.[EXTENSION_KEY];
  return typeof value === 'object' && value !== null && recorded.has(value as FieldRequirement)
    ? (value as FieldRequirement)
    : undefined;
}
