/**
 * Code-first schemas (no SDL): `extensions: { auth }` on types, interfaces and fields, and
 * `withAuth(requirement, resolver)`, with the same semantics as the directive, served by yoga.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  graphql,
} from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verifier } from '../../src/core/index.js';
import { type AuthContext, authDirective, useAuth, withAuth } from '../../src/graphql/index.js';
import type { TestIssuer } from '../../src/testing/index.js';
import { errorCodes, gql, issuerAndVerifier } from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;
let url: string;
let close: () => Promise<void>;
const state = { writes: 0 };

const Secret = new GraphQLInterfaceType({
  name: 'Secret',
  extensions: { auth: true },
  fields: { code: { type: GraphQLString } },
});

const Vault = new GraphQLObjectType({
  name: 'Vault',
  interfaces: [Secret],
  extensions: { auth: { scopes: ['vault'] } },
  fields: {
    code: { type: GraphQLString },
    gold: { type: GraphQLInt, extensions: { auth: { anyOf: [['gold'], ['admin']] } } },
  },
});

const Note = new GraphQLObjectType({
  name: 'Note',
  interfaces: [Secret],
  fields: { code: { type: GraphQLString }, text: { type: GraphQLString } },
});

const schema = new GraphQLSchema({
  types: [Vault, Note],
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      open: { type: GraphQLString, resolve: () => 'open' },
      whoami: {
        type: GraphQLString,
        resolve: withAuth(true, async (_root, _args, ctx: AuthContext) => (await ctx.auth.claims()).sub),
      },
      reports: {
        type: new GraphQLList(GraphQLString),
        resolve: withAuth({ scopes: ['reports'] }, () => ['q1', 'q2']),
      },
      secrets: {
        type: new GraphQLList(Secret),
        resolve: () => [
          { kind: 'Vault', code: 'v', gold: 7 },
          { kind: 'Note', code: 'n', text: 'hi' },
        ],
      },
    },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: {
      write: {
        type: new GraphQLNonNull(GraphQLInt),
        resolve: withAuth('write', () => ++state.writes),
      },
    },
  }),
});
Secret.resolveType = (value: { kind: string }) => value.kind;

beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
  const yoga = createYoga({
    schema: authDirective({ scopes: ['vault', 'gold', 'admin', 'reports', 'write'] }).transformer(schema),
    plugins: [useAuth({ verifier })],
    logging: false,
  });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(() => close());

describe('code-first', () => {
  it('withAuth guards a resolver; public fields stay public', async () => {
    const anonymous = await gql(url, '{ open whoami reports }');
    expect(anonymous.body.data).toEqual({ open: 'open', whoami: null, reports: null });
    expect(errorCodes(anonymous.body)).toEqual([
      { path: 'reports', code: 'UNAUTHORIZED', reason: 'missing_token' },
      { path: 'whoami', code: 'UNAUTHORIZED', reason: 'missing_token' },
    ]);
    const allowed = await gql(url, '{ whoami reports }', { token: await issuer.sign({ scope: 'reports' }) });
    expect(allowed.body).toEqual({ data: { whoami: 'test-user', reports: ['q1', 'q2'] } });
  });

  it('extensions.auth on an interface, an object type and a field combine by AND', async () => {
    const query = '{ secrets { code ... on Vault { gold } ... on Note { text } } }';
    const authenticated = await gql(url, query, { token: await issuer.sign() });
    expect(authenticated.body.data).toEqual({
      secrets: [
        { code: null, gold: null },
        { code: 'n', text: 'hi' },
      ],
    });
    expect(authenticated.body.errors?.map((error) => error.extensions?.requiredScopes)).toEqual([
      ['vault'],
      ['vault', 'gold'],
    ]);
    const goldOnly = await gql(url, query, { token: await issuer.sign({ scope: 'gold' }) });
    expect(goldOnly.body.data?.secrets).toEqual([
      { code: null, gold: null },
      { code: 'n', text: 'hi' },
    ]);
    const vaultAdmin = await gql(url, query, { token: await issuer.sign({ scope: 'vault admin' }) });
    expect(vaultAdmin.body).toEqual({
      data: {
        secrets: [
          { code: 'v', gold: 7 },
          { code: 'n', text: 'hi' },
        ],
      },
    });
    const anonymous = await gql(url, '{ secrets { ... on Note { text } } }');
    expect(anonymous.body).toEqual({ data: { secrets: [{}, { text: 'hi' }] } });
  });

  it('a withAuth mutation is checked before execution after the transform', async () => {
    const denied = await gql(url, 'mutation { write }', { token: await issuer.sign({ scope: 'reports' }) });
    expect(denied.status).toBe(403);
    expect(denied.body.data).toBeUndefined();
    expect(state.writes).toBe(0);
    const allowed = await gql(url, 'mutation { write }', { token: await issuer.sign({ scope: 'write' }) });
    expect(allowed.body).toEqual({ data: { write: 1 } });
  });

  it('withAuth works without the transformer too', async () => {
    const result = await graphql({
      schema,
      source: '{ reports }',
      contextValue: { auth: verifier.authenticate(`Bearer ${await issuer.sign({ scope: 'other' })}`) },
    });
    expect(result.data).toEqual({ reports: null });
    expect(result.errors?.[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['reports'],
    });
  });

  it('withAuth validates its requirement at once', () => {
    expect(() => withAuth([], () => 1)).toThrow(
      new TypeError('withAuth: scope requirement must be a non-empty scope string or list of scope strings'),
    );
    expect(() => withAuth({ scopes: [] }, () => 1)).toThrow(TypeError);
  });
});
