/**
 * Static keys as issuers hand them out: a PEM SPKI public key (`publicKey`) or a single JWK
 * (`jwk`), bound to their algorithms at createVerifier. Real keys (jose), real tokens; every bad
 * input is a TypeError naming the option.
 */
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Algorithm, AuthError, createVerifier, type VerifierOptions } from '../../src/core/index.js';

const ISSUER = 'https://clerk.example.test';
const AUDIENCE = 'https://api.example.test';

interface Pair {
  readonly alg: Algorithm;
  readonly privateKey: CryptoKey;
  readonly pem: string;
  readonly jwk: JWK;
  readonly privatePem: string;
}

const pairs = {} as Record<'RS256' | 'ES256' | 'EdDSA' | 'PS256', Pair>;

async function pair(alg: Algorithm): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return {
    alg,
    privateKey,
    pem: await exportSPKI(publicKey),
    jwk: await exportJWK(publicKey),
    privatePem: await exportPKCS8(privateKey),
  };
}

function sign(key: Pair, claims: Record<string, unknown> = {}, kid?: string): Promise<string> {
  return new SignJWT({ sub: 'user-1', ...claims })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(kid !== undefined && { kid }) })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

beforeAll(async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA', 'PS256'] as const) pairs[alg] = await pair(alg);
});

const base = { issuer: ISSUER, audience: AUDIENCE } as const;

describe('publicKey: a PEM SPKI key verifies its algorithm', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: a token signed by the key verifies, also when the token names a kid (Clerk)`, async () => {
      const key = pairs[alg];
      const verifier = createVerifier({ ...base, publicKey: key.pem, algorithms: [alg] });
      await expect(verifier.verify(await sign(key))).resolves.toMatchObject({ sub: 'user-1' });
      await expect(verifier.verify(await sign(key, {}, 'ins_2abc'))).resolves.toMatchObject({
        sub: 'user-1',
      });
    });

    it(`${alg}: with the webcrypto engine too`, async () => {
      const key = pairs[alg];
      const verifier = createVerifier({
        ...base,
        publicKey: key.pem,
        algorithms: [alg],
        crypto: 'webcrypto',
      });
      await expect(verifier.verify(await sign(key))).resolves.toMatchObject({ sub: 'user-1' });
    });
  }

  it('a token signed by another key of the same type is invalid_signature', async () => {
    const other = await pair('ES256');
    const verifier = createVerifier({ ...base, publicKey: pairs.ES256.pem, algorithms: ['ES256'] });
    const error = await verifier.verify(await sign(other)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).reason).toBe('invalid_signature');
  });

  it('a token whose alg is not bound to the key is unsupported_algorithm, before any key use (#2)', async () => {
    const verifier = createVerifier({ ...base, publicKey: pairs.RS256.pem, algorithms: ['RS256'] });
    const error = await verifier.verify(await sign(pairs.PS256)).catch((e: unknown) => e);
    expect((error as AuthError).reason).toBe('unsupported_algorithm');
  });

  it('RS256 and PS256 both bound to one RSA key', async () => {
    const rsa = pairs.RS256;
    const verifier = createVerifier({ ...base, publicKey: rsa.pem, algorithms: ['RS256', 'PS256'] });
    const ps = { ...rsa, alg: 'PS256' as const, privateKey: await importPKCS8(rsa.privatePem, 'PS256') };
    await expect(verifier.verify(await sign(ps))).resolves.toMatchObject({ sub: 'user-1' });
    await expect(verifier.verify(await sign(rsa))).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('status() reports the key as static', async () => {
    const verifier = createVerifier({ ...base, publicKey: pairs.ES256.pem, algorithms: ['ES256'] });
    const status = await verifier.status();
    expect(status.ready).toBe(true);
    expect(status.issuers[0]).toMatchObject({ issuer: ISSUER, source: 'static', hasKeys: true });
  });
});

describe('jwk: a single public JWK', () => {
  it('its alg binds the algorithm: no "algorithms" needed', async () => {
    const key = pairs.ES256;
    const verifier = createVerifier({ ...base, jwk: { ...key.jwk, alg: 'ES256' } });
    await expect(verifier.verify(await sign(key))).resolves.toMatchObject({ sub: 'user-1' });
    // The default RS256 is not accepted: the key's alg replaced it.
    const error = await verifier.verify(await sign(pairs.RS256)).catch((e: unknown) => e);
    expect((error as AuthError).reason).toBe('unsupported_algorithm');
  });

  it('without alg, "algorithms" binds it', async () => {
    const key = pairs.EdDSA;
    const verifier = createVerifier({ ...base, jwk: key.jwk, algorithms: ['EdDSA'] });
    await expect(verifier.verify(await sign(key))).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('a JWK with a kid refuses a token naming another kid (unknown_key), accepts its own and none', async () => {
    const key = pairs.RS256;
    const verifier = createVerifier({ ...base, jwk: { ...key.jwk, alg: 'RS256', kid: 'k1' } });
    await expect(verifier.verify(await sign(key, {}, 'k1'))).resolves.toMatchObject({ sub: 'user-1' });
    await expect(verifier.verify(await sign(key))).resolves.toMatchObject({ sub: 'user-1' });
    const error = await verifier.verify(await sign(key, {}, 'k2')).catch((e: unknown) => e);
    expect((error as AuthError).reason).toBe('unknown_key');
  });
});

describe('static keys per issuer in "issuers"', () => {
  it('a PEM issuer, a JWK issuer: each token verifies only with its own issuer key', async () => {
    const verifier = createVerifier({
      audience: AUDIENCE,
      algorithms: ['RS256'],
      issuers: [
        { issuer: 'https://a.example.test', publicKey: pairs.RS256.pem },
        { issuer: 'https://b.example.test', jwk: { ...pairs.ES256.jwk, alg: 'ES256' } },
      ],
    });
    const tokenA = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://a.example.test')
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(pairs.RS256.privateKey);
    const tokenB = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://b.example.test')
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(pairs.ES256.privateKey);
    await expect(verifier.verify(tokenA)).resolves.toMatchObject({ iss: 'https://a.example.test' });
    await expect(verifier.verify(tokenB)).resolves.toMatchObject({ iss: 'https://b.example.test' });
    // B's iss on a token signed with A's algorithm: B is bound to ES256 only.
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://b.example.test')
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(pairs.RS256.privateKey);
    expect(((await verifier.verify(forged).catch((e: unknown) => e)) as AuthError).reason).toBe(
      'unsupported_algorithm',
    );
  });
});

describe('bad static keys are TypeErrors naming the option', () => {
  const rows: readonly [string, () => VerifierOptions, RegExp][] = [
    [
      'an RSA PEM with algorithms ES256',
      () => ({ ...base, publicKey: pairs.RS256.pem, algorithms: ['ES256'] }),
      /^"algorithms" option must be algorithms of the key in "publicKey" \(a RSA key cannot verify ES256\)$/,
    ],
    [
      'an EC P-256 PEM with algorithms ES384 (wrong curve)',
      () => ({ ...base, publicKey: pairs.ES256.pem, algorithms: ['ES384'] }),
      /^"algorithms" option must be algorithms of the key in "publicKey" \(a EC P-256 key cannot verify ES384\)/,
    ],
    [
      'an Ed25519 PEM with RS256',
      () => ({ ...base, publicKey: pairs.EdDSA.pem, algorithms: ['RS256'] }),
      /"algorithms" option must be algorithms of the key in "publicKey" \(a OKP Ed25519 key cannot verify RS256\)/,
    ],
    [
      'a PEM without algorithms',
      () => ({ ...base, publicKey: pairs.RS256.pem }),
      /^"algorithms" option is required with "publicKey"/,
    ],
    [
      'a private key PEM (PKCS#8)',
      () => ({ ...base, publicKey: pairs.RS256.privatePem, algorithms: ['RS256'] }),
      /^"publicKey" option must be a public key, not a private key/,
    ],
    [
      'a PKCS#1 RSA private key PEM',
      () => ({
        ...base,
        publicKey: '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----',
        algorithms: ['RS256'],
      }),
      /^"publicKey" option must be a public key, not a private key/,
    ],
    [
      'a certificate',
      () => ({
        ...base,
        publicKey: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
        algorithms: ['RS256'],
      }),
      /^"publicKey" option must be a PEM SPKI public key/,
    ],
    [
      'garbage inside PEM armour',
      () => ({
        ...base,
        publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
        algorithms: ['RS256'],
      }),
      /^"publicKey" option is not a readable PEM public key/,
    ],
    [
      'a number',
      () => ({ ...base, publicKey: 42 as unknown as string, algorithms: ['RS256'] }),
      /^"publicKey" option must be a PEM public key string/,
    ],
    [
      'a JWK with private members',
      () => ({ ...base, jwk: { ...pairs.EdDSA.jwk, d: 'AAAA', alg: 'EdDSA' } }),
      /^"jwk" option must be a public key: it has private or secret members/,
    ],
    [
      'a symmetric JWK',
      () => ({ ...base, jwk: { kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' } }),
      /^"jwk" option must be a public key: it has private or secret members/,
    ],
    [
      'a JWK whose alg contradicts "algorithms"',
      () => ({ ...base, jwk: { ...pairs.ES256.jwk, alg: 'ES256' }, algorithms: ['RS256'] }),
      /^"algorithms" option must be \["ES256"\], the "alg" of "jwk"$/,
    ],
    [
      'a JWK whose alg does not fit its key type',
      () => ({ ...base, jwk: { ...pairs.ES256.jwk, alg: 'RS256' } }),
      /^"algorithms" option must be algorithms of the key in "jwk" \(a EC P-256 key cannot verify RS256\)$/,
    ],
    [
      'a JWK with alg "none"',
      () => ({ ...base, jwk: { ...pairs.ES256.jwk, alg: 'none' } }),
      /^"jwk" option must be a key for an asymmetric JWS algorithm/,
    ],
    [
      'a JWK without alg and without algorithms',
      () => ({ ...base, jwk: pairs.ES256.jwk }),
      /^"algorithms" option is required with "jwk"/,
    ],
    [
      'an encryption JWK',
      () => ({ ...base, jwk: { ...pairs.RS256.jwk, alg: 'RS256', use: 'enc' } }),
      /^"jwk" option must be a signature key/,
    ],
    [
      'a JWK with broken members',
      () => ({ ...base, jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', alg: 'ES256' } }),
      /^"jwk" option is not a usable public JWK/,
    ],
    [
      'a JWK that is an array',
      () => ({ ...base, jwk: [] as unknown as JWK }),
      /^"jwk" option must be a public JSON Web Key object$/,
    ],
    [
      'publicKey and jwk together',
      () => ({ ...base, publicKey: pairs.ES256.pem, jwk: pairs.ES256.jwk, algorithms: ['ES256'] }) as never,
      /^"publicKey" and "jwk" options are exclusive$/,
    ],
    [
      'jwks and publicKey together',
      () => ({ ...base, jwks: { keys: [] }, publicKey: pairs.ES256.pem, algorithms: ['ES256'] }) as never,
      /^"jwks" and "publicKey" options are exclusive$/,
    ],
    [
      'publicKey beside "issuers"',
      () =>
        ({
          audience: AUDIENCE,
          issuers: [{ issuer: ISSUER, jwks: { keys: [] } }],
          publicKey: pairs.ES256.pem,
        }) as never,
      /^"publicKey" option belongs inside each entry of "issuers"$/,
    ],
    [
      'publicKey with "domain"',
      () => ({ domain: 'tenant.example.test', audience: AUDIENCE, jwk: pairs.ES256.jwk }) as never,
      /^"jwk" option cannot be combined with "domain"$/,
    ],
    [
      'an RSA PEM with ES256 inside "issuers"',
      () => ({
        audience: AUDIENCE,
        issuers: [{ issuer: ISSUER, publicKey: pairs.RS256.pem, algorithms: ['ES256'] }],
      }),
      /^"issuers\[0\]\.algorithms" option must be algorithms of the key in "issuers\[0\]\.publicKey"/,
    ],
    [
      'a PEM inside "issuers" without algorithms (its own or the verifier-wide default)',
      () => ({ audience: AUDIENCE, issuers: [{ issuer: ISSUER, publicKey: pairs.ES256.pem }] }),
      /^"issuers\[0\]\.algorithms" option is required with "issuers\[0\]\.publicKey"/,
    ],
    [
      'a PEM inside "issuers" whose verifier-wide algorithms do not fit it',
      () => ({
        audience: AUDIENCE,
        algorithms: ['RS256'],
        issuers: [{ issuer: ISSUER, publicKey: pairs.ES256.pem }],
      }),
      /^"algorithms" option must be algorithms of the key in "issuers\[0\]\.publicKey" \(a EC P-256 key cannot verify RS256\)$/,
    ],
    [
      'a private JWK inside "issuers"',
      () => ({
        audience: AUDIENCE,
        issuers: [{ issuer: ISSUER, jwk: { ...pairs.ES256.jwk, d: 'AA', alg: 'ES256' } }],
      }),
      /^"issuers\[0\]\.jwk" option must be a public key/,
    ],
  ];
  for (const [name, options, message] of rows) {
    it(name, () => {
      expect(() => createVerifier(options())).toThrowError(TypeError);
      expect(() => createVerifier(options())).toThrowError(message);
    });
  }

  it('a 1024-bit RSA PEM (RFC 7518 3.3)', () => {
    // jose refuses to generate such a key: node:crypto makes one.
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    expect(() => createVerifier({ ...base, publicKey: pem, algorithms: ['RS256'] })).toThrowError(
      /^"publicKey" option must be an RSA key of at least 2048 bits \(got 1024\)$/,
    );
  });
});
