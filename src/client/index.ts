/**
 * scopegate/client: recognise scopegate's auth errors on the client, whatever carried them:
 * a `TRPCClientError` (`error.data.auth`), a GraphQL error (`extensions.code` / `reason`), an
 * array of them, an execution result, or the error objects of common GraphQL clients (Apollo,
 * urql, graphql-request), all duck-typed: this module imports no client library and no server code.
 * @module scopegate/client
 */
import {
  AUTH_ERROR_CODES,
  AUTH_ERROR_REASONS,
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthErrorReason,
} from '../core/errors.js';

export { AUTH_ERROR_CODES, AUTH_ERROR_REASONS, type AuthErrorCode, type AuthErrorInfo, type AuthErrorReason };

const CODES: ReadonlySet<string> = new Set(AUTH_ERROR_CODES);
const REASONS: ReadonlySet<string> = new Set(AUTH_ERROR_REASONS);
// Error objects nest (cause chains, wrapped client errors): bounded, so a cycle cannot hang.
const MAX_DEPTH = 6;

type Bag = Readonly<Record<string, unknown>>;

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

function stringList(value: unknown): readonly string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

/** Reads `{ code, reason, message?, requiredScopes?, anyOf? }`, or null when it is not ours. */
function infoOf(value: unknown, fallbackMessage: unknown): AuthErrorInfo | null {
  if (!isBag(value)) return null;
  const { code, reason } = value;
  if (typeof code !== 'string' || !CODES.has(code) || typeof reason !== 'string' || !REASONS.has(reason)) {
    return null;
  }
  const message =
    typeof value.message === 'string'
      ? value.message
      : typeof fallbackMessage === 'string'
        ? fallbackMessage
        : '';
  const info: { -readonly [K in keyof AuthErrorInfo]: AuthErrorInfo[K] } = {
    code: code as AuthErrorCode,
    reason: reason as AuthErrorReason,
    message,
  };
  const requiredScopes = stringList(value.requiredScopes);
  if (requiredScopes) info.requiredScopes = requiredScopes;
  if (Array.isArray(value.anyOf) && value.anyOf.every((alternative) => stringList(alternative))) {
    info.anyOf = value.anyOf as readonly (readonly string[])[];
  }
  return info;
}

function find(value: unknown, depth: number): AuthErrorInfo | null {
  if (depth > MAX_DEPTH || value === null || value === undefined) return null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = find(item, depth + 1);
      if (found) return found;
    }
    return null;
  }
  if (!isBag(value)) return null;
  const data = isBag(value.data) ? value.data : undefined;
  const shape = isBag(value.shape) && isBag(value.shape.data) ? value.shape.data : undefined;
  return (
    // tRPC: TRPCClientError.data.auth (authErrorFormatter), or its shape.
    infoOf(data?.auth, value.message) ??
    infoOf(shape?.auth, value.message) ??
    // GraphQL: a GraphQLError or its JSON form.
    infoOf(value.extensions, value.message) ??
    // A bare AuthErrorInfo (AuthError.toJSON()).
    infoOf(value, undefined) ??
    // Execution results and client wrappers: { errors }, Apollo 3 / urql graphQLErrors,
    // graphql-request ClientError.response.errors, Apollo 4 CombinedGraphQLErrors.errors.
    find(value.errors, depth + 1) ??
    find(value.graphQLErrors, depth + 1) ??
    (isBag(value.response) ? find(value.response.errors, depth + 1) : null) ??
    find(value.cause, depth + 1)
  );
}

/**
 * The scopegate auth error carried by `error`, or null.
 *
 * @example
 * ```ts
 * import { getAuthError } from 'scopegate/client';
 * try { await trpc.orders.list.query(); } catch (error) {
 *   const auth = getAuthError(error);
 *   if (auth?.code === 'UNAUTHORIZED') await signIn();
 *   else if (auth?.code === 'FORBIDDEN') showMissingScopes(auth.requiredScopes);
 *   else if (auth?.code === 'SERVICE_UNAVAILABLE') retryLater(); // keep the token
 * }
 * ```
 */
export function getAuthError(error: unknown): AuthErrorInfo | null {
  return find(error, 0);
}

/** True when `error` carries a scopegate auth error (of `code`, when given). */
export function isAuthError(error: unknown, code?: AuthErrorCode): boolean {
  const info = getAuthError(error);
  return info !== null && (code === undefined || info.code === code);
}
