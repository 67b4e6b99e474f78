/**
 * The testing kit's DPoP side: `issuer.dpopKey()` mints tokens bound to a key pair (`cnf.jkt`)
 * and signs proofs for them that scopegate's proof verification and the `dpop` package agree on.
 */
import * as dpop from 'dpop';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { dpopProofSettings, verifyDpopProof } from '../../src/core/dpop/proof.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

describe('createTestIssuer().dpopKey()', () => {
  it('mints tokens bound to the key and proofs that verify', async () => {
    const key = await issuer.dpopKey();
    expect(key.algorithm).toBe('ES256');
    expect(key.thumbprint).toBe(await dpop.calculateThumbprint(key.keyPair.publicKey));
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const token = await key.sign({ scope: 'read' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks() as unknown as JSONWebKeySet), {
      issuer: issuer.issuer,
    });
    expect(payload).toMatchObject({ cnf: { jkt: key.thumbprint }, scope: 'read', sub: 'test-user' });

    const url = 'https://api.example.test/graphql?query=x#y';
    const proof = await key.proof({ method: 'GET', url, accessToken: token, nonce: 'n-1' });
    expect(decodeProtectedHeader(proof)).toEqual({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk });
    const claims = decodeJwt(proof);
    expect(claims).toMatchObject({ htm: 'GET', htu: 'https://api.example.test/graphql', nonce: 'n-1' });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    const verified = await verifyDpopProof(
      proof,
      { method: 'GET', url, accessToken: token, now: Math.floor(Date.now() / 1000) },
      dpopProofSettings(),
    );
    expect(verified.thumbprint).toBe(key.thumbprint);
  });

  it('each key is new; RSA keys publish n and e only; claims and header can be overridden or removed', async () => {
    const a = await issuer.dpopKey();
    const b = await issuer.dpopKey();
    expect(a.thumbprint).not.toBe(b.thumbprint);
    const rsa = await issuer.dpopKey({ algorithm: 'PS256' });
    expect(Object.keys(rsa.publicJwk).sort()).toEqual(['e', 'kty', 'n']);
    const proof = await a.proof({
      method: 'POST',
      url: 'https://api.example.test/',
      iat: 1000,
      jti: 'fixed',
      claims: { extra: 1, htm: undefined },
      header: { typ: 'JWT' },
    });
    expect(decodeJwt(proof)).toEqual({ jti: 'fixed', htu: 'https://api.example.test/', iat: 1000, extra: 1 });
    expect(decodeProtectedHeader(proof).typ).toBe('JWT');
  });
});
