/**
 * HTTP response headers for requests that consulted auth, shared by the adapters so that
 * tRPC and GraphQL responses carry the same challenge and caching rules. Rendered by
 * presentation.ts, with the presentation bound to the error (its verifier's), the request's
 * (a `RequestAuth` from `verifier.authenticate`), or `presentation`.
 */
import type { AuthError } from './errors.js';
import { type Presentation, presentationOf, renderResponseHeaders } from './presentation.js';
import { bindToRequest, LazyRequestAuth } from './request-auth.js';
import type { RequestAuth } from './types.js';

/**
 * Headers for a response that depended on the credentials: never cached by shared caches
 * (RFC 6750 5.3 / RFC 9111), `Vary: Authorization` (`, DPoP` when DPoP is enabled), the
 * challenge when the request was refused with a 400, 401 or 403, and `DPoP-Nonce` on the
 * responses to DPoP requests when nonces are on. Pass the request's `auth` so that a success
 * carries its nonce too.
 *
 * @example
 * ```ts
 * const auth = verifier.authenticate(req);
 * try { await auth.claims(); res.writeHead(200, authResponseHeaders(null, auth)); }
 * catch (error) { if (isAuthError(error)) res.writeHead(error.status, authResponseHeaders(error, auth)); }
 * ```
 */
export function authResponseHeaders(
  error?: AuthError | null,
  request?: RequestAuth<unknown> | Presentation,
): Record<string, string> {
  if (request instanceof LazyRequestAuth) {
    if (!error) return renderResponseHeaders(null, request.presentation);
    // The request's presentation, unless one closer to the refusal is bound already.
    return renderResponseHeaders(error, presentationOf(bindToRequest(error, request)));
  }
  const presentation = request !== undefined && 'realm' in request ? request : undefined;
  return renderResponseHeaders(error, presentation);
}

/**
 * The `DPoP-Nonce` header of a response to a DPoP request that never consulted auth (a public
 * procedure or field): once nonces are on, every DPoP response carries one (RFC 9449 8), so a
 * client that only called public operations still learns the nonce. Empty otherwise. Reads no
 * credentials: the response does not depend on them (no `Vary`, no private caching).
 */
export function dpopNonceHeaders(auth: unknown): Record<string, string> {
  if (!(auth instanceof LazyRequestAuth)) return {};
  const nonce = auth.presentation.dpopNonce;
  return nonce === undefined ? {} : { 'dpop-nonce': nonce };
}
