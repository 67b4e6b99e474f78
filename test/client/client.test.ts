/**
 * scopegate/client against the errors real clients produce: a TRPCClientError from the example
 * tRPC API over HTTP, GraphQL results from the example yoga API over HTTP, and the wrappers of
 * Apollo Client (3: graphQLErrors, 4: CombinedGraphQLErrors.errors), urql (CombinedError
 * .graphQLErrors) and graphql-request (ClientError.response.errors) around those real errors.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as createGraphQLApp } from '../../examples/graphql-yoga/app.js';
import { type AppRouter, createApp as createTRPCApp } from '../../examples/trpc/app.js';
import { AUTH_ERROR_CODES, AUTH_ERROR_REASONS, getAuthError, isAuthError } from '../../src/client/index.js';
import { AuthError, createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

const issuer = await createTestIssuer({ audience: 'https://api.client.test' });
const servers: Server[] = [];
let trpcUrl = '';
let graphqlUrl = '';

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const verifier = createVerifier(issuer.verifierOptions);
  const { appRouter, createContext } = createTRPCApp(verifier);
  trpcUrl = await listen(createHTTPServer({ router: appRouter, createContext }));
  graphqlUrl = `${await listen(createServer(createGraphQLApp(verifier, { graphiql: false })))}/graphql`;
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function trpcError(
  token: string | null,
  call: (client: ReturnType<typeof trpcFor>) => Promise<unknown>,
) {
  const error = await call(trpcFor(token)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<AppRouter>;
}

function trpcFor(token: string | null) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: trpcUrl, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
  });
}

async function graphql(token: string | null, query: string) {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: unknown }[] };
}

describe('tRPC client errors', () => {
  it('reads a 403 from TRPCClientError.data.auth, typed, with the required scopes', async () => {
    const token = await issuer.sign({ scope: 'notes:read' });
    const error = await trpcError(token, (c) => c.notes.add.mutate({ text: 'x' }));
    const auth = getAuthError(error);
    expect(auth).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      message: 'The access token does not grant the scopes this operation requires',
      requiredScopes: ['notes:write'],
    });
    // The same data is inferred on the client from the router type.
    expect(error.data?.auth?.reason).toBe('insufficient_scope');
    expect(isAuthError(error, 'FORBIDDEN')).toBe(true);
    expect(isAuthError(error, 'UNAUTHORIZED')).toBe(false);
  });

  it.each([
    ['no token', async () => null, 'UNAUTHORIZED', 'missing_token'],
    ['an expired token', () => issuer.expired(), 'UNAUTHORIZED', 'token_expired'],
    ['malformed credentials', async () => 'a b', 'BAD_REQUEST', 'invalid_request'],
  ])('reads %s', async (_name, token, code, reason) => {
    const error = await trpcError(await token(), (c) => c.notes.list.query());
    expect(getAuthError(error)).toMatchObject({ code, reason });
  });

  it('a BAD_REQUEST that is not about auth (input validation) is not an auth error', async () => {
    const token = await issuer.sign({ scope: 'notes:write', org: 'acme' });
    const error = await trpcError(token, (c) => c.notes.add.mutate({ text: '' }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(getAuthError(error)).toBeNull();
    expect(isAuthError(error)).toBe(false);
  });

  it('finds the auth error through a cause chain (an app error wrapping the client error)', async () => {
    const error = await trpcError(null, (c) => c.notes.list.query());
    expect(getAuthError(new Error('loading notes failed', { cause: error }))).toMatchObject({
      reason: 'missing_token',
    });
  });
});

describe('GraphQL client errors', () => {
  it('reads a denied field from the execution result, its errors array, and one error', async () => {
    const token = await issuer.sign({ scope: 'notes:read' });
    const result = await graphql(token, 'mutation { addNote(text: "x") { id } }');
    const expected = { code: 'FORBIDDEN', reason: 'insufficient_scope', requiredScopes: ['notes:write'] };
    expect(getAuthError(result)).toMatchObject(expected);
    expect(getAuthError(result.errors)).toMatchObject(expected);
    expect(getAuthError(result.errors?.[0])).toMatchObject({
      ...expected,
      message: result.errors?.[0]?.message,
    });
  });

  it('reads the errors of Apollo Client 3 and 4, urql and graphql-request wrappers', async () => {
    const result = await graphql(await issuer.expired(), '{ notes { id } }');
    const wrappers = {
      'Apollo 3 ApolloError / urql CombinedError': Object.assign(new Error('x'), {
        graphQLErrors: result.errors,
      }),
      'Apollo 4 CombinedGraphQLErrors': Object.assign(new Error('x'), { errors: result.errors }),
      'graphql-request ClientError': Object.assign(new Error('x'), {
        response: { errors: result.errors, status: 401 },
      }),
    };
    for (const wrapper of Object.values(wrappers)) {
      expect(getAuthError(wrapper)).toMatchObject({ code: 'UNAUTHORIZED', reason: 'token_expired' });
      expect(isAuthError(wrapper, 'UNAUTHORIZED')).toBe(true);
    }
  });

  it('public data with no error is not an auth error', async () => {
    const result = await graphql(null, '{ health }');
    expect(result.errors).toBeUndefined();
    expect(getAuthError(result)).toBeNull();
  });
});

describe('what is not an auth error', () => {
  it.each([
    ['null', null],
    ['a string', 'UNAUTHORIZED'],
    ['a plain Error', new Error('boom')],
    ['an unknown reason', { code: 'UNAUTHORIZED', reason: 'not_a_reason' }],
    ['an unknown code', { extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'token_expired' } }],
    ['a GraphQL error of another kind', { message: 'x', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }],
    ['tRPC data without auth', { data: { code: 'FORBIDDEN', auth: null } }],
  ])('%s', (_name, value) => {
    expect(getAuthError(value)).toBeNull();
  });

  it('terminates on cyclic and deep structures', () => {
    const cyclic: { cause?: unknown } = {};
    cyclic.cause = cyclic;
    expect(getAuthError(cyclic)).toBeNull();
    let deep: unknown = new AuthError('token_expired').toJSON();
    for (let i = 0; i < 20; i++) deep = { cause: deep };
    expect(getAuthError(deep)).toBeNull();
  });

  it('drops malformed optional members instead of passing them on', () => {
    expect(getAuthError({ code: 'FORBIDDEN', reason: 'insufficient_scope', requiredScopes: [1, 2] })).toEqual(
      {
        code: 'FORBIDDEN',
        reason: 'insufficient_scope',
        message: '',
      },
    );
  });
});

it('exports the codes and reasons the server uses, including the collapsed invalid_token', () => {
  expect(AUTH_ERROR_CODES).toEqual(['UNAUTHORIZED', 'FORBIDDEN', 'BAD_REQUEST', 'SERVICE_UNAVAILABLE']);
  expect(AUTH_ERROR_REASONS).toContain('invalid_token');
  expect(getAuthError(new AuthError('invalid_signature').toJSON())).toMatchObject({
    reason: 'invalid_signature',
  });
});
