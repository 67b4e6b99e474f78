/**
 * Integration test of the example: the real Apollo Server 5 (startStandaloneServer) at
 * 127.0.0.1, real tokens from the testing kit, queried with fetch and with Apollo Client 4.
 */
import { ApolloClient, CombinedGraphQLErrors, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createVerifier } from 'scopegate';
import { assertProtected } from 'scopegate/graphql';
import { createTestIssuer, type TestIssuer } from 'scopegate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from './app.js';

let issuer: TestIssuer;
let app: App;
let url: string;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://notes.example.test' });
  app = createApp(createVerifier(issuer.verifierOptions));
  ({ url } = await startStandaloneServer(app.server, {
    context: app.context,
    listen: { port: 0, host: '127.0.0.1' },
  }));
});
afterAll(() => app.server.stop());

const bearer = async (scope: string) => `Bearer ${await issuer.sign({ scope, email: 'ada@example.test' })}`;

async function post(query: string, scope?: string) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  };
  if (scope !== undefined) headers.authorization = await bearer(scope);
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const client = (authorization?: string) =>
  new ApolloClient({
    link: new HttpLink({ uri: url, ...(authorization && { headers: { authorization } }) }),
    cache: new InMemoryCache(),
  });

describe('examples/apollo', () => {
  it('a public field needs no token', async () => {
    expect((await post('{ health }')).body).toEqual({ data: { health: 'ok' } });
  });

  it('deny by default: every root field is protected or declared public', () => {
    expect(() => assertProtected(app.schema, { public: ['Query.health'] })).not.toThrow();
  });

  it('anonymous notes: 401 with the challenge', async () => {
    const reply = await post('{ notes { id } }');
    expect(reply.status).toBe(401);
    // The default DPoP mode, `allowed`, challenges with both schemes.
    expect(reply.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
    expect(reply.body.errors).toMatchObject([
      { extensions: { code: 'UNAUTHORIZED', reason: 'missing_token' } },
    ]);
  });

  it('addNote without notes:write: 403 before the resolver, nothing stored', async () => {
    const reply = await post('mutation { addNote(text: "x") { id } }', 'notes:read');
    expect(reply.status).toBe(403);
    expect(reply.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="notes:write"/);
    expect((await post('{ notes { id } }', 'notes:read')).body).toEqual({ data: { notes: [] } });
  });

  it('Apollo Client: write then read with the right scopes; a missing scope is a FORBIDDEN error', async () => {
    const writer = client(await bearer('notes:write'));
    const added = await writer.mutate({
      mutation: gql`mutation { addNote(text: "hello") { id text author } }`,
    });
    expect(added.data).toEqual({
      addNote: { __typename: 'Note', id: '1', text: 'hello', author: 'test-user' },
    });

    const reader = client(await bearer('notes:read'));
    const read = await reader.query({
      query: gql`{ notes { id text } me { id email } }`,
      errorPolicy: 'all',
    });
    expect(read.data).toEqual({
      notes: [{ __typename: 'Note', id: '1', text: 'hello' }],
      me: { __typename: 'User', id: 'test-user', email: null },
    });
    expect(CombinedGraphQLErrors.is(read.error)).toBe(true);
    expect((read.error as CombinedGraphQLErrors).errors[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['profile:email'],
    });
  });
});
