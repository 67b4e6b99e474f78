/**
 * The one credentials policy of scopegate: what a transport carries (a fetch `Request`, a Node
 * `IncomingMessage` or Fastify's `raw`, `Headers`, a header value, a header record, or WebSocket
 * connection params plus the upgrade request) becomes one typed {@link Credentials} result.
 *
 * Only the Authorization header (or, on WebSockets, its stand-in in the connection params) is a
 * token source (RFC 6750 2.1): never the query string, a body, cookies or custom headers, and a
 * token also sent there makes the request `invalid_request` (one method only, RFC 6750 2).
 * Inputs are never trimmed, split or repaired inside the credential.
 */

/** The part of Node's `IncomingMessage` that extraction reads. */
export interface NodeRequestLike {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly headersDistinct?: Readonly<Record<string, readonly string[] | undefined>> | undefined;
  readonly rawHeaders?: readonly string[] | undefined;
  readonly url?: string | undefined;
  readonly method?: string | undefined;
  /** A TLS socket has `encrypted: true` (node:tls); a plain one has no such member. */
  readonly socket?: object | null | undefined;
}

/** Brands a {@link ConnectionSource}. */
export const CONNECTION: unique symbol = Symbol('scopegate.connection');

/** WebSocket credentials: the connection params and the HTTP upgrade request, as a transport has them. */
export interface ConnectionSource {
  readonly [CONNECTION]: true;
  readonly params: unknown;
  readonly upgrade: unknown;
}

/** Anything a request's credentials can be read from. */
export type RequestLike =
  | Request
  | Headers
  | NodeRequestLike
  | ConnectionSource
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | string
  | null
  | undefined;

/** The authorization schemes scopegate reads. */
export type AuthScheme = 'Bearer' | 'DPoP';

/**
 * Pins the origin of request URLs (behind a reverse proxy): an origin, several, or a function of
 * the request. Forwarded headers are never read.
 */
export type PublicOrigin = string | readonly string[] | ((request: unknown) => string | readonly string[]);

/** What a request's credentials are. */
export type Credentials =
  | {
      readonly kind: 'token';
      readonly scheme: AuthScheme;
      readonly token: string;
      /**
       * The `DPoP` header values as sent (or the `dpop` connection param): raw, never split. More
       * than one value, or a value holding a comma (joined duplicates), is an invalid request.
       */
      readonly proofs: readonly string[];
      /** The request method, where the transport has one (`GET` for a WebSocket upgrade). */
      readonly method: string | undefined;
      /**
       * The URLs the request may have been sent to: the transport's own, or one per pinned public
       * origin; empty when unknown (an invalid `Host`). Computed for DPoP credentials only, the one
       * consumer, so that Bearer requests parse no URL.
       */
      readonly urls: readonly string[];
    }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid_request'; readonly scheme?: AuthScheme }
  | { readonly kind: 'too_large'; readonly scheme: AuthScheme };

/** Limits and settings of {@link readCredentials}. */
export interface CredentialsSettings {
  readonly maxTokenLength: number;
  readonly publicOrigin?: PublicOrigin | undefined;
}

const MISSING: Credentials = Object.freeze({ kind: 'missing' });
const INVALID: Credentials = Object.freeze({ kind: 'invalid_request' });
const NO_PROOFS: readonly string[] = Object.freeze([]);

// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// A credential of ours folded into a list with another scheme ("Basic x, Bearer y").
const FOLDED = /,\s*(bearer|dpop)(\s|$)/i;

/** WebSocket credentials for {@link readCredentials}: the connection params and the upgrade request. */
export function connectionSource(params: unknown, upgrade: unknown): ConnectionSource {
  return { [CONNECTION]: true, params, upgrade };
}

function isConnection(value: object): value is ConnectionSource {
  return (value as Partial<ConnectionSource>)[CONNECTION] === true;
}

/** The credential in one Authorization value, `maxLength` bounding the token before other work (#10). */
function parseAuthorization(field: string, maxLength: number): Credentials {
  // RFC 9110 5.5: a field value has no leading or trailing whitespace. HTTP parsers strip it, so
  // raw strings and hand-built header objects get the same here. Nothing inside is touched.
  const value = trimOws(field);
  const space = value.search(/[ \t]|$/);
  // Scheme names are case-insensitive (RFC 9110 11.1); any other scheme is not ours.
  const name = value.slice(0, space).toLowerCase();
  const scheme: AuthScheme | undefined = name === 'bearer' ? 'Bearer' : name === 'dpop' ? 'DPoP' : undefined;
  if (scheme === undefined) {
    const folded = FOLDED.exec(value);
    if (!folded) return MISSING;
    return folded[1]?.toLowerCase() === 'dpop' ? { kind: 'invalid_request', scheme: 'DPoP' } : INVALID;
  }
  let start = space;
  while (value.charCodeAt(start) === 32) start++;
  if (start === space || start === value.length) return { kind: 'invalid_request', scheme };
  const token = value.slice(start);
  if (token.length > maxLength) return { kind: 'too_large', scheme };
  if (!B64TOKEN.test(token)) return { kind: 'invalid_request', scheme };
  return { kind: 'token', scheme, token, proofs: NO_PROOFS, method: undefined, urls: NO_PROOFS };
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 32 || code === 9;
}

function isHeaders(value: unknown): value is Headers {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Headers).get === 'function' &&
    typeof (value as Headers).has === 'function'
  );
}

/**
 * One field of a header record, every spelling of its name gathered: a hand-built object may
 * hold `{ authorization, Authorization }`, two credentials like a repeated header (#6). Array
 * values (Node's joined-never fields) are flattened, unless `lists` is false (connection params,
 * where an array is a value that is not a string); `undefined` and `null` are absent.
 */
function fieldOf(record: Readonly<Record<string, unknown>>, field: string, lists = true): unknown[] {
  const values: unknown[] = [];
  for (const name of Object.keys(record)) {
    if (name.length !== field.length || name.toLowerCase() !== field) continue;
    const value = record[name];
    if (lists && Array.isArray(value)) values.push(...(value as unknown[]));
    else if (value !== undefined && value !== null) values.push(value);
  }
  return values;
}

/** A Node request's field, duplicates kept: headersDistinct, else rawHeaders, else headers. */
function nodeField(request: NodeRequestLike, field: string): unknown[] {
  const distinct = request.headersDistinct?.[field];
  if (distinct) return [...distinct];
  const raw = request.rawHeaders;
  if (raw) {
    const values: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i];
      if (name !== undefined && name.length === field.length && name.toLowerCase() === field) {
        values.push(raw[i + 1] as string);
      }
    }
    if (values.length > 0) return values;
  }
  return fieldOf(request.headers, field);
}

function hasQueryToken(url: unknown): boolean {
  if (typeof url !== 'string') return false;
  const query = url.indexOf('?');
  if (query < 0) return false;
  const hash = url.indexOf('#', query);
  // URLSearchParams decodes names: `access%5Ftoken` is `access_token` too.
  return new URLSearchParams(url.slice(query + 1, hash < 0 ? undefined : hash)).has('access_token');
}

// #7: a body a framework already parsed (express.urlencoded() puts it on `req.body`) carrying
// `access_token` is a second credential method. Only form bodies count (RFC 6750 2.2); a JSON body
// is not a token source (#9). Streams (a fetch Request's body) are never read here.
function hasFormBodyToken(request: object, headers: Readonly<Record<string, unknown>>): boolean {
  const body = (request as { body?: unknown }).body;
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'access_token')) return false;
  const type = headers['content-type'];
  return typeof type === 'string' && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
}

/** What one transport carries, before the credential is parsed. */
interface Carried {
  readonly authorization: readonly unknown[];
  readonly proofs: readonly unknown[];
  /** A second credential method was used (query, form body). */
  readonly second: boolean;
  readonly method?: string | undefined;
  /** The request whose URL a DPoP proof is bound to, read only when needed. */
  readonly target?: (() => string | undefined) | undefined;
  readonly origin?: unknown;
}

function headersCarried(headers: Headers): Carried {
  // fetch joins duplicates with ", ": caught by the b64token grammar, and by the proof check.
  const authorization = headers.get('authorization');
  const proof = headers.get('dpop');
  return {
    authorization: authorization === null ? [] : [authorization],
    proofs: proof === null ? [] : [proof],
    second: false,
  };
}

function fetchCarried(request: Request): Carried {
  const carried = headersCarried(request.headers);
  return {
    ...carried,
    second: hasQueryToken(request.url),
    method: request.method,
    target: () => request.url,
    origin: request,
  };
}

/** RFC 9110 7.2 `Host`: uri-host [ ":" port ], held to a strict grammar before it becomes a URL. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

/**
 * A Node request's URL: the `Host` header (strict grammar), `https:` only when the socket is TLS.
 * `X-Forwarded-*` are never read: behind a proxy, pin the origin instead.
 */
function nodeUrl(request: NodeRequestLike): string | undefined {
  const hosts = nodeField(request, 'host');
  const host = hosts[0];
  if (hosts.length !== 1 || typeof host !== 'string') return undefined;
  const match = HOST.exec(host);
  if (!match || (match[1] !== undefined && Number(match[1]) > 65535)) return undefined;
  const path = request.url;
  if (typeof path !== 'string' || !path.startsWith('/')) return undefined;
  const scheme =
    (request.socket as { encrypted?: unknown } | null | undefined)?.encrypted === true ? 'https' : 'http';
  try {
    return new URL(`${scheme}://${host}${path}`).href;
  } catch {
    return undefined;
  }
}

function nodeCarried(request: NodeRequestLike): Carried {
  const headers = request.headers as Readonly<Record<string, unknown>>;
  return {
    authorization: nodeField(request, 'authorization'),
    proofs: nodeField(request, 'dpop'),
    second: hasFormBodyToken(request, headers) || hasQueryToken(request.url),
    method: typeof request.method === 'string' ? request.method : undefined,
    target: () => nodeUrl(request),
    origin: request,
  };
}

/** A request object as a transport hands it over, or null when it carries no headers. */
function requestCarried(request: unknown): Carried | null {
  if (typeof request !== 'object' || request === null) return null;
  if (isHeaders(request)) return headersCarried(request);
  const headers = (request as { headers?: unknown }).headers;
  if (isHeaders(headers)) return fetchCarried(request as Request);
  // Fastify's request wraps the IncomingMessage, whose headersDistinct reveals duplicate headers.
  const raw = (request as { raw?: unknown }).raw;
  if (typeof raw === 'object' && raw !== null && typeof (raw as { headers?: unknown }).headers === 'object') {
    return nodeCarried(raw as NodeRequestLike);
  }
  if (typeof headers === 'object' && headers !== null) return nodeCarried(request as NodeRequestLike);
  return null;
}

/**
 * The WebSocket rule, one for every adapter. Browsers cannot set headers on a WebSocket, so the
 * connection params stand in for them: `authorization` ("Bearer x" or "DPoP x") or `token` (a
 * bare bearer token), and `dpop` (the proof); names are case-insensitive, `undefined` and `null`
 * values are absent, any other non-string is `invalid_request`. Without a credential in the
 * params, the upgrade request's headers are read (Node clients). A credential in both, or two in
 * the params, is `invalid_request` (RFC 6750 2: one method). The URL is never a source.
 */
function connectionCarried(source: ConnectionSource): Carried {
  const params =
    typeof source.params === 'object' && source.params !== null
      ? (source.params as Readonly<Record<string, unknown>>)
      : {};
  const authorization = fieldOf(params, 'authorization', false);
  for (const token of fieldOf(params, 'token', false)) {
    authorization.push(typeof token === 'string' ? `Bearer ${token}` : token);
  }
  const proofs = fieldOf(params, 'dpop', false);
  const upgrade = requestCarried(source.upgrade);
  if (authorization.length === 0 && proofs.length === 0 && upgrade) return { ...upgrade, method: 'GET' };
  const second = upgrade !== null && (upgrade.authorization.length > 0 || upgrade.proofs.length > 0);
  return {
    authorization,
    proofs,
    second: second || (upgrade?.second ?? false),
    method: 'GET',
    target: upgrade?.target,
    origin: upgrade?.origin,
  };
}

function carried(source: object): Carried {
  if (isConnection(source)) return connectionCarried(source);
  const request = requestCarried(source);
  if (request) return request;
  const record = source as Readonly<Record<string, unknown>>;
  return { authorization: fieldOf(record, 'authorization'), proofs: fieldOf(record, 'dpop'), second: false };
}

/**
 * Reads the credentials of a request or connection. Several Authorization values (a repeated
 * header, a joined one, two spellings), a token also sent in the query or a parsed form body, and
 * a value that is not a string are `invalid_request` (RFC 6750 2, 3.1).
 * @throws whatever a hostile request object's getters throw (the verifier turns it into a rejection)
 */
export function readCredentials(source: RequestLike, settings: CredentialsSettings): Credentials {
  if (source === null || source === undefined) return MISSING;
  if (typeof source === 'string') return parseAuthorization(source, settings.maxTokenLength);
  if (typeof source !== 'object') return MISSING;
  const found = carried(source);
  if (found.authorization.length > 1) return INVALID;
  const [value] = found.authorization;
  if (value === undefined) return MISSING;
  if (typeof value !== 'string') return INVALID;
  const credentials = parseAuthorization(value, settings.maxTokenLength);
  if (credentials.kind !== 'token') return credentials;
  if (found.second) return INVALID;
  if (found.proofs.some((proof) => typeof proof !== 'string')) return INVALID;
  if (credentials.scheme === 'Bearer' && found.proofs.length === 0) return credentials;
  return {
    ...credentials,
    proofs: found.proofs as string[],
    method: found.method,
    urls: credentials.scheme === 'DPoP' ? urlsOf(found, settings.publicOrigin) : NO_PROOFS,
  };
}

function urlsOf(found: Carried, publicOrigin: PublicOrigin | undefined): readonly string[] {
  const own = found.target?.();
  if (publicOrigin === undefined) return own === undefined ? NO_PROOFS : [own];
  // The path and query are the request's; the origin is the configured one.
  const path = own === undefined ? undefined : pathOf(own);
  if (path === undefined) return NO_PROOFS;
  const pinned = typeof publicOrigin === 'function' ? publicOrigin(found.origin) : publicOrigin;
  const origins = typeof pinned === 'string' ? [pinned] : pinned;
  return origins.filter(isOrigin).map((origin) => `${origin}${path}`);
}

function pathOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return undefined;
  }
}

/** True for a serialized origin: `scheme://host[:port]`, nothing else. */
export function isOrigin(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * Checks a `publicOrigin` setting.
 * @throws TypeError naming `name` unless it is an origin, a non-empty list of them, or a function
 */
export function validatePublicOrigin(value: unknown, name = 'publicOrigin'): PublicOrigin | undefined {
  if (value === undefined || typeof value === 'function') return value as PublicOrigin | undefined;
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every(isOrigin)) {
    throw new TypeError(
      `scopegate: "${name}" must be an origin ("https://api.example.com", no path), a non-empty list of them, or a function returning one`,
    );
  }
  return Object.freeze([...list]) as readonly string[];
}
