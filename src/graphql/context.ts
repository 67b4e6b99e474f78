/**
 * The GraphQL context contract: `context.auth` is a core RequestAuth. The yoga plugin and the
 * graphql-ws helper put it there; the guards only read it.
 */
import type { JwtClaims, RequestAuth } from '../core/types.js';

/** The context scopegate needs: `auth`, the per-request (or per-connection) auth state. */
export interface AuthContext<TClaims = JwtClaims> {
  readonly auth: RequestAuth<TClaims>;
}

// Auth states of graphql-ws connections: the connection is closed at expiry, which ends its
// operations, so their subscriptions are not ended one by one (see expiry.ts).
const connectionScoped = new WeakSet<object>();

/** Marks `auth` as a connection's: its subscriptions end when the connection closes at expiry. */
export function scopeToConnection(auth: RequestAuth<object>): void {
  connectionScoped.add(auth);
}

/** True when `auth` is a connection's (see {@link scopeToConnection}). */
export function endsWithConnection(auth: RequestAuth<object>): boolean {
  return connectionScoped.has(auth);
}

function isRequestAuth(value: unknown): value is RequestAuth<object> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RequestAuth).claims === 'function' &&
    typeof (value as RequestAuth).require === 'function'
  );
}

/** True when the context already carries an auth state (e.g. from the graphql-ws helper). */
export function hasAuth(context: unknown): boolean {
  return (
    typeof context === 'object' && context !== null && isRequestAuth((context as { auth?: unknown }).auth)
  );
}

/**
 * The auth state of a resolver's context.
 * @throws Error (a server bug, masked by the server) when the context has no `auth`: fail closed
 */
export function authOf(context: unknown): RequestAuth<object> {
  const auth =
    typeof context === 'object' && context !== null ? (context as { auth?: unknown }).auth : undefined;
  if (!isRequestAuth(auth)) {
    throw new Error(
      'scopegate: the GraphQL context has no "auth"; add useAuth({ verifier }) to the server, or put ' +
        'verifier.authenticate(request) in the context as "auth"',
    );
  }
  return auth;
}

/**
 * The abort signal of the HTTP request behind a context (graphql-yoga's `context.request`), which
 * the server aborts when the client goes away; `undefined` for other contexts.
 */
export function requestSignalOf(context: unknown): AbortSignal | undefined {
  const request =
    typeof context === 'object' && context !== null ? (context as { request?: unknown }).request : undefined;
  const signal =
    typeof request === 'object' && request !== null ? (request as { signal?: unknown }).signal : undefined;
  return typeof (signal as AbortSignal | undefined)?.addEventListener === 'function'
    ? (signal as AbortSignal)
    : undefined;
}
