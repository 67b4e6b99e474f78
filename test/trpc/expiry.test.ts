/**
 * The expiry guard of protected subscriptions, with fake timers: it ends the stream with
 * UNAUTHORIZED `token_expired` at `exp` (after the verifier's clock tolerance), and releases its
 * timer however the stream ends (source done, consumer gone, request aborted, expiry).
 */
import { TRPCError } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, type JwtClaims, type RequestAuth } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { endAtExpiry } from '../../src/trpc/expiry.js';
import { createAuthContext } from '../../src/trpc/index.js';
import { AUDIENCE } from './support/tokens.js';

const START = new Date('2030-01-01T00:00:00Z').getTime();
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: START });
});

afterEach(() => {
  vi.useRealTimers();
});

async function authFor(lifetimeSeconds: number, clockTolerance = 0) {
  const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance });
  const token = await issuer.sign({}, { expiresIn: lifetimeSeconds });
  const { auth } = createAuthContext(verifier)({
    req: new Request('http://127.0.0.1/ticks', { headers: { authorization: `Bearer ${token}` } }),
  });
  return { auth, claims: await auth.claims(), verifier, token };
}

async function* counting(limit: number, log: string[]) {
  try {
    for (let i = 0; i < limit; i++) yield i;
  } finally {
    log.push('source closed');
  }
}

/** A source that never yields (waits for an event that does not come). */
function silent(): AsyncIterable<number> {
  return { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => {}) }) };
}

function guarded(source: unknown, auth: RequestAuth<unknown>, claims: JwtClaims, signal?: AbortSignal) {
  return endAtExpiry(source, auth, claims, signal) as AsyncGenerator<number>;
}

describe('endAtExpiry', () => {
  it('passes events through and releases its timer when the source ends', async () => {
    const { auth, claims } = await authFor(60);
    const log: string[] = [];
    const stream = guarded(counting(3, log), auth, claims);
    expect(vi.getTimerCount()).toBe(0); // armed when the stream starts, not before
    const values: number[] = [];
    for await (const value of stream) {
      values.push(value);
      expect(vi.getTimerCount()).toBe(1);
    }
    expect(values).toEqual([0, 1, 2]);
    expect(log).toEqual(['source closed']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('releases its timer and closes the source when the consumer stops early', async () => {
    const { auth, claims } = await authFor(60);
    const log: string[] = [];
    for await (const value of guarded(counting(100, log), auth, claims)) {
      if (value === 1) break;
    }
    expect(log).toEqual(['source closed']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends quietly and releases its timer when the request is aborted', async () => {
    const { auth, claims } = await authFor(60);
    const controller = new AbortController();
    const stream = guarded(silent(), auth, claims, controller.signal);
    const next = stream.next();
    controller.abort();
    await expect(next).resolves.toEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a waiting stream with UNAUTHORIZED token_expired at exp', async () => {
    const { auth, claims } = await authFor(2);
    const next = guarded(silent(), auth, claims).next();
    const settled = next.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(1999);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const error = await settled;
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('UNAUTHORIZED');
    expect((error as TRPCError).cause).toBeInstanceOf(AuthError);
    expect(((error as TRPCError).cause as AuthError).reason).toBe('token_expired');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits out the verifier clock tolerance, re-checking, before ending the stream', async () => {
    const { auth, claims } = await authFor(2, 3);
    const settled = guarded(silent(), auth, claims)
      .next()
      .then(
        () => 'resolved',
        (error: unknown) => (error as TRPCError).code,
      );
    await vi.advanceTimersByTimeAsync(2000 + 2000);
    expect(vi.getTimerCount()).toBe(1); // still accepted within the tolerance: re-armed
    await vi.advanceTimersByTimeAsync(2000);
    await expect(settled).resolves.toBe('UNAUTHORIZED');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a stream between events: the next pull fails', async () => {
    const { auth, claims } = await authFor(2);
    const stream = guarded(counting(10, []), auth, claims);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 0 });
    await vi.advanceTimersByTimeAsync(2000);
    await expect(stream.next()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('guards observables too', async () => {
    const { auth, claims } = await authFor(2);
    let unsubscribed = false;
    const source = observable<number>((observer) => {
      observer.next(7);
      return () => {
        unsubscribed = true;
      };
    });
    const stream = guarded(source, auth, claims, new AbortController().signal);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 7 });
    const pending = stream.next().catch((error: unknown) => (error as TRPCError).code);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(pending).resolves.toBe('UNAUTHORIZED');
    expect(unsubscribed).toBe(true);
  });

  it('ends at exp with a RequestAuth built by hand (no re-verification possible)', async () => {
    const { verifier, token } = await authFor(2);
    const auth = verifier.authenticate(`Bearer ${token}`);
    const claims = await auth.claims();
    const pending = guarded(silent(), auth, claims)
      .next()
      .catch((error: unknown) => ((error as TRPCError).cause as AuthError).reason);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(pending).resolves.toBe('token_expired');
  });

  it('leaves sources without exp, and non-streams, untouched', async () => {
    const { auth } = await authFor(60);
    const source = counting(1, []);
    expect(endAtExpiry(source, auth, { iss: 'x', aud: 'y' } as unknown as JwtClaims, undefined)).toBe(source);
    const value = { not: 'a stream' };
    expect(endAtExpiry(value, auth, { exp: 1 } as JwtClaims, undefined)).toBe(value);
    expect(vi.getTimerCount()).toBe(0);
  });
});
