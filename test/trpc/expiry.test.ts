/**
 * Protected subscriptions end at their token's expiry, with fake timers: called through tRPC's
 * own caller on `protectedProcedure` / `optionalAuthProcedure`, the stream ends with UNAUTHORIZED
 * `token_expired` at `exp` (after the verifier's clock tolerance), and its timer is released
 * however the stream ends (source done, consumer gone, request aborted, expiry).
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, type JwtClaims, type RequestAuth } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { createAuthContext, createAuthProcedures } from '../../src/trpc/index.js';
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

// What the next subscription's resolver returns: each test sets it.
let nextSource: unknown;

const t = initTRPC.context<{ auth: RequestAuth<JwtClaims> }>().create();
const { protectedProcedure, optionalAuthProcedure } = createAuthProcedures(t);
const router = t.router({
  events: protectedProcedure.subscription(() => nextSource as AsyncIterable<number>),
  maybeEvents: optionalAuthProcedure.subscription(() => nextSource as AsyncIterable<number>),
});
const createCaller = t.createCallerFactory(router);

async function authFor(lifetimeSeconds: number, clockTolerance = 0) {
  const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance });
  const token = await issuer.sign({}, { expiresIn: lifetimeSeconds });
  const { auth } = createAuthContext(verifier)({
    req: new Request('http://127.0.0.1/ticks', { headers: { authorization: `Bearer ${token}` } }),
  });
  return { auth, verifier, token };
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

/** Subscribes to `events` with `source` as the resolver's result, as tRPC's caller does. */
async function guarded(source: unknown, auth: RequestAuth<JwtClaims>, signal?: AbortSignal) {
  nextSource = source;
  const caller = createCaller({ auth }, signal ? { signal } : {});
  return (await caller.events()) as AsyncGenerator<number>;
}

describe('protected subscriptions end at expiry', () => {
  it('passes events through and releases its timer when the source ends', async () => {
    const { auth } = await authFor(60);
    const log: string[] = [];
    const stream = await guarded(counting(3, log), auth);
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
    const { auth } = await authFor(60);
    const log: string[] = [];
    for await (const value of await guarded(counting(100, log), auth)) {
      if (value === 1) break;
    }
    expect(log).toEqual(['source closed']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends quietly and releases its timer when the request is aborted', async () => {
    const { auth } = await authFor(60);
    const controller = new AbortController();
    const stream = await guarded(silent(), auth, controller.signal);
    const next = stream.next();
    controller.abort();
    await expect(next).resolves.toEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a waiting stream with UNAUTHORIZED token_expired at exp', async () => {
    const { auth } = await authFor(2);
    const next = (await guarded(silent(), auth)).next();
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

  it('waits out the verifier clock tolerance before ending the stream', async () => {
    const { auth } = await authFor(2, 3);
    const settled = (await guarded(silent(), auth)).next().then(
      () => 'resolved',
      (error: unknown) => (error as TRPCError).code,
    );
    await vi.advanceTimersByTimeAsync(2000 + 2000);
    expect(vi.getTimerCount()).toBe(1); // still accepted within the tolerance: still waiting
    await vi.advanceTimersByTimeAsync(2000);
    await expect(settled).resolves.toBe('UNAUTHORIZED');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a stream between events: the next pull fails', async () => {
    const { auth } = await authFor(2);
    const stream = await guarded(counting(10, []), auth);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 0 });
    await vi.advanceTimersByTimeAsync(2000);
    await expect(stream.next()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('guards observables too', async () => {
    const { auth } = await authFor(2);
    let unsubscribed = false;
    const source = observable<number>((observer) => {
      observer.next(7);
      return () => {
        unsubscribed = true;
      };
    });
    const stream = await guarded(source, auth, new AbortController().signal);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 7 });
    const pending = stream.next().catch((error: unknown) => (error as TRPCError).code);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(pending).resolves.toBe('UNAUTHORIZED');
    expect(unsubscribed).toBe(true);
  });

  it('ends at exp with a context built by hand from verifier.authenticate', async () => {
    const { verifier, token } = await authFor(2);
    const auth = verifier.authenticate(`Bearer ${token}`);
    const pending = (await guarded(silent(), auth))
      .next()
      .catch((error: unknown) => ((error as TRPCError).cause as AuthError).reason);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(pending).resolves.toBe('token_expired');
  });

  it('leaves a result that is not a stream untouched', async () => {
    const { auth } = await authFor(60);
    const value = { not: 'a stream' };
    expect(await guarded(value, auth)).toBe(value);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('optional-auth subscriptions', () => {
  it('never end an anonymous subscriber: there is no token to expire', async () => {
    const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0 });
    const { auth } = createAuthContext(verifier)({ req: new Request('http://127.0.0.1/ticks') });
    const source = counting(3, []);
    nextSource = source;
    const stream = await createCaller({ auth }).maybeEvents();
    expect(stream).toBe(source);
  });

  it('end a signed-in subscriber at exp like protected ones', async () => {
    const { auth } = await authFor(2);
    nextSource = silent();
    const stream = (await createCaller({ auth }).maybeEvents()) as AsyncGenerator<number>;
    const pending = stream.next().catch((error: unknown) => ((error as TRPCError).cause as AuthError).reason);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(pending).resolves.toBe('token_expired');
    expect(vi.getTimerCount()).toBe(0);
  });
});
