/**
 * The resolver guard: checks a field's requirement against `context.auth` before the resolver
 * runs. It wraps the resolvers of concrete object types, so whatever reached the field (an alias,
 * a fragment, an interface, a union) the concrete type's requirement is what is checked.
 */
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import type { AuthError } from '../core/errors.js';
import { LazyRequestAuth } from '../core/request-auth.js';
import type { RequestAuth } from '../core/types.js';
import { authOf, requestSignalOf } from './context.js';
import { rethrowAsGraphQL, toGraphQLError } from './errors.js';
import { expiringStream, expiryErrorOf } from './expiry.js';
import type { FieldRequirement } from './requirement.js';

type Resolver = GraphQLFieldResolver<unknown, unknown>;

// Every resolver guard() made: a recorded field whose resolver is not one of them was replaced
// after the transform (`addResolversToSchema`), and enforces nothing (see enforcement.ts).
const guards = new WeakSet<object>();

/** True when `resolver` is a guard made by {@link guard}. */
export function isGuard(resolver: unknown): boolean {
  return typeof resolver === 'function' && guards.has(resolver);
}

/**
 * Verifies the request's token (once per request: RequestAuth memoizes) and checks the scopes.
 * @throws GraphQLError with `extensions.code` from the AuthError
 */
export async function enforce(requirement: FieldRequirement, context: unknown): Promise<void> {
  const auth = authOf(context);
  try {
    await (requirement.scopes ? auth.require({ scopes: requirement.scopes }) : auth.claims());
  } catch (error) {
    return rethrowAsGraphQL(error);
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

function isSubscriptionRoot(info: GraphQLResolveInfo): boolean {
  return info.operation.operation === 'subscription' && info.path.prev === undefined;
}

/**
 * The synchronous answer for a request whose claims are settled (the core's own RequestAuth):
 * `null` when the requirement holds, the refusal otherwise; `undefined` when only the asynchronous
 * path can tell (claims not verified yet, or past their validity: re-verified there).
 */
function decide(requirement: FieldRequirement, auth: RequestAuth<object>): AuthError | null | undefined {
  if (!(auth instanceof LazyRequestAuth)) return undefined;
  if (requirement.scopes) return auth.decide(requirement.scopes);
  return auth.settled() === undefined ? undefined : null;
}

/**
 * A resolver (or `subscribe`) that runs `resolver` only once `requirement` holds. A subscription's
 * event stream is ended when the token expires.
 *
 * Once the request's claims are settled the guard decides synchronously and, when the field is
 * allowed, returns the resolver's own value: a synchronous resolver stays synchronous, so graphql
 * keeps its synchronous path over lists (no promise per field).
 */
export function guard(requirement: FieldRequirement, resolver: Resolver = defaultFieldResolver): Resolver {
  const guarded = async (...[source, args, context, info]: Parameters<Resolver>): Promise<unknown> => {
    await enforce(requirement, context);
    const result = await resolver(source, args, context, info);
    return isSubscriptionRoot(info) && isAsyncIterable(result)
      ? expiringStream(result, authOf(context), requestSignalOf(context))
      : result;
  };
  const wrapped: Resolver = (source, args, context, info) => {
    const expired = expiryErrorOf(source);
    if (expired) throw expired;
    const refusal = isSubscriptionRoot(info) ? undefined : decide(requirement, authOf(context));
    if (refusal === undefined) return guarded(source, args, context, info);
    // A refusal stays a rejection, as on the asynchronous path: a synchronous throw at a non-null
    // field would stop graphql from running (and reporting) the object's other fields.
    if (refusal !== null) return Promise.reject(toGraphQLError(refusal));
    return resolver(source, args, context, info);
  };
  guards.add(wrapped);
  return wrapped;
}
