/**
 * `requireScopes` and `requireClaims`: authorization middlewares for procedures whose context
 * already holds verified claims (`protectedProcedure`). The requirement is compiled where it is
 * declared (a malformed one throws a TypeError at startup, not per request), and checked against
 * the request's settled claims (synchronously) or through `ctx.auth.require`; either way the
 * request's realm and `exposeReasons` shape the 403.
 */
import type { TRPCMiddlewareFunction } from '@trpc/server';
import { claimCheckRefusal } from '../core/policy.js';
import { bindToRequest, LazyRequestAuth } from '../core/request-auth.js';
import { type ClaimCheck, compileClaimCheck, compileScopes, type ScopeRequirement } from '../core/scopes.js';
import type { JwtClaims, RequestAuth } from '../core/types.js';
import { withAccessRule } from './access.js';
import { orTRPCError, toTRPCError } from './errors.js';

/** The context an authorization middleware needs: the request's auth and verified claims. */
export interface VerifiedContext<TClaims = JwtClaims> {
  readonly auth: RequestAuth<JwtClaims>;
  readonly claims: TClaims;
}

/**
 * A middleware that only fits procedures whose context has verified claims. On
 * `publicProcedure`, `optionalAuthProcedure` or `t.procedure`, `.use()` does not compile.
 */
export type AuthorizationMiddleware<TClaims = JwtClaims> = TRPCMiddlewareFunction<
  VerifiedContext<TClaims>,
  object,
  object,
  object,
  unknown
>;

/**
 * Requires scopes: `'a'` or `'a b'` (all of), `['a', 'b']` (all of), `{ anyOf: [...] }`, or DNF
 * `[['a', 'b'], ['admin']]` ((a AND b) OR admin). Refuses with `FORBIDDEN` `insufficient_scope`
 * and the required scopes (`WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`).
 *
 * @example
 * ```ts
 * const read = protectedProcedure.use(requireScopes('read:data')).query(() => data);
 * const admin = protectedProcedure.use(requireScopes({ anyOf: ['admin', ['read:data', 'write:data']] }));
 * ```
 * @throws TypeError when the requirement is empty or malformed
 */
export function requireScopes(requirement: ScopeRequirement): AuthorizationMiddleware {
  const scopes = compileScopes(requirement);
  const policy = Object.freeze({ scopes });
  const middleware: AuthorizationMiddleware = (opts) => {
    const auth = opts.ctx.auth;
    // Behind protectedProcedure the claims are settled: decided synchronously (cached per request).
    const refusal = auth instanceof LazyRequestAuth ? auth.decide(scopes) : undefined;
    if (refusal === null) return opts.next();
    if (refusal !== undefined) throw toTRPCError(refusal);
    return orTRPCError(() => auth.require(policy)).then(() => opts.next());
  };
  return withAccessRule(middleware, { kind: 'scopes', scopes });
}

/**
 * Requires the verified claims to pass a check: a predicate, or `{ claim: expected }` pairs
 * (equality; for an array claim, membership). Refuses with `FORBIDDEN` `claim_check_failed`,
 * never 401: the token is valid, the caller is not allowed.
 *
 * @example
 * ```ts
 * const orgOnly = protectedProcedure.use(requireClaims({ org_id: 'acme' }));
 * const staff = protectedProcedure.use(requireClaims<MyClaims>((claims) => claims.roles.includes('staff')));
 * ```
 * @throws TypeError when the check is neither a predicate nor a non-empty object of primitives
 */
export function requireClaims<TClaims extends JwtClaims = JwtClaims>(
  check: ClaimCheck<TClaims>,
): AuthorizationMiddleware<TClaims> {
  const compiled = compileClaimCheck(check);
  const policy = Object.freeze({ claims: compiled as ClaimCheck<JwtClaims> });
  const middleware: AuthorizationMiddleware<TClaims> = (opts) => {
    const auth = opts.ctx.auth;
    const settled = auth instanceof LazyRequestAuth ? auth : undefined;
    const claims = settled?.settled() as TClaims | undefined;
    if (settled === undefined || claims === undefined) {
      return orTRPCError(() => auth.require(policy)).then(() => opts.next());
    }
    // Settled claims: a synchronous predicate (or claim object) answers without a promise.
    const refusal = claimCheckRefusal(claims, compiled);
    if (refusal === null) return opts.next();
    if (!(refusal instanceof Promise)) throw toTRPCError(settled.refused(bindToRequest(refusal, auth)));
    return refusal.then((late) => {
      if (late) throw toTRPCError(settled.refused(bindToRequest(late, auth)));
      return opts.next();
    });
  };
  return withAccessRule(middleware, { kind: 'claims', check: compiled as ClaimCheck<never> });
}
