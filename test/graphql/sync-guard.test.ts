/**
 * The guards' synchronous path (issue #11): once the request's claims are settled a guard decides
 * without a promise and returns the resolver's own value, caches its decision per requirement,
 * and goes back to verifying (and refusing) once the claims are past their validity.
 */
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import type { LazyRequestAuth } from '../../src/core/request-auth.js';
import { withAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const info = { operation: { operation: 'query' }, path: { prev: undefined, key: 'f' } } as GraphQLResolveInfo;
const value = { answer: 42 };

let issuer: TestIssuer;
let verifier: Verifier;

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

async function settledContext(scope: string, expiresIn = 300) {
  const auth = verifier.authenticate(`Bearer ${await issuer.sign({ scope }, { expiresIn })}`);
  await auth.claims();
  return { auth };
}

describe('guards once the claims are settled', () => {
  it('return the resolver value itself, no promise; before settling, a promise of it', async () => {
    const field = withAuth({ scopes: ['read'] }, () => value);
    const context = { auth: verifier.authenticate(`Bearer ${await issuer.sign({ scope: 'read' })}`) };
    const first = field({}, {}, context, info);
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toBe(value);
    expect(field({}, {}, context, info)).toBe(value);
    expect(withAuth(true, () => value)({}, {}, context, info)).toBe(value);
  });

  it('refuse with the documented error, the decision cached per requirement', async () => {
    const field = withAuth({ scopes: ['write'] }, () => value);
    const context = await settledContext('read');
    const refused = field({}, {}, context, info);
    await expect(refused).rejects.toBeInstanceOf(GraphQLError);
    await expect(refused).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN', reason: 'insufficient_scope', requiredScopes: ['write'] },
    });
    const auth = context.auth as LazyRequestAuth<object>;
    const write = [['write']];
    expect(auth.decide(write)).toBe(auth.decide(write));
    expect(auth.decide(write)).toMatchObject({ reason: 'insufficient_scope' });
    expect(auth.decide([['read']])).toBeNull();
  });

  it('verify again past the validity: the settled claims are dropped and the token refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const field = withAuth({ scopes: ['read'] }, () => value);
    const context = await settledContext('read', 60);
    expect(field({}, {}, context, info)).toBe(value);
    vi.setSystemTime(Date.now() + 61_000);
    expect((context.auth as LazyRequestAuth<object>).settled()).toBeUndefined();
    const late = field({}, {}, context, info);
    expect(late).toBeInstanceOf(Promise);
    await expect(late).rejects.toMatchObject({
      extensions: { code: 'UNAUTHORIZED', reason: 'token_expired' },
    });
  });
});
