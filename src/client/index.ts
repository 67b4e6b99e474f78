/**
 * scopegate/client: for browsers and Node, no server code.
 * - getAuthError / isAuthError: recognise scopegate's auth errors in whatever a client threw
 *   (`TRPCClientError`, GraphQL errors and results, Apollo 3 and 4, urql, graphql-request), duck-typed.
 * - createAuthFetch: a `fetch` that sends the access token (Bearer or DPoP) and retries, at most
 *   once each, what a client can fix by itself.
 * - dpopConnectionParams: DPoP `connectionParams` for tRPC `wsLink` and graphql-ws.
 * @module scopegate/client
 */
export {
  AUTH_ERROR_CODES,
  AUTH_ERROR_REASONS,
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthErrorReason,
} from '../core/reasons.js';
export { type AuthFetch, type AuthFetchInit, type AuthFetchOptions, createAuthFetch } from './auth-fetch.js';
export {
  type DpopConnectionParams,
  type DpopConnectionParamsOptions,
  type DpopKeyPair,
  dpopConnectionParams,
} from './dpop.js';
export { getAuthError, isAuthError } from './recognise.js';
