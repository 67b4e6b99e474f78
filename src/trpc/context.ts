/**
 * `createAuthContext`: one `createContext` for every tRPC adapter. It reads where the
 * credentials are (a fetch `Request`, a Node `IncomingMessage`, or a WebSocket's connection
 * params) and returns a lazy `RequestAuth`: nothing is verified until a procedure asks, and a
 * batch (one context) verifies at most once. The `RequestAuth` is the core's own: it records
 * whether it was consulted (for `authResponseMeta`) and re-verifies once its token expires.
 */
import { connectionSource } from '../core/credentials.js';
import {
  isAuthError,
  type JwtClaims,
  type RequestAuth,
  type RequestLike,
  type Verifier,
} from '../core/index.js';

/**
 * What `createContext` receives, loosely typed so that the options of every adapter fit:
 * `{ req, res, info }` (standalone, node-http, express, next, ws) or `{ req, resHeaders, info }`
 * (fetch, next-app-dir).
 */
export interface AuthContextOptions {
  readonly req?: unknown;
  readonly res?: unknown;
  readonly info?: { readonly connectionParams?: Readonly<Record<string, unknown>> | null } | undefined;
}

/** Options of {@link createAuthContext}. */
export interface CreateAuthContextOptions<TOptions> {
  /**
   * Where to read credentials from, for adapters whose options carry neither a fetch `Request`
   * nor a Node request (e.g. `(opts) => opts.event.headers` on AWS Lambda). Replaces the
   * detection entirely, WebSocket connection params included.
   */
  readonly credentials?: (opts: TOptions) => RequestLike;
}

/** The context `createAuthContext` builds. Spread it into your own. */
export interface AuthContext<TClaims = JwtClaims> {
  readonly auth: RequestAuth<TClaims>;
}

function isWebSocket(value: unknown): boolean {
  // The ws adapter passes the socket as `res`; an HTTP response has no readyState.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { readyState?: unknown }).readyState === 'number' &&
    typeof (value as { send?: unknown }).send === 'function'
  );
}

/** Where the credentials of a request or connection are, for the core's extraction. */
export function credentialsOf(opts: AuthContextOptions | null | undefined): RequestLike {
  if (!opts) return null;
  if (isWebSocket(opts.res)) return connectionSource(opts.info?.connectionParams, opts.req);
  // On HTTP, `info.connectionParams` comes from the URL (httpSubscriptionLink): never a token source.
  return opts.req as RequestLike;
}

/**
 * Creates the `createContext` for any tRPC adapter: `{ auth }`, where `auth` is the request's
 * lazy {@link RequestAuth}. It never throws and never verifies: procedures ask
 * (`protectedProcedure` does), and every call of a batch shares one verification. On a
 * WebSocket, the context lives as long as the connection; its claims are re-verified once
 * they expire.
 *
 * Credentials: the `Authorization` header (RFC 6750 2.1). On WebSockets, the connection params
 * `authorization` (`"Bearer <token>"`) or `token` (the bare token), else the upgrade request's
 * header; both at once is `invalid_request`. Never the URL. (The core's one rule for every transport.)
 *
 * @example
 * ```ts
 * import { createVerifier } from 'scopegate';
 * import { createAuthContext } from 'scopegate/trpc';
 *
 * const verifier = createVerifier({ issuer: 'https://idp.example.com/', audience: 'https://api.example.com' });
 * const createAuth = createAuthContext(verifier);
 * // your own context, composed:
 * export const createContext = async (opts: CreateHTTPContextOptions) => ({ ...createAuth(opts), db });
 * ```
 */
export function createAuthContext<TClaims, TOptions extends object = AuthContextOptions>(
  verifier: Verifier<TClaims>,
  options: CreateAuthContextOptions<TOptions> = {},
): (opts: TOptions) => AuthContext<TClaims> {
  const read = options.credentials;
  if (read !== undefined && typeof read !== 'function') {
    throw new TypeError('createAuthContext: "credentials" must be a function');
  }
  // A reader that throws (an exotic request object) makes auth reject when asked, never createContext throw.
  return (opts) => {
    const auth = verifier.authenticate(() => (read ? read(opts) : credentialsOf(opts as AuthContextOptions)));
    const socket = (opts as AuthContextOptions).res;
    if (auth.scheme === 'DPoP' && isWebSocket(socket)) checkAtConnect(auth, socket as ClosableSocket);
    return { auth };
  };
}

interface ClosableSocket {
  close(code?: number, reason?: string): void;
}

/**
 * DPoP over a WebSocket: the proof (bound to `GET` and the upgrade URL) is checked once, at
 * connect, while it is fresh. A proof without the server's current nonce closes the socket with
 * 4403 `use_dpop_nonce`, so the client reconnects with the nonce of any HTTP response; other
 * refusals reach the procedures as usual (the memoized rejection).
 */
function checkAtConnect(auth: RequestAuth<unknown>, socket: ClosableSocket): void {
  auth.claims().catch((error: unknown) => {
    if (isAuthError(error) && error.reason === 'use_dpop_nonce') socket.close(4403, 'use_dpop_nonce');
  });
}
