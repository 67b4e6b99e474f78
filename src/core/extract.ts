/**
 * Bearer token extraction (RFC 6750 2.1). Only the Authorization header is read: the query
 * string, body, cookies and custom headers are not token sources. Inputs are never trimmed,
 * split or repaired inside the credential.
 */

/** Anything a request's credentials can be read from. */
export type RequestLike =
  | Request
  | Headers
  | NodeRequestLike
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | string
  | null
  | undefined;

/**
 * The part of Node's `IncomingMessage` that extraction reads. The optional members accept
 * `undefined` explicitly: `IncomingMessage.url` is `string | undefined`, which projects with
 * `exactOptionalPropertyTypes` could not pass otherwise.
 */
export interface NodeRequestLike {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly headersDistinct?: Readonly<Record<string, readonly string[] | undefined>> | undefined;
  readonly rawHeaders?: readonly string[] | undefined;
  readonly url?: string | undefined;
}

export type Extraction =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid_request' }
  | { readonly kind: 'too_large' };

const MISSING: Extraction = Object.freeze({ kind: 'missing' });
const INVALID: Extraction = Object.freeze({ kind: 'invalid_request' });
const TOO_LARGE: Extraction = Object.freeze({ kind: 'too_large' });

// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Parses one Authorization header value. `maxLength` bounds the token before any other work
 * (SECURITY.md #10): an oversized credential is refused on its length alone.
 */
export function parseAuthorization(field: string, maxLength: number): Extraction {
  // RFC 9110 5.5: a field value has no leading or trailing whitespace. HTTP parsers strip it, so
  // raw strings and hand-built header objects get the same here (a leading space used to read as
  // "no credentials", a trailing one as malformed). Nothing inside the credential is touched.
  const value = trimOws(field);
  // Scheme names are case-insensitive (RFC 9110 11.1); anything but Bearer is not ours.
  const scheme = value.slice(0, 6);
  const next = value.charAt(6);
  if (scheme.toLowerCase() !== 'bearer' || (next !== '' && next !== ' ' && next !== '\t')) {
    // Another scheme, unless a Bearer credential was folded in with it ("Basic x, Bearer y").
    return /,\s*bearer(\s|$)/i.test(value) ? INVALID : MISSING;
  }
  let start = 6;
  while (value.charCodeAt(start) === 32) start++;
  if (start === 6 || start === value.length) return INVALID;
  const token = value.slice(start);
  if (token.length > maxLength) return TOO_LARGE;
  return B64TOKEN.test(token) ? { kind: 'token', token } : INVALID;
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

function isHeaders(value: object): value is Headers {
  return typeof (value as Headers).get === 'function' && typeof (value as Headers).has === 'function';
}

/** Marks a headers object that holds the Authorization field more than once. */
const DUPLICATE = Symbol('duplicate authorization');

function headerOf(record: Readonly<Record<string, unknown>>): unknown {
  // Plain objects built by hand may keep the original case, and may then hold the field under
  // two spellings ({ authorization, Authorization }): two credentials, like a repeated header
  // (SECURITY.md #6). Looking up 'authorization' alone used to pick one and ignore the other.
  let value: unknown;
  let found = 0;
  for (const name of Object.keys(record)) {
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      value = record[name];
      found++;
    }
  }
  return found > 1 ? DUPLICATE : value;
}

function countRaw(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  return count;
}

function hasQueryToken(url: string | undefined): boolean {
  if (!url?.includes('access_token')) return false;
  try {
    return new URL(url, 'http://localhost').searchParams.has('access_token');
  } catch {
    return false;
  }
}

// SECURITY.md #7: a body that a framework already parsed (express.urlencoded() and the like put
// it on `req.body`) and that carries `access_token` is a second credential method next to the
// header. Only form bodies count (RFC 6750 2.2); a JSON body is not a token source (#9). Streams
// (a fetch Request's body) are never read here.
function hasFormBodyToken(request: object, headers: Readonly<Record<string, unknown>>): boolean {
  const body = (request as { body?: unknown }).body;
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'access_token')) return false;
  const type = headers['content-type'];
  return typeof type === 'string' && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
}

/**
 * Reads the bearer token of a request. Several Authorization values (a repeated header, or a
 * joined one) and a token also sent in the query or a parsed form body are `invalid_request`
 * (RFC 6750 2, 3.1).
 */
export function extractToken(request: RequestLike, maxLength: number): Extraction {
  if (request === null || request === undefined) return MISSING;
  if (typeof request === 'string') return parseAuthorization(request, maxLength);
  if (typeof request !== 'object') return MISSING;

  let value: unknown;
  let url: string | undefined;
  let formToken = false;
  if (isHeaders(request)) {
    value = request.get('authorization');
  } else {
    const headers = (request as { headers?: unknown }).headers;
    if (typeof headers === 'object' && headers !== null && isHeaders(headers)) {
      // fetch Request: duplicates arrive joined with ", ", caught by the b64token grammar.
      value = headers.get('authorization');
      url = (request as { url?: unknown }).url as string | undefined;
    } else if (typeof headers === 'object' && headers !== null) {
      // Node IncomingMessage: req.headers keeps only the first duplicate authorization header.
      const node = request as NodeRequestLike;
      const distinct = node.headersDistinct?.authorization;
      if (distinct && distinct.length > 1) return INVALID;
      if (!distinct && node.rawHeaders && countRaw(node.rawHeaders) > 1) return INVALID;
      value = headerOf(headers as Record<string, unknown>);
      url = typeof node.url === 'string' ? node.url : undefined;
      formToken = hasFormBodyToken(request, headers as Record<string, unknown>);
    } else {
      value = headerOf(request as Record<string, unknown>);
    }
  }

  if (value === DUPLICATE) return INVALID;
  if (Array.isArray(value)) {
    if (value.length > 1) return INVALID;
    value = value[0];
  }
  if (value === undefined || value === null) return MISSING;
  if (typeof value !== 'string') return INVALID;
  const result = parseAuthorization(value, maxLength);
  if (result.kind === 'token' && (formToken || hasQueryToken(url))) return INVALID;
  return result;
}
