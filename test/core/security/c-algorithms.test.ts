/**
 * SECURITY.md section C: algorithm handling (#21-#28). The confusion, binding, curve and
 * unconfigured-algorithm rows (#23-#26) run on both engines.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '../../../src/core/index.js';
import { createTestIssuer } from '../../../src/testing/index.js';
import {
  AUDIENCE,
  b64,
  claims,
  createRawSigner,
  ENGINES,
  expectOutcome,
  hmacToken,
  ISSUER,
  invalidToken,
  pkcs1Encoded,
  type RawSigner,
  recordingLogger,
  SHA256_DIGEST_INFO,
  tokenWith,
} from './support.js';

const unsupported = invalidToken('unsupported_algorithm');
const unknownKey = invalidToken('unknown_key');

let rsaSigner: RawSigner;
let ecSigner: RawSigner;
let edSigner: RawSigner;

beforeAll(() => {
  rsaSigner = createRawSigner('RS256');
  ecSigner = createRawSigner('ES256');
  edSigner = createRawSigner('EdDSA');
});

// A usable key of another kid: keeps a set acceptable at createVerifier (a set whose keys can never
// match is refused there since issue 8) while the mismatching key stays unusable at runtime.
const DECOY_CURVE = { ES256: 'P-256', ES512: 'P-521' } as const;
const decoy = (alg: 'RS256' | 'ES256' | 'ES512'): Record<string, unknown> => {
  const { publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: DECOY_CURVE[alg] });
  return { ...publicKey.export({ format: 'jwk' }), kid: `decoy-${alg}`, alg, use: 'sig' };
};

const staticVerifier = (
  keys: readonly Readonly<Record<string, unknown>>[],
  extra: Record<string, unknown> = {},
) =>
  createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys },
    ...extra,
  } as Parameters<typeof createVerifier>[0]);

describe('C. #21 alg none', () => {
  it('#21 alg "none" with an empty signature, with and without kid', async () => {
    const verifier = staticVerifier([rsaSigner.jwk]);
    const payload = b64(JSON.stringify(claims()));
    for (const header of [{ alg: 'none' }, { alg: 'none', kid: rsaSigner.kid }]) {
      const unsecured = `${b64(JSON.stringify(header))}.${payload}.`;
      // With or without a signature, `none` is an algorithm outside the allow-list (issue 8).
      const refused = await expectOutcome(verifier.verify(unsecured), unsupported);
      expect(refused.detail).toContain('header: alg "none" is not accepted');
      expect(refused.detail).toContain('signature: empty segment');
      await expectOutcome(verifier.authenticate(`Bearer ${unsecured}`).claims(), unsupported);
      const signed = await expectOutcome(verifier.verify(`${unsecured}AAAA`), unsupported);
      expect(signed.detail).toBe('header: alg "none" is not accepted (algorithms: RS256)');
    }
  });
});

describe('C. #22 alg variants, missing or of the wrong type', () => {
  const variants: readonly [string, unknown][] = [
    ['None', 'None'],
    ['NONE', 'NONE'],
    ['nOnE', 'nOnE'],
    ['NoNe', 'NoNe'],
    ['empty string', ''],
    ['null', null],
    ['0', 0],
    ['["RS256"]', ['RS256']],
    ['{}', {}],
    ['rs256', 'rs256'],
    ['"RS256 " (trailing space)', 'RS256 '],
    ['RS256 with a NUL', 'RS256\u0000'],
  ];
  for (const [name, alg] of variants) {
    it(`#22 alg ${name}`, async () => {
      const verifier = staticVerifier([rsaSigner.jwk]);
      await expectOutcome(
        verifier.verify(rsaSigner.token(claims(), { alg, kid: rsaSigner.kid })),
        unsupported,
      );
    });
  }
  it('#22 alg missing', async () => {
    const verifier = staticVerifier([rsaSigner.jwk]);
    await expectOutcome(verifier.verify(rsaSigner.token(claims(), { kid: rsaSigner.kid })), unsupported);
  });
  it('#22 control: the exact "RS256" verifies', async () => {
    const verifier = staticVerifier([rsaSigner.jwk]);
    await expect(verifier.verify(rsaSigner.token(claims()))).resolves.toMatchObject({ sub: 'alice' });
  });
});

/** Every encoding of a public key an HMAC-confusion attacker might MAC with (#23). */
function publicKeyEncodings(signer: RawSigner): [string, string | Buffer][] {
  const key: KeyObject = signer.publicKey;
  const spkiPem = key.export({ format: 'pem', type: 'spki' }) as string;
  const encodings: [string, string | Buffer][] = [
    ['SPKI PEM', spkiPem],
    ['SPKI PEM without the final newline', spkiPem.trimEnd()],
    ['SPKI PEM with a leading space', ` ${spkiPem}`],
    ['SPKI PEM with CRLF line ends', spkiPem.replace(/\n/g, '\r\n')],
    ['SPKI DER', key.export({ format: 'der', type: 'spki' })],
    ['JWK JSON text', JSON.stringify(signer.jwk)],
    ['JWK JSON text without kid/alg/use', JSON.stringify(key.export({ format: 'jwk' }))],
    ['JWKS JSON text', JSON.stringify(signer.jwks())],
  ];
  if (key.asymmetricKeyType === 'rsa') {
    encodings.push(
      ['PKCS#1 PEM (BEGIN RSA PUBLIC KEY)', key.export({ format: 'pem', type: 'pkcs1' }) as string],
      ['PKCS#1 DER', key.export({ format: 'der', type: 'pkcs1' })],
      ['raw modulus n', Buffer.from(String(signer.jwk.n), 'base64url')],
    );
  }
  return encodings;
}

describe.each(ENGINES)('C. rows #23-#26 with crypto: %s', (crypto) => {
  describe('#23 algorithm confusion: HS* MAC keyed with the public key', () => {
    const asymmetric = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
    for (const which of ['RSA', 'EC', 'OKP'] as const) {
      it(`#23 every encoding of the ${which} public key, HS256/384/512`, async () => {
        const signer = which === 'RSA' ? rsaSigner : which === 'EC' ? ecSigner : edSigner;
        const verifier = staticVerifier([signer.jwk], { algorithms: asymmetric, crypto });
        for (const [, secret] of publicKeyEncodings(signer)) {
          for (const [alg, hash] of [
            ['HS256', 'sha256'],
            ['HS384', 'sha384'],
            ['HS512', 'sha512'],
          ] as const) {
            const forged = hmacToken(secret, claims(), { alg, kid: signer.kid }, hash);
            await expectOutcome(verifier.verify(forged), unsupported);
          }
        }
      });
    }

    it('#23 CFG: a JWKS verifier can never accept HS*', () => {
      for (const algorithms of [['RS256', 'HS256'], ['HS256'], ['HS512', 'ES256']]) {
        expect(() => staticVerifier([rsaSigner.jwk], { algorithms, crypto })).toThrow(TypeError);
      }
      expect(() =>
        createVerifier({
          issuers: [
            { issuer: 'https://a.example.test/', jwks: rsaSigner.jwks() },
            { issuer: 'https://b.example.test/', secret: 'x'.repeat(32) },
          ],
          audience: AUDIENCE,
          crypto,
        }),
      ).toThrow(/algorithms/);
    });

    it('#23 CFG: a JWKS holding a symmetric (oct) key is refused', () => {
      const oct = { kty: 'oct', k: b64('x'.repeat(32)), alg: 'HS256', kid: 'k' };
      expect(() => staticVerifier([oct], { crypto })).toThrow(/"jwks" option/);
    });
  });

  describe('#24 the key allows one algorithm only', () => {
    it('#24 header PS256, JWK tagged alg RS256 (same RSA key)', async () => {
      const verifier = staticVerifier([rsaSigner.jwk], { algorithms: ['RS256', 'PS256'], crypto });
      const forged = tokenWith('PS256', rsaSigner.privateKey, claims(), { alg: 'PS256', kid: rsaSigner.kid });
      await expectOutcome(verifier.verify(forged), unknownKey);
      await expect(verifier.verify(rsaSigner.token(claims()))).resolves.toMatchObject({ sub: 'alice' });
    });

    it('#24 header RS256, JWK tagged alg PS512', async () => {
      const tagged = { ...rsaSigner.jwk, alg: 'PS512' };
      const verifier = staticVerifier([tagged], { algorithms: ['RS256', 'PS512'], crypto });
      await expectOutcome(verifier.verify(rsaSigner.token(claims())), unknownKey);
      const ps512 = tokenWith('PS512', rsaSigner.privateKey, claims(), { alg: 'PS512', kid: rsaSigner.kid });
      await expect(verifier.verify(ps512)).resolves.toMatchObject({ sub: 'alice' });
    });

    it('#24 a key tagged use "enc" or key_ops without "verify" is never used', async () => {
      const keys = [
        { ...rsaSigner.jwk, use: 'enc' },
        { ...ecSigner.jwk, key_ops: ['encrypt'] },
      ];
      // Alone, such keys make the set unusable: refused at createVerifier (issue 8).
      expect(() => staticVerifier(keys, { algorithms: ['RS256', 'ES256'], crypto })).toThrow(
        /"jwks" option has no key usable .*jwks\.keys\[0\] \(kid "raw-RS256-\d+"\): use "enc" is not "sig".*jwks\.keys\[1\].*key_ops does not include "verify"/,
      );
      const verifier = staticVerifier([...keys, decoy('RS256')], { algorithms: ['RS256', 'ES256'], crypto });
      await expectOutcome(verifier.verify(rsaSigner.token(claims())), unknownKey);
      await expectOutcome(verifier.verify(ecSigner.token(claims())), unknownKey);
    });
  });

  describe('#25 curve and key type mismatch', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384Jwk = { ...p384.publicKey.export({ format: 'jwk' }), kid: 'p384' };

    it('#25 ES256 with a P-384 key (tagged ES256, and untagged)', async () => {
      for (const jwk of [{ ...p384Jwk, alg: 'ES256' }, p384Jwk]) {
        expect(() => staticVerifier([jwk], { algorithms: ['ES256'], crypto })).toThrow(
          /no key usable with the algorithms \[ES256\]: jwks\.keys\[0\] \(kid "p384"\): kty "EC" crv "P-384" fits none/,
        );
        const verifier = staticVerifier([jwk, decoy('ES256')], { algorithms: ['ES256'], crypto });
        const forged = tokenWith('ES256', p384.privateKey, claims(), { alg: 'ES256', kid: 'p384' });
        await expectOutcome(verifier.verify(forged), unknownKey);
      }
    });

    it('#25 ES512 with a P-256 key', async () => {
      const untagged = { ...ecSigner.jwk, alg: undefined };
      expect(() => staticVerifier([untagged], { algorithms: ['ES512'], crypto })).toThrow(TypeError);
      const verifier = staticVerifier([untagged, decoy('ES512')], { algorithms: ['ES512'], crypto });
      const forged = tokenWith('ES512', ecSigner.privateKey, claims(), { alg: 'ES512', kid: ecSigner.kid });
      await expectOutcome(verifier.verify(forged), unknownKey);
    });

    it('#25 an RSA key tagged alg ES256', async () => {
      expect(() =>
        staticVerifier([{ ...rsaSigner.jwk, alg: 'ES256' }], { algorithms: ['ES256'], crypto }),
      ).toThrow(/kty "RSA" fits none of the algorithms \[ES256\]/);
      const verifier = staticVerifier([{ ...rsaSigner.jwk, alg: 'ES256' }, decoy('ES256')], {
        algorithms: ['ES256'],
        crypto,
      });
      const forged = tokenWith('ES256', ecSigner.privateKey, claims(), { alg: 'ES256', kid: rsaSigner.kid });
      await expectOutcome(verifier.verify(forged), unknownKey);
    });

    it('#25 an Ed25519 key cannot serve ES256, nor an EC key EdDSA', async () => {
      const verifier = staticVerifier(
        [
          { ...edSigner.jwk, alg: undefined, kid: 'k' },
          { ...ecSigner.jwk, alg: undefined, kid: 'k2' },
        ],
        { algorithms: ['ES256', 'EdDSA'], crypto },
      );
      await expectOutcome(
        verifier.verify(tokenWith('ES256', ecSigner.privateKey, claims(), { alg: 'ES256', kid: 'k' })),
        unknownKey,
      );
      await expectOutcome(
        verifier.verify(tokenWith('EdDSA', edSigner.privateKey, claims(), { alg: 'EdDSA', kid: 'k2' })),
        unknownKey,
      );
    });
  });

  describe('#26 valid but unconfigured algorithms', () => {
    for (const alg of [
      'RS1',
      'ES256K',
      'ML-DSA-44',
      'EdDSA',
      'Ed25519',
      'PS256',
      'RS384',
      'HS256',
      'ES256',
    ]) {
      it(`#26 ${alg} when only RS256 is configured`, async () => {
        const verifier = staticVerifier([rsaSigner.jwk, edSigner.jwk, ecSigner.jwk], { crypto });
        // The signature is a real RS256 one: only the header's alg differs.
        const forged = tokenWith('RS256', rsaSigner.privateKey, claims(), { alg, kid: rsaSigner.kid });
        await expectOutcome(verifier.verify(forged), unsupported);
      });
    }
    it('#26 EdDSA signed by the real Ed25519 key, EdDSA not enabled', async () => {
      expect(() => staticVerifier([edSigner.jwk], { algorithms: ['RS256'], crypto })).toThrow(
        /jwks\.keys\[0\] \(kid "raw-EdDSA-\d+"\): alg EdDSA is not in the configured algorithms \[RS256\]/,
      );
      const verifier = staticVerifier([edSigner.jwk, decoy('RS256')], { algorithms: ['RS256'], crypto });
      await expectOutcome(verifier.verify(edSigner.token(claims())), unsupported);
    });
    it('#26 CFG: none, RS1, ES256K and lower-case names are not algorithms', () => {
      for (const alg of ['none', 'RS1', 'ES256K', 'rs256', 'ML-DSA-44']) {
        expect(() => staticVerifier([rsaSigner.jwk], { algorithms: [alg], crypto })).toThrow(
          /"algorithms" option/,
        );
      }
    });
  });
});

describe.each(ENGINES)('C. #27 HMAC secrets with crypto: %s', (crypto) => {
  it('#27 CFG: empty, short and human secrets are refused at createVerifier', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE, crypto };
    for (const secret of ['', 'secret', 'password', 'x'.repeat(31), new Uint8Array(0), new Uint8Array(31)]) {
      expect(() => createVerifier({ ...base, secret })).toThrow(/"secret" option/);
    }
    // RFC 7518 3.2: at least the hash output size.
    expect(() => createVerifier({ ...base, secret: 'x'.repeat(48), algorithms: ['HS512'] })).toThrow(
      /"secret" option/,
    );
    expect(() => createVerifier({ ...base, secret: 'x'.repeat(32) })).not.toThrow();
  });

  it('#27 a token MAC-ed with a dictionary secret does not verify against the real one', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS256' });
    const verifier = createVerifier({ ...issuer.verifierOptions, crypto });
    for (const guess of ['', 'secret', 'password', 'your-256-bit-secret', '0'.repeat(32)]) {
      const forged = hmacToken(guess, claims(), { alg: 'HS256', kid: 'test-key-1' });
      await expectOutcome(verifier.verify(forged), invalidToken('invalid_signature'));
    }
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ sub: 'test-user' });
  });
});

describe.each(ENGINES)('C. #28 weak RSA keys in the JWKS, crypto: %s', (crypto) => {
  it('#28 a 1024-bit RSA key is unusable: 401 and a warning', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256', use: 'sig' };
    const logger = recordingLogger();
    const verifier = staticVerifier([jwk], { crypto, logger });
    const signed = tokenWith('RS256', weak.privateKey, claims(), { alg: 'RS256', kid: 'weak' });
    await expectOutcome(verifier.verify(signed), unknownKey);
    expect(logger.calls).toContainEqual({
      message: expect.stringMatching(/unusable/),
      details: expect.objectContaining({ problem: 'weak_rsa_modulus' }),
    });
  });

  it('#28 e = 1: the "signature" equal to the encoded digest (a trivial forgery) is refused', async () => {
    // With e = 1, s^e mod n = s: the padded digest itself passes a naive check.
    const n = String(rsaSigner.jwk.n);
    const jwk = { kty: 'RSA', n, e: 'AQ', kid: 'e1', alg: 'RS256', use: 'sig' };
    const logger = recordingLogger();
    const verifier = staticVerifier([jwk], { crypto, logger });
    const input = `${b64(JSON.stringify({ alg: 'RS256', kid: 'e1' }))}.${b64(JSON.stringify(claims()))}`;
    const digest = createHash('sha256').update(input).digest();
    const forged = pkcs1Encoded(Buffer.concat([SHA256_DIGEST_INFO, digest]), 256);
    await expectOutcome(verifier.verify(`${input}.${b64(forged)}`), unknownKey);
    expect(logger.calls.length).toBeGreaterThan(0);
    expect(JSON.stringify(logger.calls.map((call) => call.message))).toMatch(
      /unusable|could not be imported/,
    );
  });

  it('#28 control: the 2048-bit key with e = 65537 is usable and logs nothing', async () => {
    const logger = recordingLogger();
    const verifier = staticVerifier([rsaSigner.jwk], { crypto, logger });
    await expect(verifier.verify(rsaSigner.token(claims()))).resolves.toMatchObject({ sub: 'alice' });
    expect(logger.calls).toEqual([]);
    // The public key round-trips, so the e = 1 row above differs from it in e only.
    expect(
      createPublicKey({ key: rsaSigner.jwk as never, format: 'jwk' }).asymmetricKeyDetails?.modulusLength,
    ).toBe(2048);
  });
});
