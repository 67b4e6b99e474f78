/**
 * createAuthFetch as the `fetch` of urql (@urql/core), graphql-request and Apollo Client 4's
 * HttpLink, against a real graphql-yoga server with scopegate's useAuth: refresh on expiry when
 * the whole operation is refused (401), and never a retry on partial data (200 with errors) or a
 * 403.
 */
import { ApolloClient, gql as apolloGql, HttpLink, InMemoryCache } from '@apollo/client';
import { fetchExchange, Client as UrqlClient } from '@urql/core';
import { GraphQLClient } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFetch, createAuthFetch, getAuthError } from '../../src/client/index.js';
import { createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';
import { type Running, startYoga } from '../graphql/support.js';

const issuer = await createTestIssuer({ audience: 'https://api.client-graphql.test' });
let app: Running;

beforeAll(async () => {
  app = await startYoga({ verifier: createVerifier({ ...issuer.verifierOptions, realm: 'api' }) });
});

afterAll(async () => {
  await app.close();
});

interface Outcome {
  readonly data: unknown;
  readonly error: unknown;
}

/** One operation through each real client, its `fetch` being the auth fetch. */
const CLIENTS: Record<string, (fetch: AuthFetch, query: string) => Promise<Outcome>> = {
  urql: async (fetch, query) => {
    const client = new UrqlClient({
      url: app.url,
      exchanges: [fetchExchange],
      fetch,
      requestPolicy: 'network-only',
    });
    const result = await client.query(query, {}).toPromise();
    return { data: result.data ?? null, error: result.error };
  },
  'graphql-request': async (fetch, query) => {
    const client = new GraphQLClient(app.url, { fetch, errorPolicy: 'all' });
    try {
      const result = await client.rawRequest(query);
      return { data: result.data, error: result.errors ? result : undefined };
    } catch (error) {
      return { data: null, error };
    }
  },
  'Apollo Client 4 HttpLink': async (fetch, query) => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: app.url, fetch }),
      cache: new InMemoryCache(),
    });
    const result = await client.query({
      query: apolloGql(query),
      fetchPolicy: 'no-cache',
      errorPolicy: 'all',
    });
    return { data: result.data ?? null, error: result.error };
  },
};

function harness(initial: string | null, scope = 'read:orders') {
  const statuses: number[] = [];
  const store = { token: initial, refreshes: 0 };
  const authFetch = createAuthFetch({
    getToken: () => store.token,
    refresh: async () => {
      store.refreshes++;
      store.token = await issuer.sign({ scope, sub: 'fresh' });
      return store.token;
    },
    fetch: async (input, init) => {
      const response = await globalThis.fetch(input, init);
      statuses.push(response.status);
      return response;
    },
  });
  return { authFetch, statuses, store };
}

describe.each(Object.entries(CLIENTS))('%s', (_name, run) => {
  it('a whole operation refused for an expired token (401): refresh once, retry once, data', async () => {
    const { authFetch, statuses, store } = harness(await issuer.expired({ scope: 'read:orders' }));
    const outcome = await run(authFetch, '{ requiredLogin requiredSecret }');
    expect(outcome.error).toBeUndefined();
    expect(outcome.data).toEqual({ requiredLogin: 'logged in', requiredSecret: 'secret' });
    expect(statuses).toEqual([401, 200]);
    expect(store.refreshes).toBe(1);
  });

  it('partial data (200, public fields answered, protected ones refused) is never retried', async () => {
    const { authFetch, statuses, store } = harness(await issuer.expired({ scope: 'read:orders' }));
    const outcome = await run(authFetch, '{ publicInfo me { sub } }');
    expect(outcome.data).toEqual({ publicInfo: 'hello', me: null });
    expect(getAuthError(outcome.error)).toMatchObject({ code: 'UNAUTHORIZED', reason: 'token_expired' });
    expect(statuses).toEqual([200]);
    expect(store.refreshes).toBe(0);
  });

  it('a 403 is never retried (#69)', async () => {
    const { authFetch, statuses, store } = harness(await issuer.sign({ scope: 'read:email' }));
    const outcome = await run(authFetch, '{ requiredSecret }');
    expect(getAuthError(outcome.error)).toMatchObject({ code: 'FORBIDDEN', reason: 'insufficient_scope' });
    expect(statuses).toEqual([403]);
    expect(store.refreshes).toBe(0);
  });
});

it('a mutation answered with partial data ran once: the auth fetch does not run it again', async () => {
  const before = app.state.sideEffects;
  const { authFetch, statuses, store } = harness(await issuer.expired());
  const response = await authFetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: 'mutation { touch }' }),
  });
  const body = (await response.json()) as { data?: unknown };
  expect(response.status).toBe(200);
  expect(body.data).toEqual({ touch: before + 1 });
  expect(app.state.sideEffects).toBe(before + 1);
  expect(statuses).toEqual([200]);
  expect(store.refreshes).toBe(0);
});
