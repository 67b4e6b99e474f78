/**
 * DPoP proof verification (RFC 9449 4.3), rows #79-#88, #92, #93 and #96 of SECURITY.md (f).
 * Proofs come from panva's `dpop` package (an independent implementation) and from the testing
 * kit's `dpopKey().proof()`; bad proofs are real signed JWS with one thing wrong each.
 */
import { createHmac, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import * as dpop from 'dpop';
import { exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDpopNonces } from '../../../src/core/dpop/nonce.js';
import { dpopProofSettings, verifyDpopProof } from '../../../src/core/dpop/proof.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../../src/testing/index.js';
import { METHOD, now, refusal, request, settings, URL_ } from './support.js';

let issuer: TestIssuer;
let key: TestDpopKey;
let otherKey: TestDpopKey;
let token: string;

beforeAll(async () => {
  issuer = await createTestIssuer({ algorithm: 'ES256' });
  key = await issuer.dpopKey();
  otherKey = await issuer.dpopKey();
  token = await key.sign();
});

const good = (overrides: Parameters<TestDpopKey['proof']>[0] | object = {}) =>
  key.proof({ method: METHOD, url: URL_, accessToken: token, ...overrides });

describe('proofs that pass', () => {
  for (const alg of ['ES256', 'Ed25519', 'PS256', 'RS256'] as const) {
    for (const engine of ['node', 'webcrypto'] as const) {
      it(`accepts a ${alg} proof made by the dpop package (${engine} engine)`, async () => {
        const keyPair = await dpop.generateKeyPair(alg);
        const proof = await dpop.generateProof(keyPair, URL_, METHOD, undefined, token);
        const verified = await verifyDpopProof(proof, request(token), settings({ engine }));
        expect(verified.thumbprint).toBe(await dpop.calculateThumbprint(keyPair.publicKey));
        expect(verified.alg).toBe(alg);
        expect(verified.jti).toMatch(/.{16,}/);
        expect(Math.abs(verified.iat - now())).toBeLessThanOrEqual(1);
        expect(verified.expiresAt).toBe((verified.iat + 300 + 30) * 1000);
      });
    }
  }

  it('accepts testing-kit proofs (ES256 and EdDSA) and reports the key thumbprint', async () => {
    const verified = await verifyDpopProof(await good(), request(token), settings());
    expect(verified.thumbprint).toBe(key.thumbprint);
    const edKey = await issuer.dpopKey({ algorithm: 'EdDSA' });
    const edProof = await edKey.proof({ method: METHOD, url: URL_, accessToken: token });
    expect((await verifyDpopProof(edProof, request(token), settings())).thumbprint).toBe(edKey.thumbprint);
  });

  it('#84 ignores the query and fragment, and compares htu after RFC 3986 normalization', async () => {
    const cases: [proofHtu: string, requestUrl: string][] = [
      [URL_, `${URL_}?batch=1&input=%7B%7D#frag`],
      ['HTTPS://API.Example.TEST:443/trpc/./x/../post.create', URL_],
      ['https://api.example.test/trpc/post%2ecreate', URL_],
      ['https://api.example.test/%7Euser/a%2fb', 'https://api.example.test/~user/a%2Fb'],
      ['http://api.example.test:80', 'http://api.example.test/'],
      ['https://api.example.test/a%c3%a9', 'https://api.example.test/aé'],
    ];
    for (const [htu, url] of cases) {
      const proof = await good({ claims: { htu } });
      await expect(verifyDpopProof(proof, request(token, { url }), settings()), htu).resolves.toBeTruthy();
    }
    // A URL object works as well as a string.
    await expect(
      verifyDpopProof(await good(), request(token, { url: new URL(URL_) }), settings()),
    ).resolves.toBeTruthy();
  });
});

describe('bad proofs', () => {
  it('#79 not a compact JWS', async () => {
    const proof = await good();
    for (const bad of ['', 'abc', proof.split('.').slice(0, 2).join('.'), `${proof}.x`, `${proof}=`]) {
      await refusal(bad, request(token), 'invalid_dpop_proof', 'jws:');
    }
  });

  it('#79 typ not dpop+jwt (missing, JWT, at+jwt, another case)', async () => {
    for (const typ of [undefined, 'JWT', 'at+jwt', 'DPOP+JWT']) {
      await refusal(await good({ header: { typ } }), request(token), 'invalid_dpop_proof', 'typ:');
    }
  });

  it('#80 alg none (with a signature), HS256, or not in dpop.algorithms', async () => {
    const [header, payload] = (await good()).split('.') as [string, string];
    const noneHeader = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' }),
    ).toString('base64url');
    await refusal(`${noneHeader}.${payload}.AAAA`, request(token), 'invalid_dpop_proof', 'alg:');

    // HS256 keyed with the public key's bytes: the classic confusion, refused before any key use.
    const hsHeader = Buffer.from(
      JSON.stringify({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk }),
    ).toString('base64url');
    const mac = createHmac('sha256', JSON.stringify(key.publicJwk)).update(`${hsHeader}.${payload}`).digest();
    await refusal(
      `${hsHeader}.${payload}.${mac.toString('base64url')}`,
      request(token),
      'invalid_dpop_proof',
      'alg:',
    );

    const es384 = await issuer.dpopKey({ algorithm: 'ES384' });
    const proof384 = await es384.proof({ method: METHOD, url: URL_, accessToken: token });
    await refusal(proof384, request(token), 'invalid_dpop_proof', 'alg:');
    await expect(
      verifyDpopProof(proof384, request(token), settings({ algorithms: ['ES384'] })),
    ).resolves.toBeTruthy();
    await refusal(await good(), request(token), 'invalid_dpop_proof', 'alg:', { algorithms: ['EdDSA'] });
  });

  it('#81 jwk missing, symmetric, private, of another kty or crv, or with another alg', async () => {
    await refusal(
      await good({ header: { jwk: undefined } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: missing',
    );
    await refusal(await good({ header: { jwk: 'x' } }), request(token), 'invalid_dpop_proof', 'jwk: missing');
    const symmetric = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' };
    await refusal(
      await good({ header: { jwk: symmetric } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: holds private',
    );
    const privateJwk = await exportJWK(key.keyPair.privateKey);
    expect(privateJwk.d).toBeTypeOf('string');
    await refusal(
      await good({ header: { jwk: privateJwk } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: holds private',
    );
    const rsa = await issuer.dpopKey({ algorithm: 'RS256' });
    await refusal(
      await good({ header: { jwk: rsa.publicJwk } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: kty',
    );
    await refusal(
      await good({ header: { jwk: { ...key.publicJwk, crv: 'P-384' } } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: crv',
    );
    await refusal(
      await good({ header: { jwk: { ...key.publicJwk, alg: 'ES384' } } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: its alg',
    );
    await refusal(
      await good({ header: { jwk: { ...key.publicJwk, x: 'AAAA' } } }),
      request(token),
      'invalid_dpop_proof',
      'jwk: not a usable public key',
    );
  });

  it('#81 an RSA jwk under 2048 bits (RFC 7518 3.3)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = publicKey.export({ format: 'jwk' });
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'dpop+jwt', jwk })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ jti: 'weak', htm: METHOD, htu: URL_, iat: now() })).toString(
      'base64url',
    );
    const signature = nodeSign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString(
      'base64url',
    );
    await refusal(
      `${header}.${payload}.${signature}`,
      request(token),
      'invalid_dpop_proof',
      'jwk: weak rsa modulus',
    );
  });

  it('#81 an Ed25519 jwk of small order (R = identity, S = 0 forges a signature for it)', async () => {
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: identity.toString('base64url') };
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'dpop+jwt', jwk })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ jti: 'forged', htm: METHOD, htu: URL_, iat: now() }),
    ).toString('base64url');
    const signature = Buffer.concat([identity, Buffer.alloc(32)]);
    // The forgery is real where the runtime's OpenSSL accepts it (on Node 20 and 22 node:crypto
    // verifies it for that key and any message; Node 24's refuses it): either way scopegate refuses
    // the key itself, before any signature check, which the detail below proves.
    await refusal(
      `${header}.${payload}.${signature.toString('base64url')}`,
      request(token),
      'invalid_dpop_proof',
      'jwk: Ed25519 key of small order',
    );
  });

  it('#82 signed by a key other than its jwk', async () => {
    await refusal(
      await good({ header: { jwk: otherKey.publicJwk } }),
      request(token),
      'invalid_dpop_proof',
      'signature:',
    );
    const proof = await good();
    const [h, p] = proof.split('.') as [string, string];
    const tampered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), htm: 'GET' }),
    );
    await refusal(
      `${h}.${tampered.toString('base64url')}.${proof.split('.')[2]}`,
      request(token, { method: 'GET' }),
      'invalid_dpop_proof',
      'signature:',
    );
  });

  it('#83 htm is another method, or the same in another case', async () => {
    await refusal(await good({ method: 'GET' }), request(token), 'invalid_dpop_proof', 'htm:');
    await refusal(await good({ method: 'post' }), request(token), 'invalid_dpop_proof', 'htm:');
    await refusal(await good({ method: undefined }), request(token), 'invalid_dpop_proof', 'htm:');
  });

  it('#84 htu of another path, host, port or scheme, or not an http(s) URI', async () => {
    for (const htu of [
      'https://api.example.test/trpc/post.delete',
      'https://evil.example.test/trpc/post.create',
      'https://api.example.test:8443/trpc/post.create',
      'http://api.example.test/trpc/post.create',
      'https://api.example.test/trpc/post.create/',
      'https://api.example.test/TRPC/post.create',
      'wss://api.example.test/trpc/post.create',
      'not a url',
    ]) {
      await refusal(
        await good({ claims: { htu } }),
        request(token),
        'invalid_dpop_proof',
        'htu: not the request URI',
      );
    }
    await refusal(await good({ claims: { htu: undefined } }), request(token), 'invalid_dpop_proof', 'htu:');
    await refusal(
      await good(),
      request(token, { url: 'ftp://api.example.test/x' }),
      'invalid_dpop_proof',
      'htu: the request URL',
    );
  });

  it('#85 iat older than maxAge + tolerance, later than now + tolerance, or not a number', async () => {
    const t = now();
    await refusal(
      await good({ iat: t - 300 - 31 }),
      request(token, { now: t }),
      'invalid_dpop_proof',
      'iat: older',
    );
    await expect(
      verifyDpopProof(await good({ iat: t - 300 - 29 }), request(token, { now: t }), settings()),
    ).resolves.toBeTruthy();
    await refusal(
      await good({ iat: t + 31 }),
      request(token, { now: t }),
      'invalid_dpop_proof',
      'iat: in the future',
    );
    await expect(
      verifyDpopProof(await good({ iat: t + 29 }), request(token, { now: t }), settings()),
    ).resolves.toBeTruthy();
    await refusal(
      await good({ iat: t - 61 }),
      request(token, { now: t }),
      'invalid_dpop_proof',
      'iat: older',
      {
        maxAge: 60,
        clockTolerance: 0,
      },
    );
    await refusal(
      await good({ claims: { iat: String(t) } }),
      request(token),
      'invalid_dpop_proof',
      'iat: missing',
    );
    await refusal(
      await good({ claims: { iat: undefined } }),
      request(token),
      'invalid_dpop_proof',
      'iat: missing',
    );
  });

  it('#87 jti missing, empty, not a string, or over 256 characters', async () => {
    await refusal(
      await good({ claims: { jti: undefined } }),
      request(token),
      'invalid_dpop_proof',
      'jti: missing',
    );
    await refusal(await good({ jti: '' }), request(token), 'invalid_dpop_proof', 'jti: missing');
    await refusal(await good({ claims: { jti: 42 } }), request(token), 'invalid_dpop_proof', 'jti: missing');
    await refusal(
      await good({ jti: 'j'.repeat(257) }),
      request(token),
      'invalid_dpop_proof',
      'jti: over 256',
    );
    await expect(
      verifyDpopProof(await good({ jti: 'j'.repeat(256) }), request(token), settings()),
    ).resolves.toBeTruthy();
  });

  it('#88 ath missing, or not the SHA-256 of the access token', async () => {
    await refusal(
      await good({ accessToken: undefined }),
      request(token),
      'invalid_dpop_proof',
      'ath: missing',
    );
    const otherToken = await otherKey.sign();
    await refusal(
      await good({ accessToken: otherToken }),
      request(token),
      'invalid_dpop_proof',
      'ath: not the SHA-256',
    );
    await refusal(await good(), request(otherToken), 'invalid_dpop_proof', 'ath: not the SHA-256');
  });

  it('#88 a proof by the dpop package without an access token has no ath', async () => {
    const keyPair = await dpop.generateKeyPair('ES256');
    const proof = await dpop.generateProof(keyPair, URL_, METHOD);
    await refusal(proof, request(token), 'invalid_dpop_proof', 'ath: missing');
  });

  it('refuses critical header parameters it does not understand', async () => {
    await refusal(
      await good({ header: { crit: ['b64'], b64: true } }),
      request(token),
      'invalid_dpop_proof',
      'crit:',
    );
  });

  it('#93 an oversized proof is refused before parsing; deeply nested JSON does not crash', async () => {
    await refusal('a'.repeat(8193), request(token), 'invalid_dpop_proof', 'size:');
    const padded = await good({ claims: { pad: 'p'.repeat(9000) } });
    await refusal(padded, request(token), 'invalid_dpop_proof', 'size:');
    await expect(
      verifyDpopProof(padded, request(token), settings({ maxLength: 20_000 })),
    ).resolves.toBeTruthy();
    let nested: unknown = 1;
    for (let i = 0; i < 2000; i++) nested = [nested];
    const deep = await good({ claims: { deep: nested } });
    expect(deep.length).toBeLessThan(8192);
    await expect(verifyDpopProof(deep, request(token), settings())).resolves.toBeTruthy();
  });
});

describe('#92 server nonces', () => {
  const secret = 'a-test-secret-of-at-least-32-bytes!!';

  it('accepts a live nonce, from the dpop package too', async () => {
    const nonces = createDpopNonces({ secret });
    const nonce = await nonces.issue(now());
    await expect(
      verifyDpopProof(await good({ nonce }), request(token), settings({ nonce: { secret } })),
    ).resolves.toBeTruthy();
    const keyPair = await dpop.generateKeyPair('ES256');
    const proof = await dpop.generateProof(keyPair, URL_, METHOD, nonce, token);
    await expect(
      verifyDpopProof(proof, request(token), settings({ nonce: { secret } })),
    ).resolves.toBeTruthy();
  });

  it('nonce missing, stale, forged or malformed: use_dpop_nonce', async () => {
    const options = { nonce: { secret, window: 60 } };
    await refusal(await good(), request(token), 'use_dpop_nonce', 'nonce: missing', options);
    const stale = await createDpopNonces({ secret, window: 60 }).issue(now() - 180);
    await refusal(await good({ nonce: stale }), request(token), 'use_dpop_nonce', 'nonce: stale', options);
    const forged = await createDpopNonces({ secret: `${secret}-other`, window: 60 }).issue(now());
    await refusal(await good({ nonce: forged }), request(token), 'use_dpop_nonce', 'nonce: forged', options);
    await refusal(
      await good({ nonce: 'hello' }),
      request(token),
      'use_dpop_nonce',
      'nonce: malformed',
      options,
    );
  });
});

describe('keys and presentation', () => {
  it('many client keys: the bounded key cache keeps verifying every one correctly', async () => {
    const keys = await Promise.all(Array.from({ length: 300 }, () => issuer.dpopKey()));
    for (const k of keys) {
      const proof = await k.proof({ method: METHOD, url: URL_, accessToken: token });
      expect((await verifyDpopProof(proof, request(token), settings())).thumbprint).toBe(k.thumbprint);
    }
    // The first keys were evicted and come back; a proof of one key never passes as another's.
    const first = keys[0] as TestDpopKey;
    const swapped = await first.proof({
      method: METHOD,
      url: URL_,
      accessToken: token,
      header: { jwk: key.publicJwk },
    });
    await refusal(swapped, request(token), 'invalid_dpop_proof', 'signature:');
  });
});

describe('settings', () => {
  it('defaults: ES256, EdDSA, Ed25519, PS256, RS256; 300 s; 30 s; 8192 characters', () => {
    const s = dpopProofSettings();
    expect(s.algorithms).toEqual(['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256']);
    expect([s.maxAge, s.clockTolerance, s.maxLength, s.nonces]).toEqual([300, 30, 8192, undefined]);
  });

  it('setup mistakes are TypeErrors naming the option', () => {
    const bad: [object, RegExp][] = [
      [{ algorithms: [] }, /"dpop.algorithms"/],
      [{ algorithms: ['HS256'] }, /"dpop.algorithms"/],
      [{ algorithms: ['none'] }, /"dpop.algorithms"/],
      [{ algorithms: 'ES256' }, /"dpop.algorithms"/],
      [{ maxAge: -1 }, /"dpop.maxAge"/],
      [{ clockTolerance: Number.NaN }, /"dpop.clockTolerance"/],
      [{ maxLength: 0 }, /"dpop.maxLength"/],
      [{ nonce: { secret: 'short' } }, /"dpop.nonce.secret"/],
      [{ nonce: { secret: new Uint8Array(31) } }, /"dpop.nonce.secret"/],
      [{ nonce: { secret: 'x'.repeat(32), window: 0 } }, /"dpop.nonce.window"/],
      [{ nonce: null }, /"dpop.nonce"/],
      [{ engine: 'openssl' }, /"crypto"/],
    ];
    for (const [options, message] of bad)
      expect(() => dpopProofSettings(options), message.source).toThrow(message);
  });
});
