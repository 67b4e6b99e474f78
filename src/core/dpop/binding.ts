/**
 * Token binding (RFC 9449 6): a DPoP-bound token names its key in `cnf.jkt`, the RFC 7638
 * SHA-256 thumbprint of the public JWK that must sign the request's proof.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import { AuthError } from '../errors.js';

/** RFC 7638 SHA-256 thumbprint (base64url) of a public JWK. jose picks the required members. */
export function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** The token's `cnf.jkt`, or undefined when it has none (an unbound token). */
export function boundThumbprint(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims.cnf;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

/**
 * Checks that a token presented under the DPoP scheme is bound to the proof's key.
 * @throws AuthError `invalid_token_binding` when the token has no `cnf.jkt` (a Bearer token sent
 *   as DPoP, RFC 9449 7.1) or names another key (a stolen token with the thief's key, 6.1).
 */
export function checkTokenBinding(claims: Readonly<Record<string, unknown>>, thumbprint: string): void {
  const jkt = boundThumbprint(claims);
  if (jkt === undefined) {
    throw new AuthError('invalid_token_binding', {
      detail: 'binding: the token has no cnf.jkt (not a DPoP-bound token)',
    });
  }
  if (jkt !== thumbprint) {
    throw new AuthError('invalid_token_binding', {
      detail: 'binding: cnf.jkt is not the thumbprint of the proof key',
    });
  }
}
