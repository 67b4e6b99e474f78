/**
 * `createAuthContext`: one `createContext` for every tRPC adapter. It reads where the
 * credentials are (a fetch `Request`, a Node `IncomingMessage`, or a WebSocket's connection
 * params) and returns a lazy `RequestAuth`: nothing is verified until a procedure asks, and a
 * batch (one context) verifies at most once. The `RequestAuth` is the core's own: it records
 * whether it was consulted (for `authResponseMeta`) and re-verifies once its token expires.
 */
import type { JwtClaims, RequestAuth, RequestLike, Verifier } from '../core/index.js';

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

// A credential the core rejects as `invalid_request` (RFC 6750 2.1: an empty b64token). Used to
// report "more than one credential" and "not a string" through the core's own error model.
const INVALID_CREDENTIALS = 'Bearer ';

function isWebSocket(value: unknown): boolean {
  // The ws adapter passes the socket as `res`; an HTTP response has no readyState.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { readyState?: unknown }).readyState === 'number' &&
    typeof (value as { send?: unknown }).send === 'function'
  );
}

function hasAuthorizationHeader(req: unknown): boolean {
  const headers = (req as { headers?: unknown } | null | undefined)?.headers;
  return typeof headers === 'object' && headers !== null && 'authorization' in headers;
}

/**
 * A WebSocket's credentials: `authorization` ("Bearer x") or `token` (the bare token) in the
 * connection params (browsers cannot set headers on a WebSocket), else the upgrade request's
 * Authorization header (Node clients). Never the URL. Two of them at once is `invalid_request`,
 * as RFC 6750 2 forbids more than one method.
 */
function webSocketCredentials(
  params: Readonly<Record<string, unknown>> | null | undefined,
  upgrade: unknown,
) {
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(params ?? {})) {
    const name = key.toLowerCase();
    if (name === 'authorization') values.push(value);
    else if (name === 'token') values.push(typeof value === 'string' ? `Bearer ${value}` : value);
  }
  if (values.length === 0) return requestCredentials(upgrade);
  if (values.length > 1 || hasAuthorizationHeader(upgrade)) return INVALID_CREDENTIALS;
  const [value] = values;
  return typeof value === 'string' ? value : INVALID_CREDENTIALS;
}

function requestCredentials(req: unknown): RequestLike {
  if (typeof req !== 'object' || req === null) return null;
  // Fastify's request wraps the IncomingMessage, whose headersDistinct reveals duplicate headers.
  const raw = (req as { raw?: unknown }).raw;
  if (typeof raw === 'object' && raw !== null && 'headers' in raw) return raw as RequestLike;
  return 'headers' in req ? (req as RequestLike) : null;
}

/** Where the credentials of a request or connection are, for the core's extraction. */
export function credentialsOf(opts: AuthContextOptions | null | undefined): RequestLike {
  if (!opts) return null;
  if (isWebSocket(opts.res)) return webSocketCredentials(opts.info?.connectionParams, opts.req);
  // On HTTP, `info.connectionParams` comes from the URL (httpSubscriptionLink): never a token source.
  return requestCredentials(opts.req);
}

/**
 * Creates the `createContext` for any tRPC adapter: `{ auth }`, where `auth` is the request's
 * lazy {@link RequestAuth}. It never throws and never verifies: procedures ask
 * (`protectedProcedure` does), and every call of a batch shares one verification. On a
 * WebSocket, the context lives as long as the connection; its claims are re-verified once
 * they expire.
 *
 * Credentials: the `Authorization` header (RFC 6750 2.1). On WebSockets, the connection params
 * `authorization` (`"Bearer <token>"`) or `token` (the bare token). Never the URL.
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
  return (opts) => ({
    auth: verifier.authenticate(() => (read ? read(opts) : credentialsOf(opts as AuthContextOptions))),
  });
}
