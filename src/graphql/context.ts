/**
 * The GraphQL context contract: `context.auth` is a core RequestAuth. The yoga plugin and the
 * graphql-ws helper put it there; the guards only read it. A small registry remembers which
 * verifier made an auth object (to re-verify at expiry with the verifier's own presentation) and
 * which ones belong to a long-lived connection (whose expiry the connection handles itself).
 */
import type { JwtClaims, RequestAuth, Verifier } from '../core/index.js';

/** The context scopegate needs: `auth`, the per-request (or per-connection) auth state. */
export interface AuthContext<TClaims = JwtClaims> {
  readonly auth: RequestAuth<TClaims>;
}

interface AuthOrigin {
  readonly verifier: Verifier<object>;
  /** True when a connection (graphql-ws) ends its operations at expiry itself. */
  readonly connectionScoped: boolean;
}

const origins = new WeakMap<object, AuthOrigin>();

export function registerAuth(auth: object, verifier: Verifier<object>, connectionScoped: boolean): void {
  origins.set(auth, { verifier, connectionScoped });
}

export function originOf(auth: object): AuthOrigin | undefined {
  return origins.get(auth);
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
