/**
 * The tokens every section uses: one RS256 issuer, a good token (scope `read:items`), an
 * under-scoped one, and a forged one (same issuer, audience and kid, another key).
 */
import { createPublicKey } from 'node:crypto';
import { importJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { createVerifier } from '../src/core/index.js';
import { createTestIssuer } from '../src/testing/index.js';

export const AUDIENCE = 'https://api.bench';
export const SCOPE = 'read:items';

export async function benchTokens() {
  const issuer = await createTestIssuer({ algorithm: 'RS256', audience: AUDIENCE });
  const forger = await createTestIssuer({ algorithm: 'RS256', audience: AUDIENCE });
  const jwk = issuer.jwks().keys[0] as JWK;
  const options = { issuer: issuer.issuer, audience: AUDIENCE, algorithms: ['RS256'] } as const;
  const joseKey = await importJWK(jwk, 'RS256');
  const tokens = {
    good: await issuer.sign({ scope: `openid ${SCOPE}` }, { expiresIn: 3600 }),
    underScoped: await issuer.sign({ scope: 'openid profile' }, { expiresIn: 3600 }),
    forged: await forger.sign({ scope: `openid ${SCOPE}` }, { expiresIn: 3600 }),
  };
  return {
    issuer,
    options,
    tokens,
    /** scopegate's verifier, keys already imported (static JWKS). */
    verifier: createVerifier({ ...options, jwks: issuer.jwks() }),
    /** PEM of the public key, for libraries that take one. */
    pem: createPublicKey({ key: jwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    }) as string,
    /** What a hand-written integration does: jose.jwtVerify with an imported key. */
    joseVerify: async (token: string): Promise<JWTPayload> =>
      (await jwtVerify(token, joseKey, { ...options, algorithms: ['RS256'], requiredClaims: ['exp'] }))
        .payload,
  };
}

/** The bearer token of an Authorization header, or null. */
export function bearerOf(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
  return match ? (match[1] as string) : null;
}

/** The scopes of a payload's `scope` claim. */
export function scopesOf(payload: JWTPayload | null | undefined): ReadonlySet<string> {
  return new Set(typeof payload?.scope === 'string' ? payload.scope.split(' ') : []);
}
