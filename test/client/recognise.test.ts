/**
 * getAuthError / isAuthError on what real Apollo Clients throw for a whole-request refusal (401 /
 * 403 from a real yoga server with scopegate's useAuth): Apollo Client 3 (`ApolloError
 * .networkError`, a ServerError whose `result.errors` carry the extensions) and Apollo Client 4
 * (CombinedGraphQLErrors, or a ServerError with `bodyText` when the request accepts
 * application/json only). Then objects built to hurt: getters that throw, revoked proxies,
 * cycles, self-referencing fan-out: never a throw, and a bounded number of reads.
 */
import {
  ApolloClient as Apollo4,
  InMemoryCache as Cache4,
  gql as gql4,
  HttpLink as HttpLink4,
} from '@apollo/client';
import {
  ApolloClient as Apollo3,
  InMemoryCache as Cache3,
  gql as gql3,
  HttpLink as HttpLink3,
} from 'apollo-client-3/core/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAuthError, isAuthError } from '../../src/client/index.js';
import { AuthError, createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';
import { type Running, startYoga } from '../graphql/support.js';

const issuer = await createTestIssuer({ audience: 'https://api.recognise.test' });
let app: Running;

beforeAll(async () => {
  app = await startYoga({ verifier: createVerifier({ ...issuer.verifierOptions, realm: 'api' }) });
});

afterAll(async () => {
  await app.close();
});

const MISSING = { code: 'UNAUTHORIZED', reason: 'missing_token' } as const;
const FORBIDDEN = {
  code: 'FORBIDDEN',
  reason: 'insufficient_scope',
  requiredScopes: ['read:orders'],
} as const;
const EXPIRED = { code: 'UNAUTHORIZED', reason: 'token_expired' } as const;

async function tokenFor(kind: 'none' | 'expired' | 'forbidden'): Promise<Record<string, string>> {
  if (kind === 'none') return {};
  const token = kind === 'expired' ? await issuer.expired() : await issuer.sign({ scope: 'read:email' });
  return { authorization: `Bearer ${token}` };
}

const CASES = [
  ['401 no token', 'none', MISSING],
  ['401 expired', 'expired', EXPIRED],
  ['403 insufficient scope', 'forbidden', FORBIDDEN],
] as const;

describe('Apollo Client 3', () => {
  it.each(CASES)('%s: ApolloError.networkError.result.errors', async (_name, kind, expected) => {
    const client = new Apollo3({
      link: new HttpLink3({ uri: app.url, headers: await tokenFor(kind) }),
      cache: new Cache3(),
    });
    const error = await client.query({ query: gql3('{ requiredSecret }'), fetchPolicy: 'no-cache' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as { networkError?: { statusCode?: number } }).networkError?.statusCode).toBe(
      kind === 'forbidden' ? 403 : 401,
    );
    expect(getAuthError(error)).toMatchObject(expected);
    expect(isAuthError(error, expected.code)).toBe(true);
  });
});

describe('Apollo Client 4', () => {
  it.each(CASES)('%s, default Accept: CombinedGraphQLErrors', async (_name, kind, expected) => {
    const client = new Apollo4({
      link: new HttpLink4({ uri: app.url, headers: await tokenFor(kind) }),
      cache: new Cache4(),
    });
    const error = await client.query({ query: gql4('{ requiredSecret }'), fetchPolicy: 'no-cache' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(getAuthError(error)).toMatchObject(expected);
  });

  it.each(CASES)('%s, Accept application/json only: ServerError.bodyText', async (_name, kind, expected) => {
    const client = new Apollo4({
      link: new HttpLink4({
        uri: app.url,
        headers: { ...(await tokenFor(kind)), accept: 'application/json' },
      }),
      cache: new Cache4(),
    });
    const error = await client.query({ query: gql4('{ requiredSecret }'), fetchPolicy: 'no-cache' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'ServerError', statusCode: kind === 'forbidden' ? 403 : 401 });
    expect(getAuthError(error)).toMatchObject(expected);
  });

  it('a ServerError whose body is not JSON (a proxy’s 502 page) is not an auth error', () => {
    expect(
      getAuthError({ name: 'ServerError', statusCode: 502, bodyText: '<html>Bad gateway</html>' }),
    ).toBeNull();
  });
});

/** Wraps `target` in a proxy counting every trap call: the work getAuthError does, not its time. */
function counted<T extends object>(target: T): { proxy: T; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(target, {
    get(object, key, receiver) {
      reads++;
      return Reflect.get(object, key, receiver);
    },
  });
  return { proxy, reads: () => reads };
}

describe('hostile objects: never a throw, bounded work', () => {
  const auth = new AuthError('token_expired').toJSON();

  it('getters that throw', () => {
    const hostile = {
      get message(): string {
        throw new Error('message getter');
      },
      get errors(): unknown {
        throw new Error('errors getter');
      },
      graphQLErrors: [
        {
          get extensions(): unknown {
            throw new Error('nope');
          },
        },
        { extensions: auth },
      ],
    };
    expect(getAuthError(hostile)).toMatchObject({ reason: 'token_expired', message: auth.message });
  });

  it('revoked proxies, at the top and nested', () => {
    const top = Proxy.revocable({}, {});
    top.revoke();
    expect(getAuthError(top.proxy)).toBeNull();
    expect(isAuthError(top.proxy)).toBe(false);
    const inner = Proxy.revocable([], {});
    inner.revoke();
    expect(getAuthError({ errors: inner.proxy, cause: { errors: [inner.proxy, auth] } })).toMatchObject({
      reason: 'token_expired',
    });
  });

  it('a proxy whose every trap throws', () => {
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error('get');
        },
        has: () => {
          throw new Error('has');
        },
        ownKeys: () => {
          throw new Error('ownKeys');
        },
        getPrototypeOf: () => {
          throw new Error('getPrototypeOf');
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('gopd');
        },
      },
    );
    expect(getAuthError(throwing)).toBeNull();
    expect(getAuthError([throwing, { extensions: auth }])).toMatchObject({ reason: 'token_expired' });
  });

  it('cycles through every edge the walk follows', () => {
    const a: Record<string, unknown> = {};
    const b: Record<string, unknown> = {
      cause: a,
      networkError: a,
      result: a,
      error: a,
      response: { errors: [a] },
    };
    Object.assign(a, { errors: [a, b], graphQLErrors: [b], cause: b });
    expect(getAuthError(a)).toBeNull();
  });

  it('an error whose errors hold itself many times, many levels deep: bounded reads', () => {
    // Without a visited set this is 64^6 paths; with it, each object is read once.
    const levels: Record<string, unknown>[] = [];
    for (let i = 0; i < 8; i++) levels.push({ message: `level ${i}` });
    for (let i = 0; i < levels.length; i++) {
      const next = levels[i + 1] ?? levels[0];
      (levels[i] as Record<string, unknown>).errors = Array.from({ length: 10_000 }, () => next);
      (levels[i] as Record<string, unknown>).cause = levels[i];
    }
    const { proxy, reads } = counted(levels[0] as object);
    const self: Record<string, unknown> = { message: 'x' };
    self.errors = Array.from({ length: 5000 }, () => self);
    expect(getAuthError(proxy)).toBeNull();
    expect(getAuthError(self)).toBeNull();
    expect(reads()).toBeLessThan(50);
  });

  it('a wide, unique fan-out is capped in the number of objects visited', () => {
    let reads = 0;
    const leaf = () =>
      new Proxy(
        { message: 'leaf' },
        {
          get(object, key, receiver) {
            reads++;
            return Reflect.get(object, key, receiver);
          },
        },
      );
    const wide = { errors: Array.from({ length: 64 }, () => ({ errors: Array.from({ length: 64 }, leaf) })) };
    expect(getAuthError(wide)).toBeNull();
    // At most 256 objects are visited, ~13 reads each.
    expect(reads).toBeLessThan(256 * 16);
  });

  it('an array claiming a huge length is read only up to the item cap', () => {
    const { proxy, reads } = counted(
      new Proxy([], { get: (t, k) => (k === 'length' ? 1e9 : Reflect.get(t, k)) }),
    );
    expect(getAuthError({ errors: proxy })).toBeNull();
    expect(reads()).toBeLessThan(100);
  });

  it('an auth error after the junk is still found when within the bounds', () => {
    const junk = Array.from({ length: 20 }, (_, i) => ({ message: `junk ${i}` }));
    expect(getAuthError({ errors: [...junk, { extensions: auth }] })).toMatchObject({
      reason: 'token_expired',
    });
  });

  it('a huge bodyText is not parsed', () => {
    const body = JSON.stringify({ errors: [{ extensions: auth }], pad: 'x'.repeat(70 * 1024) });
    expect(getAuthError({ bodyText: body })).toBeNull();
    expect(getAuthError({ bodyText: JSON.stringify({ errors: [{ extensions: auth }] }) })).toMatchObject({
      reason: 'token_expired',
    });
  });
});
