import { describe, expect, it } from 'vitest';
import { createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

describe('smoke', () => {
  for (const algorithm of [
    'RS256',
    'PS256',
    'ES256',
    'EdDSA',
    'HS256',
    'ES384',
    'ES512',
    'RS512',
    'Ed25519',
  ] as const) {
    for (const crypto of ['node', 'webcrypto'] as const) {
      it(`${algorithm} ${crypto}`, async () => {
        const issuer = await createTestIssuer({ algorithm });
        const verifier = createVerifier({ ...issuer.verifierOptions, crypto });
        const token = await issuer.sign({ scope: 'read:data' });
        const claims = await verifier.verify(token);
        expect(claims.sub).toBe('test-user');
        const auth = verifier.authenticate(`Bearer ${token}`);
        await expect(auth.require({ scopes: 'read:data' })).resolves.toEqual(claims);
        await expect(auth.require({ scopes: 'write:data' })).rejects.toMatchObject({
          reason: 'insufficient_scope',
        });
        const i = token.length - 10;
        const bad = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
        await expect(verifier.verify(bad)).rejects.toMatchObject({ reason: 'invalid_signature' });
      });
    }
  }
});
