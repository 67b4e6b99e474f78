/**
 * Configuration errors: every invalid option throws a TypeError naming the option, at
 * createVerifier, never per request (SECURITY.md CFG rows, #74). The input is never mutated.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createVerifier, type JsonWebKeySet } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const ISSUER = 'https://issuer.example.test/';
const AUDIENCE = 'https://api.example.test';
const SECRET = 'a'.repeat(32);

interface Fixtures {
  readonly jwks: JsonWebKeySet;
  readonly privateJwks: JsonWebKeySet;
}

let issuer: TestIssuer;
let fixtures: Fixtures;
beforeAll(async () => {
  issuer = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE });
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  fixtures = {
    jwks: issuer.jwks(),
    privateJwks: { keys: [...issuer.jwks().keys, { ...(await exportJWK(privateKey)), kid: 'private' }] },
  };
});

/** Accepts anything: these tests pass what the types forbid, as JavaScript callers can. */
function create(options: Record<string, unknown>): unknown {
  return createVerifier(options as unknown as Parameters<typeof createVerifier>[0]);
}

type Case = readonly [name: string, option: string, options: (f: Fixtures) => Record<string, unknown>];

/** Valid except for what the case changes: static keys, so nothing is fetched. */
const base = (f: Fixtures, extra: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: f.jwks,
  ...extra,
});
const withSecret = (extra: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  secret: SECRET,
  ...extra,
});
const entry = (f: Fixtures, extra: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  jwks: f.jwks,
  ...extra,
});

const INVALID: readonly Case[] = [
  // audience
  ['audience missing', 'audience', (f) => base(f, { audience: undefined })],
  ['audience empty string', 'audience', (f) => base(f, { audience: '' })],
  ['audience empty array', 'audience', (f) => base(f, { audience: [] })],
  ['audience with a number', 'audience', (f) => base(f, { audience: [AUDIENCE, 5] })],
  ['audience as a RegExp', 'audience', (f) => base(f, { audience: /api/ })],
  ['audience as a /g RegExp (#74)', 'audience', (f) => base(f, { audience: /api/g })],
  ['audience in an array of RegExps (#74)', 'audience', (f) => base(f, { audience: [/api/y] })],
  // issuer
  ['issuer empty', 'issuer', (f) => base(f, { issuer: '' })],
  ['issuer a number', 'issuer', (f) => base(f, { issuer: 42 })],
  ['issuer as a /g RegExp (#74)', 'issuer', (f) => base(f, { issuer: /issuer/g })],
  ['issuer array with a RegExp (#74)', 'issuer', (f) => base(f, { issuer: [ISSUER, /x/y] })],
  [
    'issuer http for discovery',
    'issuer',
    () => ({ issuer: 'http://issuer.example.test/', audience: AUDIENCE }),
  ],
  ['issuer not a URL for discovery', 'issuer', () => ({ issuer: 'issuer', audience: AUDIENCE })],
  [
    'issuer URL with credentials',
    'issuer',
    () => ({ issuer: 'https://u:p@idp.example.test/', audience: AUDIENCE }),
  ],
  ['no issuer, domain or issuers', 'issuer', () => ({ audience: AUDIENCE })],
  ['issuer and domain together', 'domain', (f) => base(f, { domain: 'tenant.example.test' })],
  ['issuer and issuers together', 'issuers', (f) => base(f, { issuers: [entry(f)] })],
  // issuers[i].*
  ['issuers empty', 'issuers', () => ({ issuers: [], audience: AUDIENCE })],
  ['issuers not an array', 'issuers', (f) => ({ issuers: entry(f), audience: AUDIENCE })],
  ['issuers entry not an object', 'issuers[0]', () => ({ issuers: ['x'], audience: AUDIENCE })],
  [
    'issuers entry without issuer',
    'issuers[0].issuer',
    (f) => ({ issuers: [{ jwks: f.jwks }], audience: AUDIENCE }),
  ],
  [
    'issuers listed twice',
    'issuers[1].issuer',
    (f) => ({ issuers: [entry(f), entry(f)], audience: AUDIENCE }),
  ],
  [
    'issuers[i].issuer as a RegExp',
    'issuers[0].issuer',
    (f) => ({ issuers: [entry(f, { issuer: /x/g })], audience: AUDIENCE }),
  ],
  [
    'issuers[i].audience invalid',
    'issuers[0].audience',
    (f) => ({ issuers: [entry(f, { audience: /x/g })] }),
  ],
  ['issuers with no audience anywhere', 'audience', (f) => ({ issuers: [entry(f)] })],
  [
    'issuers[i].algorithms invalid',
    'issuers[0].algorithms',
    (f) => ({ issuers: [entry(f, { algorithms: ['none'] })], audience: AUDIENCE }),
  ],
  [
    'issuers[i].jwksUri http',
    'issuers[0].jwksUri',
    () => ({ issuers: [{ issuer: ISSUER, jwksUri: 'http://idp.example.test/jwks' }], audience: AUDIENCE }),
  ],
  [
    'issuers[i].jwks private',
    'issuers[0].jwks',
    (f) => ({ issuers: [entry(f, { jwks: f.privateJwks })], audience: AUDIENCE }),
  ],
  [
    'issuers[i].secret short',
    'issuers[0].secret',
    () => ({ issuers: [{ issuer: ISSUER, secret: 'short', algorithms: ['HS256'] }], audience: AUDIENCE }),
  ],
  [
    'issuers[i] two key sources',
    'issuers[0].jwksUri',
    (f) => ({ issuers: [entry(f, { jwksUri: 'https://idp.example.test/jwks' })], audience: AUDIENCE }),
  ],
  [
    'issuers[i] discovery over http',
    'issuers[0].issuer',
    () => ({ issuers: [{ issuer: 'http://idp.example.test/' }], audience: AUDIENCE }),
  ],
  [
    'jwksUri beside issuers',
    'jwksUri',
    (f) => ({ issuers: [entry(f)], audience: AUDIENCE, jwksUri: 'https://idp.example.test/jwks' }),
  ],
  ['jwks beside issuers', 'jwks', (f) => ({ issuers: [entry(f)], audience: AUDIENCE, jwks: f.jwks })],
  ['secret beside issuers', 'secret', (f) => ({ issuers: [entry(f)], audience: AUDIENCE, secret: SECRET })],
  [
    'issuers mixing symmetric and asymmetric',
    'algorithms',
    (f) => ({
      issuers: [entry(f), { issuer: 'https://hs.example.test/', secret: SECRET, algorithms: ['HS256'] }],
      audience: AUDIENCE,
    }),
  ],
  // domain
  ['domain empty', 'domain', () => ({ domain: '', audience: AUDIENCE })],
  ['domain a number', 'domain', () => ({ domain: 7, audience: AUDIENCE })],
  ['domain with a path', 'domain', () => ({ domain: 'tenant.example.test/x', audience: AUDIENCE })],
  ['domain with credentials', 'domain', () => ({ domain: 'user@tenant.example.test', audience: AUDIENCE })],
  ['domain with http scheme', 'domain', () => ({ domain: 'http://tenant.example.test', audience: AUDIENCE })],
  ['domain with a query', 'domain', () => ({ domain: 'tenant.example.test?x=1', audience: AUDIENCE })],
  [
    'domain with jwksUri',
    'jwksUri',
    () => ({ domain: 'tenant.example.test', audience: AUDIENCE, jwksUri: 'https://x.example.test/jwks' }),
  ],
  ['domain with jwks', 'jwks', (f) => ({ domain: 'tenant.example.test', audience: AUDIENCE, jwks: f.jwks })],
  [
    'domain with secret',
    'secret',
    () => ({ domain: 'tenant.example.test', audience: AUDIENCE, secret: SECRET }),
  ],
  [
    'domain with HS algorithms',
    'algorithms',
    () => ({ domain: 'tenant.example.test', audience: AUDIENCE, algorithms: ['HS256'] }),
  ],
  // key sources
  [
    'jwksUri http off loopback',
    'jwksUri',
    () => ({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://idp.example.test/jwks' }),
  ],
  [
    'jwksUri http loopback without allowInsecureLoopback',
    'jwksUri',
    () => ({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:1/jwks' }),
  ],
  ['jwksUri not a URL', 'jwksUri', () => ({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'jwks.json' })],
  ['jwksUri a number', 'jwksUri', () => ({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 443 })],
  [
    'jwksUri file:',
    'jwksUri',
    () => ({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'file:///etc/jwks.json' }),
  ],
  ['jwks with private keys', 'jwks', (f) => base(f, { jwks: f.privateJwks })],
  ['jwks with a symmetric key', 'jwks', (f) => base(f, { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })],
  ['jwks not a set', 'jwks', (f) => base(f, { jwks: f.jwks.keys[0] })],
  ['jwks keys not an array', 'jwks', (f) => base(f, { jwks: { keys: {} } })],
  ['jwks a string', 'jwks', (f) => base(f, { jwks: JSON.stringify(f.jwks) })],
  ['jwks with a non-object key', 'jwks', (f) => base(f, { jwks: { keys: ['key'] } })],
  [
    'jwks with more than 50 keys',
    'jwks',
    (f) => base(f, { jwks: { keys: Array.from({ length: 51 }, () => f.jwks.keys[0]) } }),
  ],
  ['secret too short', 'secret', () => withSecret({ secret: 'short' })],
  ['secret empty', 'secret', () => withSecret({ secret: '' })],
  ['secret empty bytes', 'secret', () => withSecret({ secret: new Uint8Array(0) })],
  ['secret a number', 'secret', () => withSecret({ secret: 12345 })],
  ['secret an ArrayBuffer', 'secret', () => withSecret({ secret: new ArrayBuffer(64) })],
  [
    'secret too short for HS512',
    'secret',
    () => withSecret({ algorithms: ['HS512'], secret: 'a'.repeat(63) }),
  ],
  ['jwksUri and jwks together', 'jwksUri', (f) => base(f, { jwksUri: 'https://idp.example.test/jwks' })],
  ['jwks and secret together', 'jwks', (f) => base(f, { secret: SECRET })],
  ['jwksUri and secret together', 'jwksUri', () => withSecret({ jwksUri: 'https://idp.example.test/jwks' })],
  // algorithms
  ['algorithms none', 'algorithms', (f) => base(f, { algorithms: ['none'] })],
  ['algorithms unknown', 'algorithms', (f) => base(f, { algorithms: ['RS1'] })],
  ['algorithms lower case', 'algorithms', (f) => base(f, { algorithms: ['rs256'] })],
  ['algorithms empty', 'algorithms', (f) => base(f, { algorithms: [] })],
  ['algorithms a string', 'algorithms', (f) => base(f, { algorithms: 'RS256' })],
  ['algorithms mixing HS and RS', 'algorithms', (f) => base(f, { algorithms: ['RS256', 'HS256'] })],
  ['algorithms HS without a secret', 'algorithms', (f) => base(f, { algorithms: ['HS256'] })],
  ['algorithms RS with a secret', 'algorithms', () => withSecret({ algorithms: ['RS256'] })],
  [
    'algorithms mixing HS and RS with a secret',
    'algorithms',
    () => withSecret({ algorithms: ['HS256', 'RS256'] }),
  ],
  ['algorithms with a prototype key', 'algorithms', (f) => base(f, { algorithms: ['toString'] })],
  // clock and lifetimes
  ['clockTolerance negative', 'clockTolerance', (f) => base(f, { clockTolerance: -1 })],
  ['clockTolerance over 300', 'clockTolerance', (f) => base(f, { clockTolerance: 301 })],
  ['clockTolerance NaN', 'clockTolerance', (f) => base(f, { clockTolerance: Number.NaN })],
  ['clockTolerance Infinity', 'clockTolerance', (f) => base(f, { clockTolerance: Number.POSITIVE_INFINITY })],
  ['clockTolerance null', 'clockTolerance', (f) => base(f, { clockTolerance: null })],
  ['clockTolerance a string', 'clockTolerance', (f) => base(f, { clockTolerance: '5' })],
  ['maxTokenAge zero', 'maxTokenAge', (f) => base(f, { maxTokenAge: 0 })],
  ['maxTokenAge negative', 'maxTokenAge', (f) => base(f, { maxTokenAge: -60 })],
  ['maxTokenAge NaN', 'maxTokenAge', (f) => base(f, { maxTokenAge: Number.NaN })],
  ['maxTokenAge a string', 'maxTokenAge', (f) => base(f, { maxTokenAge: '1h' })],
  ['maxTokenLifetime zero', 'maxTokenLifetime', (f) => base(f, { maxTokenLifetime: 0 })],
  [
    'maxTokenLifetime Infinity',
    'maxTokenLifetime',
    (f) => base(f, { maxTokenLifetime: Number.POSITIVE_INFINITY }),
  ],
  ['maxTokenLength zero', 'maxTokenLength', (f) => base(f, { maxTokenLength: 0 })],
  ['maxTokenLength fractional', 'maxTokenLength', (f) => base(f, { maxTokenLength: 100.5 })],
  ['maxTokenLength a string', 'maxTokenLength', (f) => base(f, { maxTokenLength: '8k' })],
  // claims and scopes
  ['requiredClaims a number', 'requiredClaims', (f) => base(f, { requiredClaims: 1 })],
  ['requiredClaims with an empty name', 'requiredClaims', (f) => base(f, { requiredClaims: [''] })],
  ['requiredClaims with a non-string', 'requiredClaims', (f) => base(f, { requiredClaims: ['sub', null] })],
  ['scopeClaims empty', 'scopeClaims', (f) => base(f, { scopeClaims: [] })],
  ['scopeClaims with a non-string', 'scopeClaims', (f) => base(f, { scopeClaims: [{}] })],
  ['scopeClaims a RegExp', 'scopeClaims', (f) => base(f, { scopeClaims: /scope/ })],
  ['strict not a boolean', 'strict', (f) => base(f, { strict: 'yes' })],
  ['claims not a Standard Schema', 'claims', (f) => base(f, { claims: { parse: () => ({}) } })],
  ['claims a function without ~standard', 'claims', (f) => base(f, { claims: () => true })],
  ['claims with a broken ~standard', 'claims', (f) => base(f, { claims: { '~standard': { validate: 1 } } })],
  ['claims a string', 'claims', (f) => base(f, { claims: 'z.object()' })],
  // fetching
  ['fetch not a function', 'fetch', (f) => base(f, { fetch: 'https://x' })],
  ['fetch null', 'fetch', (f) => base(f, { fetch: null })],
  ['timeoutMs zero', 'timeoutMs', (f) => base(f, { timeoutMs: 0 })],
  ['timeoutMs negative', 'timeoutMs', (f) => base(f, { timeoutMs: -1 })],
  ['timeoutMs NaN', 'timeoutMs', (f) => base(f, { timeoutMs: Number.NaN })],
  ['timeoutMs a string', 'timeoutMs', (f) => base(f, { timeoutMs: '5s' })],
  ['cacheMaxAgeMs zero', 'cacheMaxAgeMs', (f) => base(f, { cacheMaxAgeMs: 0 })],
  ['cacheMaxAgeMs Infinity', 'cacheMaxAgeMs', (f) => base(f, { cacheMaxAgeMs: Number.POSITIVE_INFINITY })],
  ['cooldownMs zero', 'cooldownMs', (f) => base(f, { cooldownMs: 0 })],
  ['cooldownMs negative', 'cooldownMs', (f) => base(f, { cooldownMs: -30_000 })],
  ['failureBackoffMs zero', 'failureBackoffMs', (f) => base(f, { failureBackoffMs: 0 })],
  ['failureBackoffMs NaN', 'failureBackoffMs', (f) => base(f, { failureBackoffMs: Number.NaN })],
  ['maxJwksBytes zero', 'maxJwksBytes', (f) => base(f, { maxJwksBytes: 0 })],
  ['maxJwksBytes fractional', 'maxJwksBytes', (f) => base(f, { maxJwksBytes: 1024.5 })],
  [
    'allowInsecureLoopback a string',
    'allowInsecureLoopback',
    (f) => base(f, { allowInsecureLoopback: 'true' }),
  ],
  // cache, presentation, engine, logger
  ['tokenCache a number', 'tokenCache', (f) => base(f, { tokenCache: 100 })],
  ['tokenCache true', 'tokenCache', (f) => base(f, { tokenCache: true })],
  ['tokenCache without max', 'tokenCache.max', (f) => base(f, { tokenCache: {} })],
  ['tokenCache max zero', 'tokenCache.max', (f) => base(f, { tokenCache: { max: 0 } })],
  ['tokenCache max fractional', 'tokenCache.max', (f) => base(f, { tokenCache: { max: 1.5 } })],
  ['realm empty', 'realm', (f) => base(f, { realm: '' })],
  ['realm null', 'realm', (f) => base(f, { realm: null })],
  ['realm a number', 'realm', (f) => base(f, { realm: 1 })],
  ['exposeReasons a string', 'exposeReasons', (f) => base(f, { exposeReasons: 'false' })],
  ['crypto unknown', 'crypto', (f) => base(f, { crypto: 'openssl' })],
  ['crypto null', 'crypto', (f) => base(f, { crypto: null })],
  ['logger without warn', 'logger', (f) => base(f, { logger: { error: () => {} } })],
  ['logger a function', 'logger', (f) => base(f, { logger: () => {} })],
  ['logger null', 'logger', (f) => base(f, { logger: null })],
];

describe('every invalid option throws a TypeError that names it', () => {
  for (const [name, option, options] of INVALID) {
    it(`${name} -> "${option}"`, () => {
      let thrown: unknown;
      try {
        create(options(fixtures));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as TypeError).message).toContain(`"${option}"`);
    });
  }

  it('a non-object argument', () => {
    for (const value of [undefined, null, 'https://issuer', 42, [ISSUER]]) {
      expect(() => createVerifier(value as unknown as Parameters<typeof createVerifier>[0])).toThrow(
        new TypeError('createVerifier() expects an options object'),
      );
    }
  });

  it('names both exclusive key sources', () => {
    expect(() => create(base(fixtures, { jwksUri: 'https://idp.example.test/jwks' }))).toThrow(
      new TypeError('"jwksUri" and "jwks" options are exclusive'),
    );
  });
});

describe('valid options are accepted', () => {
  const VALID: readonly (readonly [string, (f: Fixtures) => Record<string, unknown>])[] = [
    ['static jwks', (f) => base(f)],
    [
      'every option at a valid value',
      (f) =>
        base(f, {
          algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
          clockTolerance: 300,
          maxTokenAge: 0.5,
          maxTokenLifetime: 86_400,
          maxTokenLength: 1,
          requiredClaims: 'sub',
          scopeClaims: ['permissions'],
          strict: true,
          claims: z.object({}),
          fetch: async () => new Response('{}'),
          timeoutMs: 1,
          cacheMaxAgeMs: 1,
          cooldownMs: 1,
          failureBackoffMs: 1,
          maxJwksBytes: 1,
          tokenCache: { max: 1 },
          allowInsecureLoopback: false,
          realm: 'orders',
          exposeReasons: false,
          crypto: 'webcrypto',
          logger: { warn: () => {} },
        }),
    ],
    ['clockTolerance zero', (f) => base(f, { clockTolerance: 0 })],
    ['requiredClaims empty', (f) => base(f, { requiredClaims: [] })],
    ['discovery over https', () => ({ issuer: ISSUER, audience: [AUDIENCE, 'other'] })],
    [
      'discovery on loopback with allowInsecureLoopback',
      () => ({
        issuer: 'http://127.0.0.1:1/realms/x',
        audience: AUDIENCE,
        allowInsecureLoopback: true,
      }),
    ],
    [
      'jwksUri on [::1] and localhost with allowInsecureLoopback',
      () => ({
        issuers: [
          { issuer: 'a', jwksUri: 'http://[::1]:1/jwks' },
          { issuer: 'b', jwksUri: 'http://localhost:1/jwks' },
        ],
        audience: AUDIENCE,
        allowInsecureLoopback: true,
      }),
    ],
    ['a secret of 32 bytes', () => withSecret({ secret: new Uint8Array(32) })],
    ['HS512 with 64 bytes', () => withSecret({ algorithms: ['HS256', 'HS512'], secret: 'b'.repeat(64) })],
    ['domain', () => ({ domain: 'tenant.us.auth0.com', audience: AUDIENCE })],
    ['domain with port', () => ({ domain: 'tenant.example.test:8443', audience: AUDIENCE })],
    [
      'issuers with an own audience each',
      (f) => ({
        issuers: [
          entry(f, { audience: 'a' }),
          entry(f, { issuer: 'https://b.example.test/', audience: ['b'] }),
        ],
      }),
    ],
  ];
  for (const [name, options] of VALID) {
    it(name, () => {
      expect(create(options(fixtures))).toHaveProperty('verify');
    });
  }
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe('the input object is never mutated', () => {
  it('deep-frozen options work, and verify', async () => {
    const options = deepFreeze({
      issuers: [{ issuer: ISSUER, jwks: issuer.jwks(), algorithms: ['RS256'] as const }],
      audience: [AUDIENCE],
      requiredClaims: ['sub'],
      scopeClaims: ['scope', 'permissions'],
      tokenCache: { max: 10 },
      logger: { warn: () => {} },
    });
    const verifier = createVerifier(options);
    await expect(verifier.verify(await issuer.sign({ permissions: ['read'] }))).resolves.toMatchObject({
      sub: 'test-user',
    });
  });

  it('options are read once: later changes to the input change nothing', async () => {
    const jwks = structuredClone(issuer.jwks()) as { keys: Record<string, unknown>[] };
    const options = {
      issuer: [ISSUER],
      audience: [AUDIENCE],
      jwks,
      algorithms: ['RS256' as const],
      requiredClaims: ['sub'],
    };
    const before = structuredClone(options);
    const verifier = createVerifier(options);
    expect(options).toEqual(before);
    options.audience.push('https://other.example.test');
    options.issuer[0] = 'https://evil.example.test/';
    options.algorithms.length = 0;
    options.requiredClaims.push('never-present');
    (jwks.keys[0] as Record<string, unknown>).n = 'AQAB';
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ iss: ISSUER });
    await expect(
      verifier.verify(await issuer.sign({ aud: 'https://other.example.test' })),
    ).rejects.toMatchObject({
      reason: 'invalid_audience',
    });
  });

  it('a secret is copied', async () => {
    const hs = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm: 'HS256' });
    const options = hs.verifierOptions as { secret: Uint8Array };
    const secret = new Uint8Array(options.secret);
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret });
    secret.fill(0);
    await expect(verifier.verify(await hs.sign())).resolves.toMatchObject({ iss: ISSUER });
  });
});

describe('a zod v4 claims schema', () => {
  const schema = z.object({
    org_id: z.string().startsWith('org_'),
    roles: z.array(z.enum(['admin', 'member'])).default([]),
  });

  it('validates after the signature and returns its output', async () => {
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: issuer.jwks(),
      claims: schema,
    });
    const claims = await verifier.verify(await issuer.sign({ org_id: 'org_1' }));
    expect(claims.org_id).toBe('org_1');
    expect(claims.roles).toEqual([]);
  });

  for (const [name, claims] of [
    ['a missing custom claim', {}],
    ['a custom claim of the wrong type', { org_id: 5 }],
    ['a custom claim failing a refinement', { org_id: 'team_1' }],
    ['an enum violation', { org_id: 'org_1', roles: ['root'] }],
  ] as const) {
    it(`rejects ${name} with invalid_claims`, async () => {
      const verifier = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: issuer.jwks(),
        claims: schema,
      });
      const error = await verifier.verify(await issuer.sign(claims)).catch((e: unknown) => e);
      expect(error).toMatchObject({
        status: 401,
        code: 'UNAUTHORIZED',
        reason: 'invalid_claims',
        wwwAuthenticate:
          'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
      });
      // The schema's messages stay server-side.
      expect(JSON.stringify(error)).not.toContain('org_');
    });
  }

  it('an async schema works too', async () => {
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: issuer.jwks(),
      claims: z.object({ org_id: z.string().refine(async (v) => v === 'org_ok') }),
    });
    await expect(verifier.verify(await issuer.sign({ org_id: 'org_ok' }))).resolves.toMatchObject({
      org_id: 'org_ok',
    });
    await expect(verifier.verify(await issuer.sign({ org_id: 'org_no' }))).rejects.toMatchObject({
      reason: 'invalid_claims',
    });
  });

  it('a bad signature is refused before the schema runs', async () => {
    let runs = 0;
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: issuer.jwks(),
      claims: z.object({}).refine(() => {
        runs++;
        return true;
      }),
    });
    const token = await issuer.sign();
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(342)}`;
    await expect(verifier.verify(forged)).rejects.toMatchObject({ reason: 'invalid_signature' });
    await expect(verifier.verify(await issuer.expired())).rejects.toMatchObject({ reason: 'token_expired' });
    expect(runs).toBe(0);
    await verifier.verify(token);
    expect(runs).toBe(1);
  });
});

describe('unknown option names', () => {
  it.each([
    [{ issuer: 'https://issuer.example/', audience: 'a', clockTolerence: 10 }, '"clockTolerence"'],
    [{ issuer: 'https://issuer.example/', audiance: 'a' }, '"audiance"'],
    [
      { issuers: [{ issuer: 'https://issuer.example/', audience: 'a', jwks_uri: 'https://x/' }] },
      '"issuers[0].jwks_uri"',
    ],
  ])('%j throws a TypeError naming the misspelt option', (options, name) => {
    expect(() => createVerifier(options as never)).toThrow(TypeError);
    expect(() => createVerifier(options as never)).toThrow(name);
  });
});
