/**
 * The opt-in cache of verified tokens (SECURITY.md #73): keyed by the whole token, entries never
 * outlive `exp`, LRU at `max`. A cache hit is observed from outside through a claims schema that
 * counts its runs: the schema runs after the signature, so a hit skips both.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier } from '../../src/core/index.js';
import { TokenCache } from '../../src/core/token-cache.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { countingSchema } from '../helpers/auth.js';

const ISSUER = 'https://issuer.example.test/';
const AUDIENCE = 'https://api.example.test';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE, algorithm: 'ES256' });
});
afterEach(() => {
  vi.useRealTimers();
});

function cachedVerifier(max: number, extra: { maxTokenAge?: number } = {}) {
  const schema = countingSchema();
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    jwks: issuer.jwks(),
    claims: schema,
    tokenCache: { max },
    ...extra,
  });
  return { verifier, schema };
}

describe('tokenCache through the verifier', () => {
  it('is off by default: every verify does the full work', async () => {
    const schema = countingSchema();
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      jwks: issuer.jwks(),
      claims: schema,
    });
    const token = await issuer.sign();
    await verifier.verify(token);
    await verifier.verify(token);
    expect(schema.runs).toBe(2);
  });

  it('a hit skips the signature and schema work and returns the same frozen claims', async () => {
    const { verifier, schema } = cachedVerifier(10);
    const token = await issuer.sign({ scope: 'read' });
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    expect(schema.runs).toBe(1);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('is keyed by the whole token: same header and payload with another signature is verified, and fails', async () => {
    const { verifier, schema } = cachedVerifier(10);
    const token = await issuer.sign();
    await verifier.verify(token);
    const cut = token.lastIndexOf('.');
    const signature = token.slice(cut + 1);
    const forgeries = [
      // Another valid ES256 signature shape (64 bytes), wrong value.
      `${token.slice(0, cut + 1)}${'A'.repeat(signature.length)}`,
      // One character of the signature changed (mid-segment, so the encoding stays canonical).
      `${token.slice(0, cut + 11)}${token[cut + 11] === 'A' ? 'B' : 'A'}${token.slice(cut + 12)}`,
      // A signature of another token with the same header and payload.
      `${token.slice(0, cut + 1)}${(await issuer.sign()).split('.')[2]}`,
    ];
    for (const forged of forgeries) {
      await expect(verifier.verify(forged)).rejects.toMatchObject({
        status: 401,
        reason: 'invalid_signature',
      });
    }
    // A token that only shares the signature is never served either.
    const [, payload] = token.split('.');
    const otherHeader = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'test-key-1', x: 1 })).toString(
      'base64url',
    );
    await expect(verifier.verify(`${otherHeader}.${payload}.${signature}`)).rejects.toMatchObject({
      reason: 'invalid_signature',
    });
    expect(schema.runs).toBe(1);
    // The genuine token is still served from the cache.
    await verifier.verify(token);
    expect(schema.runs).toBe(1);
  });

  it('an entry never outlives exp (fake Date)', async () => {
    let now = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now });
    const { verifier, schema } = cachedVerifier(10);
    const token = await issuer.sign({}, { expiresIn: 60 });
    const exp = Math.floor(now / 1000) + 60;
    await verifier.verify(token);
    now = exp * 1000 - 1;
    vi.setSystemTime(now);
    await verifier.verify(token);
    expect(schema.runs).toBe(1);
    // At exp the entry is gone; the verifier's own tolerance (5 s) still accepts it, re-verified.
    now = exp * 1000;
    vi.setSystemTime(now);
    await verifier.verify(token);
    expect(schema.runs).toBe(2);
    // Past exp + tolerance: refused, not served from a cache.
    now = (exp + 5) * 1000;
    vi.setSystemTime(now);
    await expect(verifier.verify(token)).rejects.toMatchObject({ status: 401, reason: 'token_expired' });
  });

  it('with maxTokenAge, an entry ends when the token gets too old', async () => {
    let now = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now });
    const { verifier, schema } = cachedVerifier(10, { maxTokenAge: 30 });
    const iat = Math.floor(now / 1000);
    const token = await issuer.sign({}, { issuedAt: iat, expiresIn: 3600 });
    await verifier.verify(token);
    now = (iat + 30) * 1000;
    vi.setSystemTime(now);
    await verifier.verify(token);
    expect(schema.runs).toBe(2);
    now = (iat + 36) * 1000;
    vi.setSystemTime(now);
    await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'token_too_old' });
  });

  it('evicts the least recently used entry at max', async () => {
    const { verifier, schema } = cachedVerifier(2);
    const [a, b, c] = await Promise.all([issuer.sign(), issuer.sign(), issuer.sign()]);
    await verifier.verify(a as string);
    await verifier.verify(b as string);
    await verifier.verify(a as string); // a is now the most recent
    expect(schema.runs).toBe(2);
    await verifier.verify(c as string); // evicts b
    expect(schema.runs).toBe(3);
    await verifier.verify(a as string);
    await verifier.verify(c as string);
    expect(schema.runs).toBe(3);
    await verifier.verify(b as string);
    expect(schema.runs).toBe(4);
  });

  it('failures are never cached', async () => {
    const { verifier, schema } = cachedVerifier(10);
    const token = await issuer.sign({ aud: 'https://other.example.test' });
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'invalid_audience' });
    }
    expect(schema.runs).toBe(0);
  });

  it('the length cap still applies before the cache', async () => {
    const schema = countingSchema();
    const token = await issuer.sign();
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      jwks: issuer.jwks(),
      claims: schema,
      tokenCache: { max: 5 },
      maxTokenLength: token.length - 1,
    });
    await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'token_too_large' });
  });
});

describe('TokenCache', () => {
  it('get() misses, hits, and drops an expired entry', () => {
    const cache = new TokenCache<string>(3);
    expect(cache.get('t', 0)).toBeUndefined();
    cache.set('t', 'claims', 1000);
    expect(cache.get('t', 999)).toBe('claims');
    expect(cache.get('t', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keys are whole strings: no prefix, suffix or segment matches', () => {
    const cache = new TokenCache<string>(10);
    cache.set('h.p.s', 'claims', Number.POSITIVE_INFINITY);
    for (const other of ['h.p.', 'h.p.s2', 'h.p.S', 'x.h.p.s', '.p.s', 'h.p.s ']) {
      expect(cache.get(other, 0)).toBeUndefined();
    }
    expect(cache.get('h.p.s', 0)).toBe('claims');
  });

  it('set() replaces an entry without evicting another', () => {
    const cache = new TokenCache<number>(2);
    cache.set('a', 1, 10);
    cache.set('b', 2, 10);
    cache.set('a', 3, 10);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBe(3);
    expect(cache.get('b', 0)).toBe(2);
  });

  it('never grows past max', () => {
    const cache = new TokenCache<number>(100);
    for (let i = 0; i < 1000; i++) cache.set(`t${i}`, i, 10);
    expect(cache.size).toBe(100);
    expect(cache.get('t899', 0)).toBeUndefined();
    expect(cache.get('t900', 0)).toBe(900);
  });
});
