/**
 * What each scopegate middleware requires, recorded against the middleware function itself so
 * that the audit helpers and `authResponseMeta` can read a procedure's requirement from its
 * middleware list, without any registry the user has to maintain.
 */
import type { ClaimCheck, ScopeAlternatives } from '../core/scopes.js';

/** The requirement one scopegate middleware adds to a procedure. */
export type AccessRule =
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'optional' }
  | { readonly kind: 'scopes'; readonly scopes: ScopeAlternatives }
  | { readonly kind: 'claims'; readonly check: ClaimCheck<never> };

const rules = new WeakMap<object, AccessRule>();

/** Records the rule a middleware enforces; returns the middleware. */
export function withAccessRule<T extends object>(middleware: T, rule: AccessRule): T {
  rules.set(middleware, Object.freeze(rule));
  return middleware;
}

/** The rule a middleware enforces, when it is one of ours. */
export function accessRuleOf(middleware: unknown): AccessRule | undefined {
  return typeof middleware === 'function' ? rules.get(middleware) : undefined;
}

/** The rules of a procedure, read from its middleware list (tRPC keeps it on `_def.middlewares`). */
export function accessRulesOf(procedure: unknown): AccessRule[] {
  const def = (procedure as { _def?: { middlewares?: unknown } } | null | undefined)?._def;
  const middlewares = Array.isArray(def?.middlewares) ? (def.middlewares as unknown[]) : [];
  const found: AccessRule[] = [];
  for (const middleware of middlewares) {
    const rule = accessRuleOf(middleware);
    if (rule) found.push(rule);
  }
  return found;
}
