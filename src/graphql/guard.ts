/**
 * The resolver guard: checks a field's requirement against `context.auth` before the resolver
 * runs. It wraps the resolvers of concrete object types, so whatever reached the field (an alias,
 * a fragment, an interface, a union) the concrete type's requirement is what is checked.
 */
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import { authOf, requestSignalOf } from './context.js';
import { rethrowAsGraphQL } from './errors.js';
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
 * A resolver (or `subscribe`) that runs `resolver` only once `requirement` holds. A subscription's
 * event stream is ended when the token expires.
 */
export function guard(requirement: FieldRequirement, resolver: Resolver = defaultFieldResolver): Resolver {
  const guarded: Resolver = async (source, args, context, info) => {
    const expired = expiryErrorOf(source);
    if (expired) throw expired;
    await enforce(requirement, context);
    const result = await resolver(source, args, context, info);
    return isSubscriptionRoot(info) && isAsyncIterable(result)
      ? expiringStream(result, authOf(context), requestSignalOf(context))
      : result;
  };
  guards.add(guarded);
  return guarded;
}
