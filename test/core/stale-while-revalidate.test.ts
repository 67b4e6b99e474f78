/**
 * Stale while revalidate, on one instance: once keys pass `cacheMaxAgeMs`, a token whose key is
 * cached verifies at once while the refresh runs in the background, even against a JWKS server
 * (on 127.0.0.1) that accepts the connection and never answers; only an unknown kid waits. And
 * `close()` stops that background work.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, type Verifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js';

const ISSUER = 'https://issuer.example.test/';
const AUDIENCE = 'https://api.example.test';
const TIMEOUT_MS = 1500;

let issuer: TestIssuer;
const servers: JwksServer[] = [];
const verifiers: Verifier[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm: 'ES256' });
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(verifiers.splice(0).map((verifier) => verifier.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A key server that, once switched to `slow`, accepts requests and answers none within the test. */
async function hangingLater(): Promise<JwksServer> {
  const server = await startJwksServer({ jwks: issuer.jwks, slowMs: 60_000 });
  servers.push(server);
  return server;
}

function verifierFor(server: JwksServer): Verifier {
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    jwksUri: server.jwksUri,
    allowInsecureLoopback: true,
    cacheMaxAgeMs: 1000,
    timeoutMs: TIMEOUT_MS,
    failureBackoffMs: 60_000,
  });
  verifiers.push(verifier);
  return verifier;
}

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

/** Settles `promise`, or answers 'pending' after `limitMs` (real time). */
async function settle(promise: Promise<unknown>, limitMs: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise((resolve) => {
    timer = setTimeout(() => resolve('pending'), limitMs);
  });
  try {
    return await Promise.race([
      promise.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(probe: () => boolean, limitMs = 2000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!probe() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(probe()).toBe(true);
}

describe('stale while revalidate', () => {
  it('cached keys verify at once while the refresh hangs; an unknown kid waits for it (503)', async () => {
    const server = await hangingLater();
    const verifier = verifierFor(server);
    const clock = fakeClock();
    await verifier.verify(await issuer.sign());
    expect(server.hits()).toBe(1);

    await server.setBehaviour('slow');
    clock.advance(1000);
    // Resolved before the refresh could time out: the refresh does not hold the request.
    expect(await settle(verifier.verify(await issuer.sign()), TIMEOUT_MS)).toBe('resolved');
    await until(() => server.hits() === 2);
    expect(await settle(verifier.verify(await issuer.sign()), TIMEOUT_MS)).toBe('resolved');
    expect((await verifier.status()).issuers[0]).toMatchObject({
      hasKeys: true,
      stale: true,
      lastError: null,
    });

    // An unknown kid has no key to go on: it waits for the hanging refresh, which times out.
    const unknown = await issuer.sign({}, { header: { kid: 'not-yet-published' } });
    const outcome = await settle(verifier.verify(unknown), TIMEOUT_MS + 2000);
    expect(outcome).toBeInstanceOf(AuthError);
    expect(outcome).toMatchObject({ status: 503, reason: 'issuer_unavailable' });
    expect(server.hits()).toBe(2);
    const status = await verifier.status();
    expect(status.issuers[0]?.lastError?.message).toBe(
      `no complete response within ${TIMEOUT_MS} ms (${server.jwksUri})`,
    );
    // The failed refresh does not cost the known keys.
    expect(await settle(verifier.verify(await issuer.sign()), TIMEOUT_MS)).toBe('resolved');
  });

  it('close() abandons a hanging background refresh and starts no new one', async () => {
    const server = await hangingLater();
    const verifier = verifierFor(server);
    const clock = fakeClock();
    await verifier.verify(await issuer.sign());
    await server.setBehaviour('slow');
    clock.advance(1000);
    await verifier.verify(await issuer.sign());
    await until(() => server.hits() === 2);
    expect(await settle(verifier.close(), TIMEOUT_MS)).toBe('resolved');
    // Cached keys still verify; nothing is fetched any more, a fetch-needing request is 503.
    clock.advance(1000);
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
    const unknown = await issuer.sign({}, { header: { kid: 'other' } });
    await expect(verifier.verify(unknown)).rejects.toMatchObject({
      status: 503,
      reason: 'issuer_unavailable',
    });
    expect(server.hits()).toBe(2);
  });
});

describe('status() of issuers without remote keys', () => {
  it('static key sets and secrets always have keys; close() is harmless', async () => {
    const fixed = { hasKeys: true, keysAgeMs: null, stale: false, lastError: null };
    const jwks = createVerifier({
      issuer: ISSUER,
      jwks: issuer.jwks(),
      audience: AUDIENCE,
      algorithms: ['ES256'],
    });
    expect(await jwks.status()).toEqual({
      ready: true,
      issuers: [{ issuer: ISSUER, source: 'static', ...fixed }],
    });
    const secret = createVerifier({ issuer: ISSUER, secret: 'x'.repeat(32), audience: AUDIENCE });
    expect(await secret.status()).toEqual({
      ready: true,
      issuers: [{ issuer: ISSUER, source: 'secret', ...fixed }],
    });
    await jwks.close();
    await secret.close();
    await expect(jwks.verify(await issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
  });
});
