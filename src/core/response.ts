/**
 * HTTP response headers for requests that consulted auth, shared by the adapters so that
 * tRPC and GraphQL responses carry the same challenge and caching rules.
 */
import type { AuthError } from './errors.js';

/**
 * Headers for a response that depended on the Authorization header: never cached by shared
 * caches (RFC 6750 5.3 / RFC 9111), varying on Authorization, and the RFC 6750 challenge when
 * the request was refused with a 400, 401 or 403.
 */
export function authResponseHeaders(error?: AuthError | null): Record<string, string> {
  const headers: Record<string, string> = { 'cache-control': 'private, no-store', vary: 'Authorization' };
  const challenge = error?.wwwAuthenticate;
  if (challenge) headers['www-authenticate'] = challenge;
  return headers;
}
