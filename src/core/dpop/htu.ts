/**
 * The `htu` comparison of RFC 9449 4.3 (9): the request URI without query and fragment, after the
 * syntax-based (RFC 3986 6.2.2) and scheme-based (6.2.3) normalizations.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Normalizes an `http:` or `https:` URI for the `htu` comparison, or returns null when it is not
 * one. The WHATWG parser lowercases the scheme and host, drops the default port, removes dot
 * segments (also `%2e`) and turns an empty path into `/`; percent-encodings are then normalized
 * here: unreserved characters decoded, the others' hex digits uppercased. Query, fragment and
 * user info are not part of the result.
 */
export function normalizeHtu(value: string | URL): string | null {
  let url: URL;
  try {
    url = typeof value === 'string' ? new URL(value) : new URL(value.href);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  // No decoding here can create a dot segment: the parser already removed `%2e` ones.
  return `${url.origin}${path}`;
}
