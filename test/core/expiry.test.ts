/**
 * Token validity over time: expiry-aware RequestAuth (connection-long contexts), `expired()`,
 * `consulted`, and the shared `endAtExpiry` stream helper used by both adapters' subscriptions.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AuthError, createVerifier, endAtExpiry } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

const issuer = await createTestIssuer({ audience: 'https://api.example.test' });
const NOW = Date.UTC(2030, 0, 1) / 1000;

afterEach(() => {
  vi.useRealTimers();
});

function fakeNow(seconds: number) {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  vi.setSystemTime(seconds * 1000);
}

async function* ticks(count: number) {
  for (let i = 0; i < count; i++) yield i;
}

describe('RequestAuth over time', () => {
  it('re-verifies once the token is past exp + clockTolerance, with the verifier presentation', async () => {
    fakeNow(NOW);
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 5, realm: 'orders' });
    const token = await issuer.sign({}, { issuedAt: NOW, expiresIn: 60 });
    const auth = verifier.authenticate(`Bearer ${token}`);
    const claims = await auth.claims();
    expect(await auth.claims()).toBe(claims);
    vi.setSystemTime((NOW + 64) * 1000 + 999);
    expect(await auth.claims()).toBe(claims);
    vi.setSystemTime((NOW + 65) * 1000);
    const error = await auth.claims().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', reason: 'token_expired', status: 401 });
    expect((error as AuthError).wwwAuthenticate).toBe(
      'Bearer realm="orders", error="invalid_token", error_description="The access token is invalid", DPoP realm="orders", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
  });

  it('honours maxTokenAge: token_too_old at iat + maxTokenAge + tolerance', async () => {
    fakeNow(NOW);
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0, maxTokenAge: 30 });
    const token = await issuer.sign({}, { issuedAt: NOW, expiresIn: 3600 });
    const auth = verifier.authenticate(`Bearer ${token}`);
    await auth.claims();
    vi.setSystemTime((NOW + 30) * 1000 + 999);
    await expect(auth.claims()).resolves.toMatchObject({ iat: NOW });
    vi.setSystemTime((NOW + 31) * 1000);
    await expect(auth.claims()).rejects.toMatchObject({ reason: 'token_too_old' });
  });

  it('expired() resolves at the exact instant with the verifier error', async () => {
    fakeNow(NOW);
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 2 });
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { issuedAt: NOW, expiresIn: 10 })}`);
    let settled: AuthError | undefined;
    const done = auth.expired().then((error) => {
      settled = error;
    });
    await vi.advanceTimersByTimeAsync(11_999);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(settled).toMatchObject({ reason: 'token_expired', code: 'UNAUTHORIZED' });
  });

  it('expired() resolves at once for a request that is not authenticated', async () => {
    const verifier = createVerifier(issuer.verifierOptions);
    await expect(verifier.authenticate(null).expired()).resolves.toMatchObject({ reason: 'missing_token' });
    await expect(verifier.authenticate('Bearer ').expired()).resolves.toMatchObject({
      reason: 'invalid_request',
    });
  });

  it('expired(signal) rejects with the abort reason and leaves no timer behind', async () => {
    fakeNow(NOW);
    const verifier = createVerifier(issuer.verifierOptions);
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { issuedAt: NOW, expiresIn: 600 })}`);
    const controller = new AbortController();
    const waiting = auth.expired(controller.signal);
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(new Error('stream ended'));
    await expect(waiting).rejects.toThrow('stream ended');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('consulted turns true when credentials are read, not before', async () => {
    const verifier = createVerifier(issuer.verifierOptions);
    const token = await issuer.sign();
    const readsToken = verifier.authenticate(`Bearer ${token}`);
    expect(readsToken.consulted).toBe(false);
    expect(readsToken.token).toBe(token);
    expect(readsToken.consulted).toBe(true);
    const readsClaims = verifier.authenticate(`Bearer ${token}`);
    await readsClaims.optional();
    expect(readsClaims.consulted).toBe(true);
  });

  it('a claims schema adds typed values without stripping the registered claims', async () => {
    const verifier = createVerifier({
      ...issuer.verifierOptions,
      claims: z.object({ org_id: z.string(), roles: z.array(z.string()).default([]) }),
    });
    const claims = await verifier.verify(await issuer.sign({ org_id: 'acme' }));
    expect(claims).toMatchObject({ iss: issuer.issuer, sub: 'test-user', org_id: 'acme', roles: [] });
    expect(typeof claims.exp).toBe('number');
  });
});

describe('endAtExpiry', () => {
  it('passes events through, then yields the value onExpired returns, and closes the source', async () => {
    fakeNow(NOW);
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0 });
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { issuedAt: NOW, expiresIn: 5 })}`);
    let closed = false;
    let release: (() => void) | undefined;
    async function* slow() {
      try {
        yield 'first';
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        yield 'never';
      } finally {
        closed = true;
      }
    }
    const stream = endAtExpiry(slow(), auth, (error) => `ended: ${error.reason}`);
    expect(await stream.next()).toEqual({ done: false, value: 'first' });
    const last = stream.next();
    await vi.advanceTimersByTimeAsync(5000);
    expect(await last).toEqual({ done: false, value: 'ended: token_expired' });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    release?.();
    await vi.waitFor(() => expect(closed).toBe(true));
  });

  it('ends with the error onExpired throws', async () => {
    fakeNow(NOW);
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0 });
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { issuedAt: NOW, expiresIn: 1 })}`);
    const stream = endAtExpiry(
      (async function* () {
        await new Promise(() => {});
      })(),
      auth,
      (error) => {
        throw new Error(`closed: ${error.reason}`);
      },
    );
    const next = stream.next();
    const outcome = expect(next).rejects.toThrow('closed: token_expired');
    await vi.advanceTimersByTimeAsync(1000);
    await outcome;
  });

  it('completes with the source and releases the expiry timer', async () => {
    fakeNow(NOW);
    const verifier = createVerifier(issuer.verifierOptions);
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { issuedAt: NOW, expiresIn: 600 })}`);
    const seen: number[] = [];
    for await (const value of endAtExpiry(ticks(3), auth, () => -1)) seen.push(value);
    expect(seen).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops when the signal aborts', async () => {
    fakeNow(NOW);
    const verifier = createVerifier(issuer.verifierOptions);
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { issuedAt: NOW, expiresIn: 600 })}`);
    const controller = new AbortController();
    const stream = endAtExpiry(
      (async function* () {
        yield 1;
        await new Promise(() => {});
      })(),
      auth,
      () => -1,
      controller.signal,
    );
    expect(await stream.next()).toEqual({ done: false, value: 1 });
    const pending = stream.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an unauthenticated request ends the stream at once', async () => {
    const verifier = createVerifier(issuer.verifierOptions);
    const values: unknown[] = [];
    for await (const value of endAtExpiry(ticks(3), verifier.authenticate(null), (e) => e.reason))
      values.push(value);
    expect(values).toEqual(['missing_token']);
  });
});

describe('endAtExpiry return()', () => {
  it('closes a quiet source at once when the consumer leaves (no wait for its next event)', async () => {
    const verifier = createVerifier(issuer.verifierOptions);
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({}, { expiresIn: 3600 })}`);
    let closed = false;
    let release: (() => void) | undefined;
    const quiet = {
      [Symbol.asyncIterator]() {
        return {
          next: () =>
            new Promise<IteratorResult<number>>((resolve) => {
              release = () => resolve({ done: true, value: undefined });
            }),
          return: async () => {
            closed = true;
            release?.();
            return { done: true as const, value: undefined };
          },
        };
      },
    };
    const stream = endAtExpiry(quiet, auth, () => -1);
    const pending = stream.next();
    await vi.waitFor(() => expect(release).toBeDefined());
    await expect(stream.return(undefined)).resolves.toEqual({ done: true, value: undefined });
    expect(closed).toBe(true);
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });
});
