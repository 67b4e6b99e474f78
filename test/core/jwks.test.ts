/**
 * Key fetching against a real HTTP server on 127.0.0.1 (SECURITY.md #33, #34, #36, #37):
 * single flight, kid-miss cooldown, rotation, failure backoff, stale keys, and every way a JWKS
 * endpoint can break ending in 503 `issuer_unavailable`, never a 401 and never a hang.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, type Verifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type JwksBehaviour, type JwksServer, startJwksServer } from '../helpers/jwks-server.js';

const ISSUER = 'https://issuer.example.test/';
const AUDIENCE = 'https://api.example.test';

const servers: JwksServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(issuer: TestIssuer, options: { slowMs?: number } = {}): Promise<JwksServer> {
  const server = await startJwksServer({ jwks: issuer.jwks, ...options });
  servers.push(server);
  return server;
}

type Timing = { timeoutMs?: number; cooldownMs?: number; failureBackoffMs?: number; cacheMaxAgeMs?: number };

function verifierFor(server: JwksServer, timing: Timing = {}): Verifier {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256', 'ES256'],
    jwksUri: server.jwksUri,
    allowInsecureLoopback: true,
    ...timing,
  });
}

/** Settles `promise`, or reports a hang after `limitMs`. */
async function settle(promise: Promise<unknown>, limitMs: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise((resolve) => {
    timer = setTimeout(() => resolve('hang'), limitMs);
  });
  try {
    return await Promise.race([
      promise.then(
        () => 'accepted',
        (error: unknown) => error,
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const UNAVAILABLE = {
  status: 503,
  code: 'SERVICE_UNAVAILABLE',
  reason: 'issuer_unavailable',
  wwwAuthenticate: undefined,
};
const UNKNOWN_KEY = {
  status: 401,
  code: 'UNAUTHORIZED',
  reason: 'unknown_key',
  wwwAuthenticate:
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
};

async function expectUnavailable(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  const outcome = await settle(promise, timeoutMs + 2000);
  expect(outcome).toBeInstanceOf(AuthError);
  expect(outcome).toMatchObject(UNAVAILABLE);
}

/** Fakes only `Date`, so HTTP and its timers stay real while the key cache ages on demand. */
function fakeClock(): { advance(ms: number): void } {
  let now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'], now });
  return {
    advance(ms) {
      now += ms;
      vi.setSystemTime(now);
    },
  };
}

let rs: TestIssuer;
let es: TestIssuer;
beforeAll(async () => {
  rs = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE });
  es = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm: 'ES256' });
});

describe('single flight', () => {
  it('200 concurrent cold verifies make exactly one JWKS fetch', async () => {
    const server = await serve(rs);
    const verifier = verifierFor(server);
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => rs.sign({ sub: `user-${i}` })));
    const claims = await Promise.all(tokens.map((token) => verifier.verify(token)));
    expect(claims.map((c) => c.sub)).toEqual(tokens.map((_, i) => `user-${i}`));
    expect(server.hits()).toBe(1);
    expect(server.totalHits()).toBe(1);
  });

  it('warmup() fetches the keys before the first request, which then makes no fetch', async () => {
    const server = await serve(rs);
    const verifier = verifierFor(server);
    await verifier.warmup();
    expect(server.hits()).toBe(1);
    await verifier.warmup();
    await expect(verifier.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
    expect(server.hits()).toBe(1);
  });

  it('warmup() rejects with issuer_unavailable when the endpoint is down', async () => {
    const server = await serve(rs);
    await server.setBehaviour('down');
    const verifier = verifierFor(server, { timeoutMs: 500 });
    await expectUnavailable(verifier.warmup(), 500);
  });
});

describe('unknown kid flood (SECURITY.md #33)', () => {
  it('1000 random kids: every one is 401 unknown_key, at most one refetch per cooldown window', async () => {
    const server = await serve(es);
    const cooldownMs = 200;
    const verifier = verifierFor(server, { cooldownMs });
    const clock = fakeClock();
    await verifier.verify(await es.sign());
    expect(server.hits()).toBe(1);

    const batches = 10;
    const stepMs = 50; // 10 batches over 450 ms of (fake) time: windows open at 200 and 400
    for (let batch = 0; batch < batches; batch++) {
      const tokens = await Promise.all(
        Array.from({ length: 100 }, () => es.sign({}, { header: { kid: randomUUID() } })),
      );
      const outcomes = await Promise.all(tokens.map((token) => settle(verifier.verify(token), 5000)));
      for (const outcome of outcomes) expect(outcome).toMatchObject(UNKNOWN_KEY);
      const elapsed = batch * stepMs;
      expect(server.hits()).toBe(1 + Math.floor(elapsed / cooldownMs));
      clock.advance(stepMs);
    }
    expect(server.hits()).toBe(3);
    // The known key still verifies with no further fetch.
    await expect(verifier.verify(await es.sign())).resolves.toMatchObject({ iss: ISSUER });
    expect(server.hits()).toBe(3);
  });

  it('a token with no kid, unmatched by any key, is unknown_key too', async () => {
    const server = await serve(es);
    const verifier = verifierFor(server);
    await expect(verifier.verify(await rs.sign({}, { header: { kid: undefined } }))).rejects.toMatchObject(
      UNKNOWN_KEY,
    );
    expect(server.hits()).toBe(1);
  });
});

describe('key rotation (SECURITY.md #36)', () => {
  it('a new kid is unknown_key within the cooldown, then picked up with exactly one refetch', async () => {
    const issuer = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm: 'ES256' });
    const server = await serve(issuer);
    const verifier = verifierFor(server, { cooldownMs: 10_000 });
    const clock = fakeClock();
    const before = await issuer.sign();
    await verifier.verify(before);
    expect(server.hits()).toBe(1);

    await issuer.rotateKeys();
    const after = await issuer.sign();
    clock.advance(5_000);
    await expect(verifier.verify(after)).rejects.toMatchObject(UNKNOWN_KEY);
    expect(server.hits()).toBe(1);

    clock.advance(5_000);
    const verified = await Promise.all([verifier.verify(after), verifier.verify(after)]);
    expect(verified[0]).toMatchObject({ iss: ISSUER });
    expect(server.hits()).toBe(2);
    // Both generations are in the new set: the old token still verifies, with no fetch.
    await expect(verifier.verify(before)).resolves.toMatchObject({ iss: ISSUER });
    await expect(verifier.verify(after)).resolves.toMatchObject({ iss: ISSUER });
    expect(server.hits()).toBe(2);
  });

  it('keys dropped at the issuer stop verifying once the cache is refreshed', async () => {
    const issuer = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm: 'ES256' });
    const server = await serve(issuer);
    const verifier = verifierFor(server, { cacheMaxAgeMs: 1000 });
    const clock = fakeClock();
    const old = await issuer.sign();
    await verifier.verify(old);
    await issuer.rotateKeys({ dropPrevious: true });
    clock.advance(1000);
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ iss: ISSUER });
    await expect(verifier.verify(old)).rejects.toMatchObject(UNKNOWN_KEY);
    expect(server.hits()).toBe(2);
  });
});

describe('a broken JWKS endpoint is 503 issuer_unavailable, within the timeout (SECURITY.md #34, #37)', () => {
  const timeoutMs = 300;
  const cases: readonly { behaviour: JwksBehaviour; hits: number }[] = [
    { behaviour: 'down', hits: 0 },
    { behaviour: 'error500', hits: 1 },
    { behaviour: 'slow', hits: 1 },
    { behaviour: 'slowBody', hits: 1 },
    { behaviour: 'garbage', hits: 1 },
    { behaviour: 'notJwks', hits: 1 },
    { behaviour: 'privateKeys', hits: 1 },
    { behaviour: 'symmetric', hits: 1 },
    { behaviour: 'huge', hits: 1 },
    { behaviour: 'hugeChunked', hits: 1 },
    { behaviour: 'redirect', hits: 1 },
  ];

  for (const { behaviour, hits } of cases) {
    it(`${behaviour}: a cold verify`, async () => {
      const server = await serve(rs, { slowMs: timeoutMs + 1500 });
      await server.setBehaviour(behaviour);
      const verifier = verifierFor(server, { timeoutMs });
      await expectUnavailable(verifier.verify(await rs.sign()), timeoutMs);
      expect(server.hits()).toBe(hits);
      // A redirect is never followed.
      expect(server.hits('/moved/jwks.json')).toBe(0);
    });

    it(`${behaviour}: an unknown kid after the cooldown, with good keys cached`, async () => {
      const server = await serve(rs, { slowMs: timeoutMs + 1500 });
      const verifier = verifierFor(server, { timeoutMs, cooldownMs: 50 });
      await verifier.verify(await rs.sign());
      await server.setBehaviour(behaviour);
      const clock = fakeClock();
      clock.advance(100);
      await expectUnavailable(verifier.verify(await rs.sign({}, { header: { kid: 'rotated' } })), timeoutMs);
      expect(server.hits()).toBe(1 + hits);
      // The cached key is not thrown away by the failed refresh.
      await expect(verifier.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
    });
  }

  it('a body over maxJwksBytes is refused even when it is a valid key set', async () => {
    const server = await serve(rs);
    const size = JSON.stringify(rs.jwks()).length;
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
      allowInsecureLoopback: true,
      maxJwksBytes: size - 1,
    });
    await expectUnavailable(verifier.verify(await rs.sign()), 5000);
    const roomy = verifierFor(server);
    await expect(roomy.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
  });

  it('the 503 keeps the fetch failure as its cause, for logs, and never shows it to clients', async () => {
    const server = await serve(rs);
    await server.setBehaviour('error500');
    const warnings: unknown[] = [];
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
      allowInsecureLoopback: true,
      logger: { warn: (message, details) => warnings.push({ message, details }) },
    });
    const error = (await settle(verifier.verify(await rs.sign()), 5000)) as AuthError;
    expect(error).toMatchObject(UNAVAILABLE);
    expect(String((error.cause as Error).message)).toContain('500');
    expect(error.toJSON()).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'issuer_unavailable',
      message: 'The token issuer could not be reached; retry later',
    });
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain('eyJ');
  });
});

describe('failure backoff and recovery', () => {
  it('within failureBackoffMs: 503 at once with no fetch; after it: exactly one retry, then recovery', async () => {
    const server = await serve(rs);
    const verifier = verifierFor(server, { failureBackoffMs: 1000 });
    const clock = fakeClock();
    const token = await rs.sign();
    await server.setBehaviour('error500');
    await expectUnavailable(verifier.verify(token), 5000);
    expect(server.hits()).toBe(1);

    clock.advance(500);
    await server.setBehaviour('normal');
    const during = await Promise.all(Array.from({ length: 20 }, () => settle(verifier.verify(token), 5000)));
    for (const outcome of during) expect(outcome).toMatchObject(UNAVAILABLE);
    expect(server.hits()).toBe(1);

    clock.advance(500);
    const after = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
    expect(after).toHaveLength(20);
    expect(server.hits()).toBe(2);
  });

  it('a retry that fails again starts a new backoff window', async () => {
    const server = await serve(rs);
    await server.setBehaviour('down');
    const verifier = verifierFor(server, { failureBackoffMs: 1000, timeoutMs: 1000 });
    const clock = fakeClock();
    const token = await rs.sign();
    await expectUnavailable(verifier.verify(token), 1000);
    clock.advance(1000);
    await server.setBehaviour('error500');
    await expectUnavailable(verifier.verify(token), 1000);
    expect(server.hits()).toBe(1);
    clock.advance(999);
    await server.setBehaviour('normal');
    await expectUnavailable(verifier.verify(token), 1000);
    expect(server.hits()).toBe(1);
    clock.advance(1);
    await expect(verifier.verify(token)).resolves.toMatchObject({ iss: ISSUER });
    expect(server.hits()).toBe(2);
  });

  it('an unknown kid during the backoff is 503 (keys may exist), with no fetch', async () => {
    const server = await serve(rs);
    const verifier = verifierFor(server, { cooldownMs: 100, failureBackoffMs: 1000 });
    const clock = fakeClock();
    await verifier.verify(await rs.sign());
    await server.setBehaviour('error500');
    clock.advance(100);
    const rotated = await rs.sign({}, { header: { kid: 'rotated' } });
    await expectUnavailable(verifier.verify(rotated), 5000);
    expect(server.hits()).toBe(2);
    clock.advance(500);
    await expectUnavailable(verifier.verify(rotated), 5000);
    expect(server.hits()).toBe(2);
  });

  it('stale keys are served when the refresh after cacheMaxAgeMs fails', async () => {
    const server = await serve(rs);
    const verifier = verifierFor(server, { cacheMaxAgeMs: 1000, failureBackoffMs: 500 });
    const clock = fakeClock();
    await verifier.verify(await rs.sign());
    await server.setBehaviour('down');
    clock.advance(1000);
    await expect(verifier.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
    // During the backoff the stale keys keep serving, with no new attempt.
    clock.advance(100);
    await expect(verifier.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
    // An unknown kid cannot be served from stale keys: 503, not 401.
    await expectUnavailable(verifier.verify(await rs.sign({}, { header: { kid: 'other' } })), 5000);
    await server.setBehaviour('normal');
    clock.advance(500);
    await expect(verifier.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
    // Stale keys serve at once; the refresh runs in the background: wait for it.
    await verifier.warmup();
    expect(server.hits()).toBe(2);
    // Fresh again: cached lookups, no fetch.
    await verifier.verify(await rs.sign());
    expect(server.hits()).toBe(2);
  });

  it('warmup() after an outage recovers once the endpoint is back and the backoff is over', async () => {
    const server = await serve(rs);
    await server.setBehaviour('error500');
    const verifier = verifierFor(server, { failureBackoffMs: 100 });
    await expectUnavailable(verifier.warmup(), 5000);
    await server.setBehaviour('normal');
    const clock = fakeClock();
    clock.advance(100);
    await verifier.warmup();
    expect(server.hits()).toBe(2);
    await expect(verifier.verify(await rs.sign())).resolves.toMatchObject({ iss: ISSUER });
    expect(server.hits()).toBe(2);
  });
});
