/**
 * Issue 8, fail closed on key-set mistakes: a static `jwks` whose keys can never match the
 * allow-list (item 8) or that holds a small-order Ed25519 key (item 7) is a TypeError naming the
 * key; a fetched set ignores small-order keys (logged); setup mistakes that never heal are 503s
 * logged once per issuer and cause, even without a logger, and `warmup()` rejects with the detail.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AuthError, createVerifier, isAuthError } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js';

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

// The identity point (y = 1): with it, R = identity and S = 0 "verify" for every message.
const SMALL_ORDER_JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: b64(Uint8Array.from([1, ...new Array<number>(31).fill(0)])),
  kid: 'small',
  alg: 'EdDSA',
  use: 'sig',
};

function edJwk(kid: string): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('ed25519');
  return { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
}

function forgedEdToken(kid: string, issuer: string, audience: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'EdDSA', kid, typ: 'JWT' }));
  const payload = b64(
    JSON.stringify({ iss: issuer, aud: audience, sub: 'mallory', iat: now, exp: now + 300 }),
  );
  const signature = b64(Uint8Array.from([1, ...new Array<number>(63).fill(0)]));
  return `${header}.${payload}.${signature}`;
}

async function refusal(action: Promise<unknown>): Promise<AuthError> {
  try {
    await action;
  } catch (error) {
    if (isAuthError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const ISSUER = 'https://issuer.example.test/';
const AUDIENCE = 'https://api.example.test';

describe('item 8: a static jwks whose keys can never match is refused at createVerifier', () => {
  const rsa = () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  };
  const cases: readonly [string, Record<string, unknown>, readonly string[], RegExp][] = [
    [
      'JWK alg PS256 vs algorithms [PS384]',
      { ...rsa(), kid: 'ps', alg: 'PS256' },
      ['PS384'],
      /alg PS256 is not in the configured algorithms \[PS384\]/,
    ],
    ['use "enc"', { ...rsa(), kid: 'enc', use: 'enc' }, ['RS256'], /use "enc" is not "sig"/],
    [
      'an unregistered alg',
      { ...rsa(), kid: 'rs1', alg: 'RS1' },
      ['RS256'],
      /alg "RS1" is not a JWS algorithm scopegate accepts/,
    ],
    [
      'an EC key for RS256',
      { ...edJwk('x'), kid: 'ed', alg: undefined },
      ['RS256'],
      /kty "OKP" crv "Ed25519" fits none of the algorithms \[RS256\]/,
    ],
  ];
  for (const [name, jwk, algorithms, message] of cases) {
    it(`#24 CFG: ${name}`, () => {
      const create = () =>
        createVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: algorithms as never,
          jwks: { keys: [jwk] },
        });
      expect(create).toThrow(TypeError);
      expect(create).toThrow(/"jwks" option has no key usable/);
      expect(create).toThrow(new RegExp(`jwks\\.keys\\[0\\] \\(kid "${jwk.kid}"\\)`));
      expect(create).toThrow(message);
    });
  }

  it('#24 a set with one usable key and one that never matches is accepted, the other key logged', () => {
    const warnings: string[] = [];
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: {
        keys: [
          { ...rsa(), kid: 'enc', use: 'enc' },
          { ...rsa(), kid: 'ok', alg: 'RS256' },
        ],
      },
      logger: { warn: (message) => warnings.push(message) },
    });
    expect(verifier).toBeDefined();
    expect(warnings).toEqual([
      'scopegate: a key is never used: jwks.keys[0] (kid "enc"): use "enc" is not "sig"',
    ]);
  });

  it('issuers[i].jwks names the issuer entry', () => {
    expect(() =>
      createVerifier({
        issuers: [
          { issuer: ISSUER, jwks: { keys: [{ ...rsa(), kid: 'ps', alg: 'PS256' }] }, algorithms: ['PS384'] },
        ],
        audience: AUDIENCE,
      }),
    ).toThrow(/"issuers\[0\]\.jwks" option has no key usable .*issuers\[0\]\.jwks\.keys\[0\] \(kid "ps"\)/);
  });
});

describe('item 7: small-order Ed25519 keys are refused in key sets', () => {
  it('#28 a static jwks holding one is a TypeError naming the key, even beside a good key', () => {
    const create = () =>
      createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['EdDSA'],
        jwks: { keys: [edJwk('good'), SMALL_ORDER_JWK] },
      });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(
      '"jwks" option: jwks.keys[1] (kid "small"): x is a small-order Ed25519 point (anyone can forge its signatures)',
    );
  });

  describe('a fetched set', () => {
    let server: JwksServer;
    beforeAll(async () => {
      server = await startJwksServer({ jwks: () => ({ keys: [edJwk('good'), SMALL_ORDER_JWK] }) });
    });
    afterAll(() => server.close());

    it('#28 ignores the small-order key (logged): the R = O, S = 0 forgery is unknown_key', async () => {
      const warnings: { message: string; details: unknown }[] = [];
      const verifier = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['EdDSA'],
        jwksUri: server.jwksUri,
        allowInsecureLoopback: true,
        logger: { warn: (message, details) => warnings.push({ message, details }) },
      });
      const error = await refusal(verifier.verify(forgedEdToken('small', ISSUER, AUDIENCE)));
      expect(error.reason).toBe('unknown_key');
      expect(error.detail).toContain('key: no usable EdDSA key with kid "small"');
      expect(warnings).toContainEqual({
        message: 'scopegate: a key of the set is refused: a small-order Ed25519 point',
        details: { kids: ['small'] },
      });
      // Without a kid the forgery meets only the good key, and fails its signature.
      const noKid = forgedEdToken('small', ISSUER, AUDIENCE).replace(
        /^[^.]+/,
        b64(JSON.stringify({ alg: 'EdDSA' })),
      );
      expect((await refusal(verifier.verify(noKid))).reason).toBe('invalid_signature');
      await verifier.close();
    });
  });
});

describe('setup mistakes that never heal: 503, logged once per issuer and cause, warmup rejects', () => {
  let issuer: TestIssuer;
  let esIssuer: TestIssuer;
  let server: JwksServer;
  let metadataIssuer: string | undefined;
  beforeAll(async () => {
    issuer = await createTestIssuer({ kid: 'setup' });
    esIssuer = await createTestIssuer({ kid: 'es', algorithm: 'ES256' });
    server = await startJwksServer({
      jwks: () => issuer.jwks(),
      metadata: 'oidc',
      metadataOverrides: () => (metadataIssuer === undefined ? {} : { issuer: metadataIssuer }),
    });
  });
  afterAll(() => server.close());
  afterEach(async () => {
    vi.restoreAllMocks();
    metadataIssuer = undefined;
    await server.setBehaviour('normal');
  });

  const base = () =>
    ({ audience: issuer.audience, allowInsecureLoopback: true, failureBackoffMs: 1 }) as const;

  async function threeRefusals(
    verifier: ReturnType<typeof createVerifier>,
    token: string,
  ): Promise<AuthError[]> {
    const errors: AuthError[] = [];
    for (let i = 0; i < 3; i++) {
      errors.push(await refusal(verifier.verify(token)));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return errors;
  }

  const mistakes: readonly [string, () => Promise<Record<string, unknown>>, RegExp][] = [
    [
      'a discovery issuer mismatch',
      async () => {
        metadataIssuer = 'https://elsewhere.example.test/';
        return { issuer: server.issuer };
      },
      /the metadata "issuer" does not match the configured issuer: expected "http:\/\/127\.0\.0\.1:\d+\/?", the metadata says "https:\/\/elsewhere\.example\.test\/"/,
    ],
    [
      'a JWKS URL answering 404',
      async () => ({ issuer: server.issuer, jwksUri: `${server.origin}/nowhere.json` }),
      /expected 200 OK, got 404/,
    ],
    [
      'a JWKS body that is not JSON',
      async () => {
        await server.setBehaviour('garbage');
        return { issuer: server.issuer, jwksUri: server.jwksUri };
      },
      /response is not JSON/,
    ],
    [
      'a key set with no key usable with the algorithms',
      async () => ({ issuer: server.issuer, jwksUri: server.jwksUri, algorithms: ['ES256'] }),
      /the key set has no key usable with the configured algorithms \[ES256\]/,
    ],
  ];

  for (const [name, setup, cause] of mistakes) {
    it(`#33 ${name}: console.warn once without a logger; 503 with the detail; warmup rejects`, async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const options = await setup();
      const verifier = createVerifier({ ...base(), ...options } as Parameters<typeof createVerifier>[0]);
      const signer = options.algorithms ? esIssuer : issuer;
      const token = await signer.sign({ iss: server.issuer, aud: issuer.audience });
      const errors = await threeRefusals(verifier, token);
      for (const error of errors) {
        expect(error).toMatchObject({ status: 503, reason: 'issuer_unavailable' });
        expect(error.detail).toMatch(cause);
        expect(JSON.stringify(error.toJSON())).not.toMatch(cause);
      }
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(cause);
      expect(String(warn.mock.calls[0]?.[0])).toContain(`the keys of ${server.issuer}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const warmup = await refusal(verifier.warmup());
      expect(warmup.detail).toMatch(cause);
      expect(warn).toHaveBeenCalledTimes(1);
      await verifier.close();
    });
  }

  it('#33 logger: false silences them; a logger receives them instead of the console', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const token = await issuer.sign({ iss: server.issuer });
    const jwksUri = `${server.origin}/nowhere.json`;
    const silent = createVerifier({ ...base(), issuer: server.issuer, jwksUri, logger: false });
    await threeRefusals(silent, token);
    expect(warn).not.toHaveBeenCalled();
    const messages: string[] = [];
    const logged = createVerifier({
      ...base(),
      issuer: server.issuer,
      jwksUri,
      logger: { warn: (message) => messages.push(message) },
    });
    await threeRefusals(logged, token);
    expect(warn).not.toHaveBeenCalled();
    expect(messages.filter((message) => message.includes('got 404'))).toHaveLength(1);
    await silent.close();
    await logged.close();
  });

  it('CFG: logger must be an object with warn, or false', () => {
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, logger: true as never })).toThrow(
      '"logger" option must be an object with a warn(message, details) method, or false',
    );
  });
});
