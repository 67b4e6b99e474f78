/**
 * Replay protection (RFC 9449 11.1), rows #86 and #94: the `jti` claim through any store, the
 * in-memory default store's bounds, and the order of the checks (claim last).
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkTokenBinding } from '../../../src/core/dpop/binding.js';
import { createMemoryReplayStore, ReplayStoreFullError } from '../../../src/core/dpop/memory-replay-store.js';
import { verifyDpopProof } from '../../../src/core/dpop/proof.js';
import { claimProof, replayKey } from '../../../src/core/dpop/replay.js';
import type { ReplayStore } from '../../../src/core/dpop/replay-store.js';
import type { AuthError } from '../../../src/core/errors.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../../src/testing/index.js';
import { authErrorOf } from '../../helpers/auth.js';
import { METHOD, request, settings, URL_ } from './support.js';

let issuer: TestIssuer;
let key: TestDpopKey;
let otherKey: TestDpopKey;
let token: string;

beforeAll(async () => {
  issuer = await createTestIssuer({ algorithm: 'ES256' });
  key = await issuer.dpopKey();
  otherKey = await issuer.dpopKey();
  token = await key.sign();
});

/**
 * What the request flow does with a DPoP request, in its order: the token, the proof, the
 * binding, and only then the `jti` claim.
 */
async function accept(store: ReplayStore, accessToken: string, proof: string, options = {}) {
  const { payload } = await jwtVerify(
    accessToken,
    createLocalJWKSet(issuer.jwks() as unknown as JSONWebKeySet),
  );
  const verified = await verifyDpopProof(proof, request(accessToken), settings());
  checkTokenBinding(payload, verified.thumbprint);
  await claimProof(store, verified, options);
  return verified;
}

const proofOf = (k: TestDpopKey, accessToken: string, extra: { jti?: string; iat?: number } = {}) =>
  k.proof({ method: METHOD, url: URL_, accessToken, ...extra });

function expectReplay(error: AuthError): void {
  expect([error.reason, error.status, error.detail]).toEqual([
    'invalid_dpop_proof',
    401,
    'jti: replayed (already claimed, or the proof predates the replay store)',
  ]);
}

function expectUnavailable(error: AuthError, detail: string): void {
  expect([error.reason, error.status, error.code, error.detail]).toEqual([
    'replay_store_unavailable',
    503,
    'SERVICE_UNAVAILABLE',
    detail,
  ]);
  expect(error.wwwAuthenticate).toBeUndefined();
}

describe('#86 replayed proofs', () => {
  it('the same proof twice: accepted once, then invalid_dpop_proof', async () => {
    const store = createMemoryReplayStore();
    const proof = await proofOf(key, token);
    await accept(store, token, proof);
    expectReplay(await authErrorOf(accept(store, token, proof)));
    expect(store.size).toBe(1);
  });

  it('the same proof at another instance sharing the store is refused too', async () => {
    const shared = createMemoryReplayStore();
    const proof = await proofOf(key, token);
    await accept(shared, token, proof); // instance A
    expectReplay(await authErrorOf(accept(shared, token, proof))); // instance B, same store
  });

  it('the same jti under another key is not a replay', async () => {
    const store = createMemoryReplayStore();
    const otherToken = await otherKey.sign();
    await accept(store, token, await proofOf(key, token, { jti: 'same-jti' }));
    await accept(store, otherToken, await proofOf(otherKey, otherToken, { jti: 'same-jti' }));
    expect(store.size).toBe(2);
    // But a second proof with that jti by the first key is.
    expectReplay(await authErrorOf(accept(store, token, await proofOf(key, token, { jti: 'same-jti' }))));
  });

  it('a proof issued before the store started is refused (a restart opens no replay window)', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const proof = await proofOf(key, token, { iat: nowSeconds - 10 });
    const restarted = createMemoryReplayStore(); // started after the proof was made
    expectReplay(await authErrorOf(accept(restarted, token, proof)));
    expect(restarted.size).toBe(0);
  });

  it('the store gets a hash of thumbprint and jti, and the thumbprint and iat as info', async () => {
    const seen: unknown[][] = [];
    const store: ReplayStore = {
      claim: (...args) => {
        seen.push(args);
        return true;
      },
    };
    const verified = await accept(store, token, await proofOf(key, token, { jti: 'visible-jti' }));
    const [storeKey, expiresAt, info] = seen[0] as [string, number, unknown];
    expect(storeKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(storeKey).toBe(await replayKey(key.thumbprint, 'visible-jti'));
    expect(storeKey).not.toBe(await replayKey(otherKey.thumbprint, 'visible-jti'));
    expect(expiresAt).toBe(verified.expiresAt);
    expect(info).toEqual({ thumbprint: key.thumbprint, iat: verified.iat });
  });
});

describe('#94 the store fails closed', () => {
  it('a flood of forged proofs leaves the store empty (the jti is claimed last)', async () => {
    const store = createMemoryReplayStore({ maxEntries: 10 });
    const otherToken = await otherKey.sign();
    const forged = [
      () => key.proof({ method: METHOD, url: URL_, accessToken: token, header: { jwk: otherKey.publicJwk } }),
      () => key.proof({ method: 'GET', url: URL_, accessToken: token }),
      () => key.proof({ method: METHOD, url: URL_, accessToken: otherToken }),
      () => otherKey.proof({ method: METHOD, url: URL_, accessToken: token }), // binding fails
    ];
    for (let i = 0; i < 50; i++) {
      const make = forged[i % forged.length] as () => Promise<string>;
      await expect(accept(store, token, await make())).rejects.toMatchObject({ status: 401 });
    }
    expect(store.size).toBe(0);
    await accept(store, token, await proofOf(key, token));
    expect(store.size).toBe(1);
  });

  it('a full memory store answers 503, never accepts', async () => {
    const store = createMemoryReplayStore({ maxEntries: 2, maxEntriesPerKey: 2 });
    await accept(store, token, await proofOf(key, token));
    await accept(store, token, await proofOf(key, token));
    const error = await authErrorOf(accept(store, token, await proofOf(key, token)));
    expectUnavailable(error, 'replay store: the claim failed');
    expect(error.cause).toBeInstanceOf(ReplayStoreFullError);
  });

  it('one key cannot fill the store: the per-thumbprint bound answers 503 for that key only', async () => {
    const store = createMemoryReplayStore({ maxEntries: 100, maxEntriesPerKey: 2 });
    const otherToken = await otherKey.sign();
    await accept(store, token, await proofOf(key, token));
    await accept(store, token, await proofOf(key, token));
    const error = await authErrorOf(accept(store, token, await proofOf(key, token)));
    expectUnavailable(error, 'replay store: the claim failed');
    expect((error.cause as Error).message).toContain('one key thumbprint');
    await accept(store, otherToken, await proofOf(otherKey, otherToken));
    expect(store.size).toBe(3);
  });

  it('a throwing, rejecting or nonsensical store answers 503', async () => {
    const throwing: ReplayStore = {
      claim() {
        throw new Error('connection refused');
      },
    };
    expectUnavailable(
      await authErrorOf(accept(throwing, token, await proofOf(key, token))),
      'replay store: the claim failed',
    );
    const rejecting: ReplayStore = { claim: () => Promise.reject(new Error('READONLY')) };
    expectUnavailable(
      await authErrorOf(accept(rejecting, token, await proofOf(key, token))),
      'replay store: the claim failed',
    );
    for (const answer of [undefined, 'true', 1, null]) {
      const odd = { claim: () => Promise.resolve(answer) } as unknown as ReplayStore;
      expectUnavailable(
        await authErrorOf(accept(odd, token, await proofOf(key, token))),
        'replay store: the answer is not a boolean',
      );
    }
  });

  it('a store slower than the timeout answers 503, and its late rejection is handled', async () => {
    let late: (() => void) | undefined;
    const slow: ReplayStore = {
      claim: () =>
        new Promise<boolean>((_resolve, reject) => {
          late = () => reject(new Error('too late'));
        }),
    };
    const started = Date.now();
    const error = await authErrorOf(accept(slow, token, await proofOf(key, token), { timeoutMs: 50 }));
    expectUnavailable(error, 'replay store: no answer within 50 ms');
    expect(Date.now() - started).toBeLessThan(5000);
    // Rejecting now, after the timeout, must not be an unhandled rejection (vitest fails on one).
    late?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const never: ReplayStore = { claim: () => new Promise<boolean>(() => undefined) };
    expectUnavailable(
      await authErrorOf(accept(never, token, await proofOf(key, token), { timeoutMs: 20 })),
      'replay store: no answer within 20 ms',
    );
  });

  it('an asynchronous store that answers in time works', async () => {
    const held = new Set<string>();
    const store: ReplayStore = {
      claim: async (k) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (held.has(k)) return false;
        held.add(k);
        return true;
      },
    };
    const proof = await proofOf(key, token);
    await accept(store, token, proof);
    expectReplay(await authErrorOf(accept(store, token, proof)));
  });
});

describe('memory replay store', () => {
  it('entries expire with their window and free their slots', () => {
    let clock = 1_000_000;
    const store = createMemoryReplayStore({ maxEntries: 2, maxEntriesPerKey: 2, now: () => clock });
    const info = { thumbprint: 't', iat: clock / 1000 };
    expect(store.claim('a', clock + 100, info)).toBe(true);
    expect(store.claim('a', clock + 100, info)).toBe(false);
    expect(store.claim('b', clock + 200, info)).toBe(true);
    expect(() => store.claim('c', clock + 200, info)).toThrow(ReplayStoreFullError);
    clock += 150; // 'a' expired
    expect(store.claim('a', clock + 100, info)).toBe(true);
    expect(store.size).toBe(2);
    clock += 1000; // everything expired, even entries out of insertion order
    expect(store.claim('c', clock + 100, { thumbprint: 't', iat: clock / 1000 })).toBe(true);
    expect(store.size).toBe(1);
  });

  it('#86 the start second is the boundary: an iat one second earlier is refused', () => {
    const clock = 1_800_000_000_500;
    const store = createMemoryReplayStore({ now: () => clock });
    expect(store.claim('old', clock + 1000, { thumbprint: 't', iat: 1_799_999_999 })).toBe(false);
    expect(store.claim('fresh', clock + 1000, { thumbprint: 't', iat: 1_800_000_000 })).toBe(true);
    expect(store.size).toBe(1);
  });

  it('a full store rescans for expired entries that are not at its head', () => {
    let clock = 1_000_000;
    const store = createMemoryReplayStore({ maxEntries: 2, now: () => clock });
    expect(store.claim('long', clock + 10_000)).toBe(true);
    expect(store.claim('short', clock + 100)).toBe(true);
    clock += 200; // 'short' expired behind a live head
    expect(store.claim('next', clock + 100)).toBe(true);
    expect(store.size).toBe(2);
  });

  it('bounds are validated: TypeError naming the option', () => {
    expect(() => createMemoryReplayStore({ maxEntries: 0 })).toThrow(/"maxEntries"/);
    expect(() => createMemoryReplayStore({ maxEntriesPerKey: 1.5 })).toThrow(/"maxEntriesPerKey"/);
    expect(createMemoryReplayStore().startedAt).toBeLessThanOrEqual(Date.now());
  });
});
