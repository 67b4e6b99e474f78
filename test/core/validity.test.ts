/**
 * The validity window is computed once, from the signed payload: a `claims` schema that transforms
 * `exp` (here into an ISO string) changes neither when a context re-verifies nor when `expired()`
 * resolves (it used to compute NaN from the schema's output, and never resolve).
 */
import { describe, expect, it } from 'vitest';
import { type AuthError, createVerifier, type StandardSchemaV1 } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

const expAsDate: StandardSchemaV1<Record<string, unknown>> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => {
      const claims = value as Record<string, unknown>;
      return { value: { ...claims, exp: new Date((claims.exp as number) * 1000).toISOString() } };
    },
  },
};

describe('validity window', () => {
  it.each([
    ['without a token cache', undefined],
    ['with a token cache', { max: 10 }],
  ])('a schema transforming exp: expired() still resolves at exp (%s)', async (_name, tokenCache) => {
    const issuer = await createTestIssuer();
    const verifier = createVerifier({
      ...issuer.verifierOptions,
      claims: expAsDate,
      clockTolerance: 0,
      ...(tokenCache && { tokenCache }),
    });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await issuer.sign({ exp });
    await verifier.verify(token); // fills the cache when there is one
    const auth = verifier.authenticate(`Bearer ${token}`);
    const claims = await auth.claims();
    expect(typeof claims.exp).toBe('string');
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error('expired() did not resolve by exp + 3 s')),
      5_000,
    );
    try {
      const error: AuthError = await auth.expired(controller.signal);
      expect(error.reason).toBe('token_expired');
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    } finally {
      clearTimeout(timer);
    }
  });
});
