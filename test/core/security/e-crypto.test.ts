/**
 * SECURITY.md section E: signature cryptography (#40-#47), on both engines.
 */
import { privateEncrypt, constants as rsa, sign as signBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Algorithm, createVerifier, type Verifier } from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import {
  AUDIENCE,
  b64,
  CHALLENGE_INVALID_TOKEN,
  claims,
  createRawSigner,
  ENGINES,
  expectOutcome,
  flipBit,
  ISSUER,
  invalidToken,
  pkcs1Encoded,
  type RawSigner,
  SHA256_DIGEST_INFO,
  withSegment,
} from './support.js';

const invalidSignature = invalidToken('invalid_signature');
const ALGORITHMS: readonly Algorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'];

/** P-256 group order (FIPS 186-4 D.1.2.3). */
const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
const scalar = (value: Buffer | number) =>
  typeof value === 'number' ? Buffer.concat([Buffer.alloc(31), Buffer.from([value])]) : value;
const minusOne = (value: Buffer) => {
  const out = Buffer.from(value);
  out[31] = (out[31] as number) - 1;
  return out;
};

describe.each(ENGINES)('E. signature cryptography with crypto: %s', (crypto) => {
  const issuers = new Map<Algorithm, TestIssuer>();
  const verifiers = new Map<Algorithm, Verifier>();
  let ec: RawSigner;
  let rs: RawSigner;
  let ps: RawSigner;
  let rawVerifier: Verifier;

  beforeAll(async () => {
    for (const algorithm of ALGORITHMS) {
      const issuer = await createTestIssuer({ algorithm });
      issuers.set(algorithm, issuer);
      verifiers.set(algorithm, createVerifier({ ...issuer.verifierOptions, crypto }));
    }
    ec = createRawSigner('ES256');
    rs = createRawSigner('RS256');
    ps = createRawSigner('PS256');
    rawVerifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256', 'PS256', 'ES256'],
      jwks: { keys: [ec.jwk, rs.jwk, ps.jwk] },
      crypto,
    });
  });

  describe('#40 one bit flipped', () => {
    for (const algorithm of ALGORITHMS) {
      it(`#40 ${algorithm}: header, payload and signature`, async () => {
        const issuer = issuers.get(algorithm) as TestIssuer;
        const verifier = verifiers.get(algorithm) as Verifier;
        const token = await issuer.sign();
        await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'test-user' });
        const header = Buffer.from(token.split('.')[0] as string, 'base64url').toString();
        const payload = Buffer.from(token.split('.')[1] as string, 'base64url').toString();
        // "JWT" -> "JWU" and "test-user" -> "uest-user": still valid JSON, so only the signature fails.
        await expectOutcome(
          verifier.verify(flipBit(token, 0, header.indexOf('"JWT"') + 3)),
          invalidSignature,
        );
        await expectOutcome(
          verifier.verify(flipBit(token, 1, payload.indexOf('test-user'))),
          invalidSignature,
        );
        for (const byte of [0, 10, 31]) {
          for (const bit of [0, 7]) {
            await expectOutcome(verifier.verify(flipBit(token, 2, byte, bit)), invalidSignature);
          }
        }
      });
    }
  });

  describe('#41 psychic signatures: ES256 with r, s in {0, 1, n-1, n}', () => {
    const values: readonly [string, Buffer][] = [
      ['0', scalar(0)],
      ['1', scalar(1)],
      ['n-1', minusOne(P256_N)],
      ['n', P256_N],
    ];
    for (const [rName, r] of values) {
      for (const [sName, s] of values) {
        it(`#41 r = ${rName}, s = ${sName}`, async () => {
          const token = await (issuers.get('ES256') as TestIssuer).sign({ scope: 'admin' });
          const forged = withSegment(token, 2, b64(Buffer.concat([r, s])));
          await expectOutcome((verifiers.get('ES256') as Verifier).verify(forged), invalidSignature);
        });
      }
    }
  });

  describe('#42 ECDSA signature encodings and lengths', () => {
    const input = () =>
      `${b64(JSON.stringify({ alg: 'ES256', kid: ec.kid }))}.${b64(JSON.stringify(claims()))}`;
    const p1363 = (text: string) =>
      signBytes('sha256', Buffer.from(text), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });

    it('#42 control: the 64-octet R||S signature verifies', async () => {
      const text = input();
      await expect(rawVerifier.verify(`${text}.${b64(p1363(text))}`)).resolves.toMatchObject({
        sub: 'alice',
      });
    });

    it('#42 the same signature DER-encoded', async () => {
      const text = input();
      const der = signBytes('sha256', Buffer.from(text), { key: ec.privateKey, dsaEncoding: 'der' });
      expect(der[0]).toBe(0x30);
      await expectOutcome(rawVerifier.verify(`${text}.${b64(der)}`), invalidSignature);
    });

    const variants: readonly [string, (signature: Buffer) => Buffer][] = [
      ['63 bytes (last byte dropped)', (sig) => sig.subarray(0, 63)],
      ['65 bytes (a trailing zero)', (sig) => Buffer.concat([sig, Buffer.alloc(1)])],
      ['66 bytes (two trailing zeros)', (sig) => Buffer.concat([sig, Buffer.alloc(2)])],
      ['72 bytes (trailing zeros to DER size)', (sig) => Buffer.concat([sig, Buffer.alloc(8)])],
      ['65 bytes (r with a leading zero: integer overflow)', (sig) => Buffer.concat([Buffer.alloc(1), sig])],
      [
        '66 bytes (r and s each with a leading zero)',
        (sig) => Buffer.concat([Buffer.alloc(1), sig.subarray(0, 32), Buffer.alloc(1), sig.subarray(32)]),
      ],
      ['128 bytes (the signature twice)', (sig) => Buffer.concat([sig, sig])],
    ];
    for (const [name, mutate] of variants) {
      it(`#42 ${name}`, async () => {
        const text = input();
        await expectOutcome(rawVerifier.verify(`${text}.${b64(mutate(p1363(text)))}`), invalidSignature);
      });
    }
  });

  describe('#43 RSASSA-PKCS1-v1_5 padding and DigestInfo manipulations', () => {
    /** Raw RSA on a crafted encoded message: what a forger with a padding trick would send. */
    const rawSign = (encoded: Buffer) =>
      privateEncrypt({ key: rs.privateKey, padding: rsa.RSA_NO_PADDING }, encoded);
    const input = () =>
      `${b64(JSON.stringify({ alg: 'RS256', kid: rs.kid }))}.${b64(JSON.stringify(claims()))}`;
    const digestOf = async (text: string) =>
      Buffer.from(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

    it('#43 control: the crafted well-formed encoding verifies (the crafting is right)', async () => {
      const text = input();
      const em = pkcs1Encoded(Buffer.concat([SHA256_DIGEST_INFO, await digestOf(text)]), 256);
      await expect(rawVerifier.verify(`${text}.${b64(rawSign(em))}`)).resolves.toMatchObject({
        sub: 'alice',
      });
    });

    const cases: readonly [string, (digest: Buffer) => Buffer][] = [
      [
        'DigestInfo without the NULL parameter',
        (h) =>
          pkcs1Encoded(Buffer.concat([Buffer.from('302f300b06096086480165030402010420', 'hex'), h]), 256),
      ],
      [
        'DigestInfo with a long-form SEQUENCE length',
        (h) =>
          pkcs1Encoded(
            Buffer.concat([Buffer.from('308131300d060960864801650304020105000420', 'hex'), h]),
            256,
          ),
      ],
      [
        'DigestInfo with an indefinite length (BER)',
        (h) =>
          pkcs1Encoded(
            Buffer.concat([Buffer.from('3080300d060960864801650304020105000420', 'hex'), h, Buffer.alloc(2)]),
            256,
          ),
      ],
      [
        'DigestInfo with the SHA-1 OID',
        (h) => pkcs1Encoded(Buffer.concat([Buffer.from('3031300d06052b0e03021a05000420', 'hex'), h]), 256),
      ],
      [
        'block type 02 instead of 01',
        (h) => {
          const em = pkcs1Encoded(Buffer.concat([SHA256_DIGEST_INFO, h]), 256);
          em[1] = 2;
          return em;
        },
      ],
      [
        'a non-FF padding byte',
        (h) => {
          const em = pkcs1Encoded(Buffer.concat([SHA256_DIGEST_INFO, h]), 256);
          em[20] = 0xfe;
          return em;
        },
      ],
      [
        'short padding with trailing garbage (Bleichenbacher 2006)',
        (h) => {
          const t = Buffer.concat([SHA256_DIGEST_INFO, h]);
          const em = Buffer.alloc(256, 0x41);
          Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]).copy(em, 0);
          t.copy(em, 11);
          return em;
        },
      ],
      ['the digest alone, without DigestInfo', (h) => pkcs1Encoded(h, 256)],
    ];
    for (const [name, encode] of cases) {
      it(`#43 ${name}`, async () => {
        const text = input();
        await expectOutcome(
          rawVerifier.verify(`${text}.${b64(rawSign(encode(await digestOf(text))))}`),
          invalidSignature,
        );
      });
    }
  });

  describe('#44 RSASSA-PSS salt length and hash', () => {
    const input = () =>
      `${b64(JSON.stringify({ alg: 'PS256', kid: ps.kid }))}.${b64(JSON.stringify(claims()))}`;
    const pss = (text: string, hash: string, saltLength: number) =>
      signBytes(hash, Buffer.from(text), {
        key: ps.privateKey,
        padding: rsa.RSA_PKCS1_PSS_PADDING,
        saltLength,
      });

    it('#44 control: SHA-256 with a 32-byte salt verifies', async () => {
      const text = input();
      await expect(rawVerifier.verify(`${text}.${b64(pss(text, 'sha256', 32))}`)).resolves.toMatchObject({
        sub: 'alice',
      });
    });
    for (const [name, hash, salt] of [
      ['salt length 0', 'sha256', 0],
      ['salt length 20', 'sha256', 20],
      ['salt length 64', 'sha256', 64],
      ['salt length 222 (the maximum)', 'sha256', 222],
      ['SHA-384 message hash and MGF1', 'sha384', 32],
      ['SHA-1 message hash and MGF1', 'sha1', 32],
    ] as const) {
      it(`#44 ${name}`, async () => {
        const text = input();
        await expectOutcome(rawVerifier.verify(`${text}.${b64(pss(text, hash, salt))}`), invalidSignature);
      });
    }
  });

  describe('#45 truncated or padded HMAC tags', () => {
    for (const [name, length] of [
      ['16 bytes', 16],
      ['31 bytes', 31],
      ['1 byte', 1],
      ['33 bytes (one extra)', 33],
    ] as const) {
      it(`#45 HS256 tag of ${name}`, async () => {
        const token = await (issuers.get('HS256') as TestIssuer).sign();
        const tag = Buffer.from(token.split('.')[2] as string, 'base64url');
        const altered =
          length <= 32 ? tag.subarray(0, length) : Buffer.concat([tag, Buffer.alloc(length - 32)]);
        await expectOutcome(
          (verifiers.get('HS256') as Verifier).verify(withSegment(token, 2, b64(altered))),
          invalidSignature,
        );
      });
    }
  });

  describe('#47 no oracle between signature and claim failures', () => {
    it('#47 a bad signature is reported as such even when the claims are bad too', async () => {
      const issuer = issuers.get('RS256') as TestIssuer;
      const verifier = verifiers.get('RS256') as Verifier;
      const expired = await issuer.expired({ aud: 'https://other.example.test' });
      await expectOutcome(verifier.verify(expired), invalidToken('invalid_audience'));
      await expectOutcome(verifier.verify(flipBit(expired, 2, 5)), invalidSignature);
    });

    it('#47 bad signature, bad claims and unknown kid look the same with exposeReasons: false', async () => {
      const issuer = issuers.get('RS256') as TestIssuer;
      const quiet = createVerifier({ ...issuer.verifierOptions, crypto, exposeReasons: false });
      const tokens = [
        flipBit(await issuer.sign(), 2, 5),
        await issuer.expired(),
        await issuer.wrongAudience(),
        await issuer.sign({}, { header: { kid: 'unknown-kid' } }),
      ];
      const views = [];
      for (const token of tokens) {
        const error = await expectOutcome(quiet.verify(token), {
          status: 401,
          code: 'UNAUTHORIZED',
          reason: expect.any(String) as never,
          wwwAuthenticate: CHALLENGE_INVALID_TOKEN,
        });
        views.push(JSON.stringify(error.toJSON()));
      }
      expect(new Set(views).size).toBe(1);
      expect(JSON.parse(views[0] as string)).toEqual({
        code: 'UNAUTHORIZED',
        reason: 'invalid_token',
        message: 'The access token is invalid',
      });
    });
  });
});

describe('E. #46 constant-time comparisons (a property of the source)', () => {
  const source = (file: string) =>
    readFileSync(new URL(`../../../src/core/${file}`, import.meta.url), 'utf8');

  it('#46 the node engine compares MACs with timingSafeEqual and signatures with crypto.verify', () => {
    const engine = source('engine.ts');
    expect(engine).toMatch(/crypto\.timingSafeEqual\(mac, signature\)/);
    expect(engine).toMatch(/crypto\.verify\(spec\.hash, data, key\.key, signature\)/);
    expect(engine).toMatch(/subtle\.verify\(/);
  });

  it('#46 no library file compares signatures, MACs or hashes with ===, Buffer.compare or .equals', () => {
    for (const file of ['engine.ts', 'verifier.ts', 'jws.ts', 'token-cache.ts', 'key-ring.ts']) {
      const text = source(file);
      expect(text, file).not.toMatch(/Buffer\.compare|\.equals\(/);
      expect(text, file).not.toMatch(/(mac|signature|digest|hash)\s*[!=]==\s*(mac|signature|digest|hash)/i);
    }
  });
});
