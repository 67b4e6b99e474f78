/**
 * SECURITY.md section I: resource exhaustion and caching (#72-#74).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier, type Verifier } from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import { expectOutcome, flipBit, invalidToken, withSegment } from './support.js';

const tooLarge = invalidToken('token_too_large');

let issuer: TestIssuer;
let verifier: Verifier;

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('I. #72 huge tokens are refused on length alone', () => {
  it('#72 a 1 MB token of garbage: token_too_large through verify() and authenticate()', async () => {
    const garbage = '\u0000{"!'.repeat(262_144);
    await expectOutcome(verifier.verify(garbage), tooLarge);
    await expectOutcome(verifier.authenticate(`Bearer ${'x.'.repeat(524_288)}`).claims(), tooLarge);
  });

  it('#72 a correctly signed token with a 100k-element aud array', async () => {
    const aud = Array.from({ length: 100_000 }, (_, i) => `https://api-${i}.example.test`);
    const signed = await issuer.sign({ aud: [...aud, issuer.audience] });
    await expectOutcome(verifier.verify(signed), tooLarge);
  });

  it('#72 a correctly signed token with a 1 MB scope string', async () => {
    const signed = await issuer.sign({ scope: 'read:orders '.repeat(95_326) });
    expect(signed.length).toBeGreaterThan(1_000_000);
    await expectOutcome(verifier.verify(signed), tooLarge);
    await expectOutcome(verifier.authenticate(`Bearer ${signed}`).claims(), tooLarge);
  });

  it('#72 the cap is exact: maxTokenLength accepts that length and refuses one more', async () => {
    const token = await issuer.sign();
    const exact = createVerifier({ ...issuer.verifierOptions, maxTokenLength: token.length });
    await expect(exact.verify(token)).resolves.toMatchObject({ sub: 'test-user' });
    const smaller = createVerifier({ ...issuer.verifierOptions, maxTokenLength: token.length - 1 });
    await expectOutcome(smaller.verify(token), tooLarge);
    await expectOutcome(smaller.authenticate(`Bearer ${token}`).claims(), tooLarge);
  });

  it('#72 the default cap is 8 KiB (8192 characters)', async () => {
    const token = await issuer.sign();
    const pad = 8192 - token.length;
    // Grow the payload, keep a valid signature segment: only the length matters before parsing.
    const at = await issuer.sign({ pad: 'p'.repeat(Math.floor((pad * 3) / 4) - 12) });
    expect(at.length).toBeLessThanOrEqual(8192);
    await expect(verifier.verify(at)).resolves.toMatchObject({ sub: 'test-user' });
    await expectOutcome(verifier.verify(`${at}${'A'.repeat(8193 - at.length)}`), tooLarge);
  });
});

describe('I. #73 the token cache keys on the whole token and never outlives exp', () => {
  it('#73 a token differing only in its signature is not served from the cache', async () => {
    const cached = createVerifier({ ...issuer.verifierOptions, tokenCache: { max: 16 } });
    const token = await issuer.sign({ scope: 'admin' });
    await expect(cached.verify(token)).resolves.toMatchObject({ scope: 'admin' });
    await expectOutcome(cached.verify(flipBit(token, 2, 200)), invalidToken('invalid_signature'));
    const parts = token.split('.');
    const truncated = Buffer.from(parts[2] as string, 'base64url')
      .subarray(0, 255)
      .toString('base64url');
    await expectOutcome(cached.verify(withSegment(token, 2, truncated)), invalidToken('invalid_signature'));
    // Same signature, another payload (a kid+sub or segment-subset key would collide here).
    const other = await issuer.sign({ scope: 'user' });
    await expectOutcome(
      cached.verify(`${parts[0]}.${other.split('.')[1]}.${parts[2]}`),
      invalidToken('invalid_signature'),
    );
  });

  it('#73 entries expire no later than exp (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = 1_700_000_000;
    vi.setSystemTime(now * 1000);
    const cached = createVerifier({ ...issuer.verifierOptions, tokenCache: { max: 16 } });
    const token = await issuer.sign({}, { issuedAt: now, expiresIn: 60 });
    await expect(cached.verify(token)).resolves.toMatchObject({ exp: now + 60 });
    vi.setSystemTime((now + 30) * 1000);
    await expect(cached.verify(token)).resolves.toMatchObject({ exp: now + 60 });
    vi.setSystemTime((now + 66) * 1000);
    await expectOutcome(cached.verify(token), invalidToken('token_expired'));
  });

  it('#73 with maxTokenAge, entries expire when the token gets too old', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = 1_700_000_000;
    vi.setSystemTime(now * 1000);
    const cached = createVerifier({ ...issuer.verifierOptions, tokenCache: { max: 16 }, maxTokenAge: 30 });
    const token = await issuer.sign({}, { issuedAt: now, expiresIn: 3600 });
    await expect(cached.verify(token)).resolves.toBeDefined();
    vi.setSystemTime((now + 36) * 1000);
    await expectOutcome(cached.verify(token), invalidToken('token_too_old'));
  });

  it('#73 cached claims are shared, so they are frozen', async () => {
    const cached = createVerifier({ ...issuer.verifierOptions, tokenCache: { max: 16 } });
    const token = await issuer.sign({ scope: 'profile' });
    const first = await cached.verify(token);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as Record<string, unknown>).scope = 'admin';
    }).toThrow(TypeError);
    expect((await cached.verify(token)).scope).toBe('profile');
  });
});

describe('I. #74 stateful RegExps are not accepted for issuer or audience', () => {
  for (const pattern of [/issuer/g, /issuer/y, /issuer/]) {
    it(`#74 ${String(pattern)} as issuer or audience throws a TypeError naming the option`, () => {
      const base = { ...issuer.verifierOptions } as Record<string, unknown>;
      expect(() => createVerifier({ ...base, issuer: pattern } as never)).toThrow(/"issuer" option/);
      expect(() => createVerifier({ ...base, issuer: [pattern] } as never)).toThrow(/"issuer" option/);
      expect(() => createVerifier({ ...base, audience: pattern } as never)).toThrow(/"audience" option/);
      expect(() => createVerifier({ ...base, audience: [issuer.audience, pattern] } as never)).toThrow(
        /"audience" option/,
      );
    });
  }
});
