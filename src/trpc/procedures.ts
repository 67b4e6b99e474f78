/**
 * `createAuthProcedures(t)`: the three base procedures of an API protected by scopegate.
 * Their middleware runs first, before any `.input()` parser, so an anonymous call with bad
 * input is refused with 401 rather than answered with a validation error (400).
 */
import type { AnyTRPCMiddlewareFunction, TRPCProcedureBuilder, TRPCUnsetMarker as Unset } from '@trpc/server';
import { LazyRequestAuth } from '../core/request-auth.js';
import type { JwtClaims, RequestAuth } from '../core/types.js';
import { withAccessRule } from './access.js';
import { orTRPCError, toTRPCError } from './errors.js';
import { untilTokenExpires } from './subscription.js';

/** A context `createAuthProcedures` can work with: it carries the request's `auth`. */
export interface AuthContextBase {
  readonly auth: RequestAuth<JwtClaims>;
}

/** The verified claims type of a context built by `createAuthContext(verifier)`. */
export type ClaimsOfContext<TContext> = TContext extends { readonly auth: RequestAuth<infer TClaims> }
  ? TClaims
  : never;

type BaseProcedure<TContext, TMeta, TOverrides, TErrorShape> = TRPCProcedureBuilder<
  TContext,
  TMeta,
  TOverrides,
  Unset,
  Unset,
  Unset,
  Unset,
  false,
  TErrorShape
>;

/** What {@link createAuthProcedures} returns. */
export interface AuthProcedures<TContext, TMeta, TErrorShape> {
  /** `t.procedure` itself: no auth. Declare these in `assertProtected`'s `public` list. */
  readonly publicProcedure: BaseProcedure<TContext, TMeta, object, TErrorShape>;
  /** A valid token is required; `ctx.claims` is the verified, typed claims. */
  readonly protectedProcedure: BaseProcedure<
    TContext,
    TMeta,
    { readonly claims: ClaimsOfContext<TContext> },
    TErrorShape
  >;
  /** `ctx.claims` is the verified claims, or null without a token. A bad token is still a 401. */
  readonly optionalAuthProcedure: BaseProcedure<
    TContext,
    TMeta,
    { readonly claims: ClaimsOfContext<TContext> | null },
    TErrorShape
  >;
}

type AuthMiddlewareOptions = Parameters<AnyTRPCMiddlewareFunction>[0] & { readonly ctx: AuthContextBase };
type MiddlewareResult = Awaited<ReturnType<AnyTRPCMiddlewareFunction>>;

function rethrowAsTRPC(error: unknown): never {
  throw toTRPCError(error);
}

/** The rest of the call with `ctx.claims`; a subscription outlives the request: it ends at expiry. */
function proceed(
  opts: AuthMiddlewareOptions,
  claims: JwtClaims | null,
): MiddlewareResult | Promise<MiddlewareResult> {
  const result = opts.next({ ctx: { claims } });
  // An anonymous subscriber has no token to expire.
  if (claims === null || opts.type !== 'subscription') return result;
  return result.then((done) =>
    done.ok ? { ...done, data: untilTokenExpires(done.data, opts.ctx.auth, opts.signal) } : done,
  );
}

// Plain functions, not async ones: no promise of scopegate's own around tRPC's when the claims
// are already settled, and one `then` when they are verified here.
const authenticated = withAccessRule(
  function requireAuthentication(opts: AuthMiddlewareOptions) {
    const auth: RequestAuth<JwtClaims> = opts.ctx.auth;
    if (!(auth instanceof LazyRequestAuth))
      return orTRPCError(() => auth.claims()).then((c) => proceed(opts, c));
    const settled = auth.settled();
    if (settled !== undefined) return proceed(opts, settled);
    return auth.claims().then((claims) => proceed(opts, claims), rethrowAsTRPC);
  },
  { kind: 'authenticated' },
);

const optional = withAccessRule(
  function optionalAuthentication(opts: AuthMiddlewareOptions) {
    const auth: RequestAuth<JwtClaims> = opts.ctx.auth;
    return orTRPCError(() => auth.optional()).then((claims) => proceed(opts, claims));
  },
  { kind: 'optional' },
);

/**
 * Creates `publicProcedure`, `protectedProcedure` and `optionalAuthProcedure` from your tRPC
 * root object, whose context must carry `auth` (see `createAuthContext`).
 *
 * @example
 * ```ts
 * const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
 * const { publicProcedure, protectedProcedure, optionalAuthProcedure } = createAuthProcedures(t);
 * const appRouter = t.router({
 *   me: protectedProcedure.query(({ ctx }) => ctx.claims.sub),
 *   feed: optionalAuthProcedure.query(({ ctx }) => (ctx.claims ? 'yours' : 'everyone')),
 *   read: protectedProcedure.use(requireScopes('read:data')).query(() => data),
 * });
 * ```
 */
export function createAuthProcedures<TContext extends AuthContextBase, TMeta extends object, TErrorShape>(t: {
  readonly procedure: BaseProcedure<TContext, TMeta, object, TErrorShape>;
}): AuthProcedures<TContext, TMeta, TErrorShape> {
  const base = t.procedure as unknown as { use(middleware: unknown): unknown };
  return Object.freeze({
    publicProcedure: t.procedure,
    protectedProcedure: base.use(authenticated) as AuthProcedures<
      TContext,
      TMeta,
      TErrorShape
    >['protectedProcedure'],
    optionalAuthProcedure: base.use(optional) as AuthProcedures<
      TContext,
      TMeta,
      TErrorShape
    >['optionalAuthProcedure'],
  });
}
