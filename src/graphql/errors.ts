/**
 * AuthError -> GraphQLError, in one place. The errors are created as GraphQLErrors with no
 * `originalError`, so graphql-yoga's `maskedErrors` keeps them (it masks errors whose origin is not a
 * GraphQLError); the AuthError is remembered on the side for the HTTP status and the challenge.
 */
import { type ASTNode, GraphQLError } from 'graphql';
import { type AuthError, type AuthErrorCode, type AuthErrorReason, isAuthError } from '../core/errors.js';

/** `extensions` of a GraphQL auth error: the safe client view of the AuthError. */
export interface AuthErrorExtensions {
  readonly code: AuthErrorCode;
  readonly reason: AuthErrorReason;
  /** Scopes of the requirement's first alternative, on `insufficient_scope`. */
  readonly requiredScopes?: readonly string[];
  /** Every acceptable alternative, when there is more than one. */
  readonly anyOf?: readonly (readonly string[])[];
}

const origins = new WeakMap<GraphQLError, AuthError>();

/** Where the error points, for errors raised before execution. */
export interface ErrorLocation {
  readonly nodes?: readonly ASTNode[];
  readonly path?: readonly (string | number)[];
}

/**
 * The GraphQL form of an AuthError: its safe message, and `extensions: { code, reason,
 * requiredScopes?, anyOf? }`. No token contents, no library message, no stack.
 */
export function toGraphQLError(error: AuthError, location: ErrorLocation = {}): GraphQLError {
  const { code, reason, message, requiredScopes, anyOf } = error.toJSON();
  const extensions: { -readonly [K in keyof AuthErrorExtensions]: AuthErrorExtensions[K] } = { code, reason };
  if (requiredScopes) extensions.requiredScopes = requiredScopes;
  if (anyOf) extensions.anyOf = anyOf;
  const graphQLError = new GraphQLError(message, {
    ...(location.nodes && { nodes: location.nodes }),
    ...(location.path && { path: location.path }),
    extensions,
  });
  origins.set(graphQLError, error);
  return graphQLError;
}

/**
 * The AuthError behind a GraphQL error made by scopegate (also after graphql-js located it at a
 * field), or `undefined`.
 */
export function authErrorOf(error: unknown): AuthError | undefined {
  let current: unknown = error;
  // graphql-js wraps a thrown GraphQLError once to add its path; a few levels are plenty.
  for (let depth = 0; depth < 4 && current instanceof GraphQLError; depth++) {
    const origin = origins.get(current);
    if (origin) return origin;
    current = current.originalError;
  }
  return undefined;
}

/** Rethrows an AuthError as its GraphQL form; anything else propagates untouched (and is masked). */
export function rethrowAsGraphQL(error: unknown): never {
  if (isAuthError(error)) throw toGraphQLError(error);
  throw error;
}
