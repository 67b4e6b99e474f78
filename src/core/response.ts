/**
 * HTTP response headers for requests that consulted auth, shared by the adapters so that
 * tRPC and GraphQL responses carry the same challenge and caching rules. Rendered by
 * presentation.ts, with the presentation bound to the error (its verifier's), or `presentation`.
 */
import type { AuthError } from './errors.js';
import { type Presentation, renderResponseHeaders } from './presentation.js';

/**
 * Headers for a response that depended on the Authorization header: never cached by shared
 * caches (RFC 6750 5.3 / RFC 9111), varying on Authorization, and the challenge when the request
 * was refused with a 400, 401 or 403.
 */
export function authResponseHeaders(
  error?: AuthError | null,
  presentation?: Presentation,
): Record<string, string> {
  return renderResponseHeaders(error, presentation);
}
