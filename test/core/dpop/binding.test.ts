/**
 * Token binding (RFC 9449 6, 7.1), rows #89 and #90: `cnf.jkt` must be the proof key's RFC 7638
 * thumbprint, computed by jose and cross-checked against panva's `dpop` package.
 */
import * as dpop from 'dpop';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { boundThumbprint, checkTokenBinding, jwkThumbprint } from '../../../src/core/dpop/binding.js';
import { verifyDpopProof } from '../../../src/core/dpop/proof.js';
import { AuthError } from '../../../src/core/errors.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../../src/testing/index.js';
import { METHOD, request, settings, URL_ } from './support.js';

let issuer: TestIssuer;
let key: TestDpopKey;
let thief: TestDpopKey;

beforeAll(async () => {
  issuer = await createTestIssuer({ algorithm: 'ES256' });
  key = await issuer.dpopKey();
  thief = await issuer.dpopKey();
});

const claimsOf = async (token: string) =>
  (await jwtVerify(token, createLocalJWKSet(issuer.jwks() as unknown as JSONWebKeySet))).payload as Record<
    string,
    unknown
  >;

function bindingError(claims: Record<string, unknown>, thumbprint: string): AuthError {
  try {
    checkTokenBinding(claims, thumbprint);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return error as AuthError;
  }
  throw new Error('the binding check passed');
}

describe('binding', () => {
  it('the thumbprint matches the dpop package and RFC 7638 section 3.1', async () => {
    const keyPair = await dpop.generateKeyPair('ES256');
    const proof = await dpop.generateProof(keyPair, URL_, METHOD, undefined, 'token');
    const verified = await verifyDpopProof(proof, request('token'), settings());
    expect(verified.thumbprint).toBe(await dpop.calculateThumbprint(keyPair.publicKey));
    // RFC 7638 3.1's example key and thumbprint.
    const rfcKey = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
    };
    expect(await jwkThumbprint(rfcKey)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('accepts a token bound to the proof key', async () => {
    const claims = await claimsOf(await key.sign());
    expect(boundThumbprint(claims)).toBe(key.thumbprint);
    expect(() => checkTokenBinding(claims, key.thumbprint)).not.toThrow();
  });

  it('#89 cnf.jkt is not the proof key (a stolen token presented with the thief key)', async () => {
    const stolen = await key.sign();
    const proof = await thief.proof({ method: METHOD, url: URL_, accessToken: stolen });
    const verified = await verifyDpopProof(proof, request(stolen), settings()); // the proof itself is fine
    const error = bindingError(await claimsOf(stolen), verified.thumbprint);
    expect([error.reason, error.status, error.detail]).toEqual([
      'invalid_token_binding',
      401,
      'binding: cnf.jkt is not the thumbprint of the proof key',
    ]);
  });

  it('#90 a token without cnf.jkt under the DPoP scheme', async () => {
    for (const cnf of [undefined, null, 'jkt', ['x'], {}, { jkt: 42 }, { 'x5t#S256': 'abc' }]) {
      const claims = await claimsOf(await issuer.sign({ cnf }));
      expect(boundThumbprint(claims)).toBeUndefined();
      const error = bindingError(claims, key.thumbprint);
      expect([error.reason, error.status, error.detail]).toEqual([
        'invalid_token_binding',
        401,
        'binding: the token has no cnf.jkt (not a DPoP-bound token)',
      ]);
    }
  });
});
