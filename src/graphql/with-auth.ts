/**
 * The code-first path: `withAuth(requirement, resolver)` for schemas built without SDL. The wrapper
 * enforces on its own; when the schema also goes through the transformer, the transformer unwraps
 * it, combines its requirement with the type's and the interfaces' (AND), and records it for the
 * pre-execution check.
 */
import { defaultFieldResolver, type GraphQLFieldResolver } from 'graphql';
import { guard } from './guard.js';
import { type AuthRequirement, compileRequirement, type FieldRequirement } from './requirement.js';

interface Tagged {
  readonly requirement: FieldRequirement;
  readonly resolver: GraphQLFieldResolver<unknown, unknown>;
}

const tags = new WeakMap<object, Tagged>();

/** The requirement and inner resolver of a `withAuth` wrapper, or `undefined`. */
export function untag(resolver: unknown): Tagged | undefined {
  return typeof resolver === 'function' ? tags.get(resolver) : undefined;
}

/**
 * Protects one resolver (or a subscription's `subscribe`): it runs only when `context.auth` holds a
 * valid token that satisfies `requirement`; otherwise the field is `null` with a GraphQLError
 * (`extensions: { code, reason, requiredScopes? }`). Exported from `scopegate/graphql`.
 *
 * @example
 * ```ts
 * import { withAuth } from 'scopegate/graphql';
 * const resolvers = {
 *   Query: {
 *     orders: withAuth({ scopes: ['read:orders'] }, (_root, _args, ctx) => ctx.db.orders()),
 *     me: withAuth(true, async (_root, _args, ctx) => (await ctx.auth.claims()).sub),
 *   },
 * };
 * ```
 * @param requirement `true` (a valid token), `{ scopes }` (all of), `{ anyOf }` (DNF) or a core
 *   ScopeRequirement
 * @param resolver the field's resolver; the default resolver when omitted
 * @throws TypeError at once on an empty or malformed requirement
 */
export function withAuth<TSource, TContext, TArgs, TResult>(
  requirement: AuthRequirement,
  resolver?: GraphQLFieldResolver<TSource, TContext, TArgs, TResult>,
): GraphQLFieldResolver<TSource, TContext, TArgs, unknown> {
  const compiled = compileRequirement(requirement, 'withAuth');
  const inner = (resolver ?? defaultFieldResolver) as GraphQLFieldResolver<unknown, unknown>;
  const wrapped = guard(compiled, inner);
  tags.set(wrapped, { requirement: compiled, resolver: inner });
  return wrapped as GraphQLFieldResolver<TSource, TContext, TArgs, unknown>;
}
