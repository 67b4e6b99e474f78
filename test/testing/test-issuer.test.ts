/**
 * The testing kit `scopegate/testing`: every algorithm's tokens verify through scopegate and
 * through jose, the helpers fail for the reason they are named after, rotation, the in-memory
 * fetch and the HTTP server on 127.0.0.1.
 */
import { createServer as createNetServer } from 'node:net';
import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Algorithm, createVerifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { authErrorOf, expectUnauthorized } from '../helpers/auth.js';

const ALGORITHMS: readonly Algorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
];

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** jose's own verification with the kit's key material: the kit is not tied to scopegate. */
function joseKey(issuer: TestIssuer): JWTVerifyGetKey | Uint8Array {
  const options = issuer.verifierOptions;
  return 'secret' in options
    ? options.secret
    : createLocalJWKSet(issuer.jwks() as Parameters<typeof createLocalJWKSet>[0]);
}

async function verifyWithJose(issuer: TestIssuer, token: string) {
  const key = joseKey(issuer);
  const options = {
    issuer: issuer.issuer,
    audience: issuer.audience as string | string[],
    algorithms: [issuer.algorithm],
  };
  return key instanceof Uint8Array ? jwtVerify(token, key, options) : jwtVerify(token, key, options);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('every algorithm', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: verifies through createVerifier(verifierOptions) and jose jwtVerify`, async () => {
      const issuer = await createTestIssuer({ algorithm });
      const token = await issuer.sign({ scope: 'read:data' });

      const claims = await createVerifier(issuer.verifierOptions).verify(token);
      expect(claims).toMatchObject({
        iss: 'https://issuer.example.test/',
        aud: 'https://api.example.test',
        sub: 'test-user',
        scope: 'read:data',
      });
      expect(claims.exp).toBe((claims.iat as number) + 300);
      expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);

      const { payload, protectedHeader } = await verifyWithJose(issuer, token);
      expect(payload).toEqual(claims);
      expect(protectedHeader).toEqual({ alg: algorithm, typ: 'JWT', kid: 'test-key-1' });

      const keys = issuer.jwks().keys;
      if (algorithm.startsWith('HS')) {
        expect(keys).toEqual([]);
        expect('secret' in issuer.verifierOptions && issuer.verifierOptions.secret.length).toBe(
          Number(algorithm.slice(2)) / 8,
        );
      } else {
        expect(keys).toHaveLength(1);
        expect(keys[0]).toMatchObject({ kid: 'test-key-1', alg: algorithm, use: 'sig' });
        for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
      }
    });
  }
});

describe('failure helpers', () => {
  const cases = [
    ['expired', (issuer: TestIssuer) => issuer.expired(), 'token_expired'],
    ['notYetValid', (issuer: TestIssuer) => issuer.notYetValid(), 'token_not_yet_valid'],
    ['wrongAudience', (issuer: TestIssuer) => issuer.wrongAudience(), 'invalid_audience'],
    ['wrongIssuer', (issuer: TestIssuer) => issuer.wrongIssuer(), 'invalid_issuer'],
  ] as const;

  for (const [helper, mint, reason] of cases) {
    it(`${helper}() -> 401 ${reason}`, async () => {
      const issuer = await createTestIssuer({ algorithm: 'ES256' });
      const verifier = createVerifier(issuer.verifierOptions);
      const error = await authErrorOf(verifier.verify(await mint(issuer)));
      expectUnauthorized(error, reason);
      expect(error.toJSON()).toEqual({ code: 'UNAUTHORIZED', reason, message: error.message });
      // Only the claims are wrong: the signature holds (jose's compactVerify), jose refuses the claims too.
      const token = await mint(issuer);
      await expect(compactVerify(token, joseKey(issuer) as JWTVerifyGetKey)).resolves.toBeDefined();
      await expect(
        verifyWithJose(issuer, token).catch((cause: { code?: string }) => cause.code),
      ).resolves.toMatch(/^ERR_JWT_(EXPIRED|CLAIM_VALIDATION_FAILED)$/);
    });
  }

  it('sets exp, nbf and iat from the clock and the given seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const now = Date.parse('2030-01-01T00:00:00Z') / 1000;
    const issuer = await createTestIssuer({ algorithm: 'HS256' });

    expect(decodeJwt(await issuer.expired())).toMatchObject({ exp: now - 60, iat: now - 360 });
    expect(decodeJwt(await issuer.expired({}, 10))).toMatchObject({ exp: now - 10, iat: now - 310 });
    expect(decodeJwt(await issuer.notYetValid())).toMatchObject({ nbf: now + 60, iat: now, exp: now + 360 });
    expect(decodeJwt(await issuer.wrongAudience())).toMatchObject({
      aud: 'https://another-api.example.test',
    });
    expect(decodeJwt(await issuer.wrongIssuer())).toMatchObject({
      iss: 'https://another-issuer.example.test/',
    });
    // Claims given to a helper win over its own, and over the defaults.
    expect(decodeJwt(await issuer.expired({ sub: 'alice', exp: now - 1 }))).toMatchObject({
      sub: 'alice',
      exp: now - 1,
    });
  });

  it('notYetValid far ahead is still "not yet valid", never "expired" (exp follows nbf)', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS256' });
    const token = await issuer.notYetValid({}, 3600);
    const { nbf, exp } = decodeJwt(token);
    expect(exp).toBe((nbf as number) + 300);
    const error = await authErrorOf(createVerifier(issuer.verifierOptions).verify(token));
    expectUnauthorized(error, 'token_not_yet_valid');
  });

  it('stays within the clock tolerance when asked to: expired(claims, 3) passes a 5 s tolerance', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS256' });
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 5 });
    await expect(verifier.verify(await issuer.expired({}, 3))).resolves.toMatchObject({ sub: 'test-user' });
    expectUnauthorized(await authErrorOf(verifier.verify(await issuer.expired({}, 30))), 'token_expired');
  });
});

describe('sign()', () => {
  it('removes a claim set to undefined, default or not', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS256', claims: { client_id: 'app', tenant: 't1' } });
    const token = await issuer.sign({ sub: undefined, jti: undefined, client_id: undefined, scope: 'a' });
    const payload = decodeJwt(token);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'scope', 'tenant']);
    // And the verifier accepts a token without sub or jti when not strict.
    await expect(createVerifier(issuer.verifierOptions).verify(token)).resolves.toMatchObject({ scope: 'a' });
  });

  it('expiresIn and issuedAt set iat and exp', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS256' });
    const token = await issuer.sign({}, { issuedAt: 1_000_000, expiresIn: 60 });
    expect(decodeJwt(token)).toMatchObject({ iat: 1_000_000, exp: 1_000_060 });
  });

  it('header option: adds, overrides and removes protected header parameters', async () => {
    const issuer = await createTestIssuer({ algorithm: 'ES256' });
    const token = await issuer.sign({}, { header: { typ: 'at+jwt', kid: undefined, 'x-test': 1 } });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', 'x-test': 1 });
    // Without a kid the verifier tries the issuer's keys for the algorithm: still valid.
    await expect(createVerifier(issuer.verifierOptions).verify(token)).resolves.toMatchObject({
      sub: 'test-user',
    });
  });

  it('a header naming another kid -> 401 unknown_key', async () => {
    const issuer = await createTestIssuer({ algorithm: 'ES256' });
    const token = await issuer.sign({}, { header: { kid: 'not-a-key' } });
    const error = await authErrorOf(createVerifier(issuer.verifierOptions).verify(token));
    expectUnauthorized(error, 'unknown_key');
  });

  it('issuer-wide claims and header make RFC 9068 tokens for strict verifiers', async () => {
    const plain = await createTestIssuer({ algorithm: 'PS256' });
    const strictVerifier = createVerifier({ ...plain.verifierOptions, strict: true });
    expectUnauthorized(await authErrorOf(strictVerifier.verify(await plain.sign())), 'invalid_token_type');

    const rfc9068 = await createTestIssuer({
      algorithm: 'PS256',
      claims: { client_id: 'test-client' },
      header: { typ: 'at+jwt' },
    });
    const verifier = createVerifier({ ...rfc9068.verifierOptions, strict: true });
    const token = await rfc9068.sign({ scope: 'read:data' });
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    await expect(verifier.verify(token)).resolves.toMatchObject({ client_id: 'test-client' });
    // A call's own header and claims still win over the issuer-wide ones.
    const overridden = await rfc9068.sign({ client_id: undefined }, { header: { typ: 'JWT' } });
    expectUnauthorized(await authErrorOf(verifier.verify(overridden)), 'invalid_token_type');
    expectUnauthorized(
      await authErrorOf(verifier.verify(await rfc9068.sign({ client_id: undefined }))),
      'invalid_claims',
    );
  });

  it('kid option names the keys <kid>-<n>', async () => {
    const issuer = await createTestIssuer({ algorithm: 'EdDSA', kid: 'tenant-a' });
    expect(issuer.kid).toBe('tenant-a-1');
    await issuer.rotateKeys();
    expect(issuer.kid).toBe('tenant-a-2');
    expect(issuer.jwks().keys.map((key) => key.kid)).toEqual(['tenant-a-2', 'tenant-a-1']);
    expect(decodeProtectedHeader(await issuer.sign()).kid).toBe('tenant-a-2');
  });
});

describe('signPayload()', () => {
  it('signs raw bytes with the current key; a JSON object payload verifies', async () => {
    const issuer = await createTestIssuer({ algorithm: 'RS256' });
    const now = Math.floor(Date.now() / 1000);
    const raw = JSON.stringify({ iss: issuer.issuer, aud: issuer.audience, exp: now + 60, custom: true });
    const token = await issuer.signPayload(new TextEncoder().encode(raw));
    await expect(createVerifier(issuer.verifierOptions).verify(token)).resolves.toEqual(JSON.parse(raw));
    const { payload, protectedHeader } = await compactVerify(
      token,
      createLocalJWKSet(issuer.jwks() as Parameters<typeof createLocalJWKSet>[0]),
    );
    expect(new TextDecoder().decode(payload)).toBe(raw);
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'test-key-1' });
  });

  const malformed = [
    ['not JSON', 'hello'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"claims"'],
  ] as const;
  for (const [name, payload] of malformed) {
    it(`a payload that is ${name} is correctly signed and refused as malformed_token`, async () => {
      const issuer = await createTestIssuer({ algorithm: 'ES384' });
      const token = await issuer.signPayload(payload);
      const jwks = createLocalJWKSet(issuer.jwks() as Parameters<typeof createLocalJWKSet>[0]);
      expect(new TextDecoder().decode((await compactVerify(token, jwks)).payload)).toBe(payload);
      const error = await authErrorOf(createVerifier(issuer.verifierOptions).verify(token));
      expectUnauthorized(error, 'malformed_token');
    });
  }

  it('header: overrides alg, removes typ, and keeps the issuer-wide header', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS256', header: { typ: 'at+jwt', cty: 'x' } });
    const token = await issuer.signPayload('{}', { typ: undefined, 'x-a': 'b' });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', kid: 'test-key-1', cty: 'x', 'x-a': 'b' });
  });
});

describe('rotateKeys()', () => {
  it('keeps old tokens valid unless dropPrevious; the verifier finds a new kid after its cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const issuer = await createTestIssuer({ algorithm: 'ES256' });
    const verifier = createVerifier({ ...issuer.verifierOptions, cooldownMs: 1000 });
    const first = await issuer.sign();
    await expect(verifier.verify(first)).resolves.toMatchObject({ sub: 'test-user' });

    await issuer.rotateKeys();
    expect(issuer.jwks().keys.map((key) => key.kid)).toEqual(['test-key-2', 'test-key-1']);
    const second = await issuer.sign();
    expect(decodeProtectedHeader(second).kid).toBe('test-key-2');
    // Within the cooldown the cached key set is not refetched for an unknown kid.
    expectUnauthorized(await authErrorOf(verifier.verify(second)), 'unknown_key');

    vi.setSystemTime(Date.now() + 1001);
    await expect(verifier.verify(second)).resolves.toMatchObject({ sub: 'test-user' });
    await expect(verifier.verify(first)).resolves.toMatchObject({ sub: 'test-user' });

    await issuer.rotateKeys({ dropPrevious: true });
    expect(issuer.jwks().keys.map((key) => key.kid)).toEqual(['test-key-3']);
    vi.setSystemTime(Date.now() + 1001);
    const third = await issuer.sign();
    await expect(verifier.verify(third)).resolves.toMatchObject({ sub: 'test-user' });
    // The refetch that found test-key-3 no longer has the dropped keys.
    expectUnauthorized(await authErrorOf(verifier.verify(first)), 'unknown_key');
    expectUnauthorized(await authErrorOf(verifier.verify(second)), 'unknown_key');
  });

  it('a fresh verifier never trusts a dropped key', async () => {
    const issuer = await createTestIssuer({ algorithm: 'RS256' });
    const old = await issuer.sign();
    await issuer.rotateKeys({ dropPrevious: true });
    const error = await authErrorOf(createVerifier(issuer.verifierOptions).verify(old));
    expectUnauthorized(error, 'unknown_key');
  });

  it('HS*: only the kid changes, tokens before and after verify with the same secret', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS512' });
    const verifier = createVerifier(issuer.verifierOptions);
    const before = await issuer.sign();
    await issuer.rotateKeys({ dropPrevious: true });
    const after = await issuer.sign();
    expect(decodeProtectedHeader(after).kid).toBe('test-key-2');
    await expect(verifier.verify(before)).resolves.toBeDefined();
    await expect(verifier.verify(after)).resolves.toBeDefined();
  });
});

describe('in-memory fetch', () => {
  it('answers the OIDC and RFC 8414 metadata and the JWKS, and 404 for any other URL', async () => {
    const issuer = await createTestIssuer({
      issuer: 'https://idp.example.test/realms/a',
      algorithm: 'ES256',
    });
    const get = async (url: string) => {
      const response = await issuer.fetch(url, { method: 'GET' });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const metadata = {
      issuer: 'https://idp.example.test/realms/a',
      jwks_uri: 'https://idp.example.test/realms/a/.well-known/jwks.json',
    };
    await expect(get('https://idp.example.test/realms/a/.well-known/openid-configuration')).resolves.toEqual({
      status: 200,
      body: metadata,
    });
    await expect(
      get('https://idp.example.test/.well-known/oauth-authorization-server/realms/a'),
    ).resolves.toEqual({
      status: 200,
      body: metadata,
    });
    await expect(get(metadata.jwks_uri)).resolves.toEqual({ status: 200, body: issuer.jwks() });
    for (const url of [
      'https://idp.example.test/.well-known/openid-configuration',
      'https://idp.example.test/realms/b/.well-known/jwks.json',
      'https://evil.example.test/realms/a/.well-known/jwks.json',
      'http://idp.example.test/realms/a/.well-known/jwks.json',
      'not a url',
    ]) {
      await expect(get(url)).resolves.toEqual({ status: 404, body: { error: 'not_found' } });
    }
  });

  it('serves the keys at call time: a rotation shows in the next response', async () => {
    const issuer = await createTestIssuer({ algorithm: 'ES256' });
    const jwksUrl = 'https://issuer.example.test/.well-known/jwks.json';
    const kids = async () =>
      ((await (await issuer.fetch(jwksUrl, {})).json()) as { keys: { kid: string }[] }).keys.map(
        (key) => key.kid,
      );
    expect(await kids()).toEqual(['test-key-1']);
    await issuer.rotateKeys();
    expect(await kids()).toEqual(['test-key-2', 'test-key-1']);
  });

  const issuers = [
    ['an issuer with a path', 'https://idp.example.test/realms/a'],
    ['an issuer with a trailing slash in its path', 'https://idp.example.test/realms/a/'],
    ['an issuer whose host has capitals (the verifier lowercases the URL)', 'https://IDP.Example.test/'],
    ['an issuer that is not a URL', 'my-test-issuer'],
    ['an http issuer (not discoverable)', 'http://localhost:8080/'],
  ] as const;
  for (const [name, iss] of issuers) {
    it(`verifierOptions work for ${name}`, async () => {
      const issuer = await createTestIssuer({ issuer: iss, algorithm: 'ES256' });
      await expect(createVerifier(issuer.verifierOptions).verify(await issuer.sign())).resolves.toMatchObject(
        {
          iss,
        },
      );
    });
  }

  it('an HS* issuer that is not a URL needs no URL at all', async () => {
    const issuer = await createTestIssuer({ issuer: 'my-test-issuer', algorithm: 'HS256' });
    await expect(createVerifier(issuer.verifierOptions).verify(await issuer.sign())).resolves.toMatchObject({
      iss: 'my-test-issuer',
    });
  });
});

describe('serve()', () => {
  it('serves discovery and the JWKS on 127.0.0.1, counts hits, and close() frees the port', async () => {
    const issuer = await createTestIssuer({ algorithm: 'RS256' });
    const served = await issuer.serve();
    let closed = false;
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(served.jwksUri).toBe(`${served.url}/.well-known/jwks.json`);

      const discovery = await fetch(`${served.url}/.well-known/openid-configuration`);
      expect(discovery.status).toBe(200);
      expect(discovery.headers.get('content-type')).toBe('application/json');
      expect(await discovery.json()).toEqual({ issuer: issuer.issuer, jwks_uri: served.jwksUri });
      const jwks = await fetch(served.jwksUri);
      expect(await jwks.json()).toEqual(issuer.jwks());
      const missing = await fetch(`${served.url}/nothing-here?x=1`);
      expect(missing.status).toBe(404);
      await missing.body?.cancel();

      expect(Object.fromEntries(served.hits)).toEqual({
        '/.well-known/openid-configuration': 1,
        '/.well-known/jwks.json': 1,
        '/nothing-here': 1,
      });

      const verifier = createVerifier({ ...served.verifierOptions, cooldownMs: 50 });
      await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ sub: 'test-user' });
      await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ sub: 'test-user' });
      expect(served.hits.get('/.well-known/jwks.json')).toBe(2);

      // A new kid is fetched from the server (cooldown 50 ms: wait it out, bounded).
      await issuer.rotateKeys();
      await new Promise((resolve) => setTimeout(resolve, 60));
      await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ sub: 'test-user' });
      expect(served.hits.get('/.well-known/jwks.json')).toBe(3);

      const port = Number(new URL(served.url).port);
      await served.close();
      closed = true;
      await served.close(); // idempotent
      await expect(fetch(served.jwksUri)).rejects.toThrow();
      const probe = createNetServer();
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen(port, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    } finally {
      if (!closed) await served.close();
    }
  });

  it('HS*: serves an empty JWKS, and its verifierOptions hold the secret', async () => {
    const issuer = await createTestIssuer({ algorithm: 'HS384' });
    const served = await issuer.serve();
    try {
      expect(await (await fetch(served.jwksUri)).json()).toEqual({ keys: [] });
      expect(served.verifierOptions).toEqual(issuer.verifierOptions);
      await expect(createVerifier(served.verifierOptions).verify(await issuer.sign())).resolves.toBeDefined();
    } finally {
      await served.close();
    }
  });
});
