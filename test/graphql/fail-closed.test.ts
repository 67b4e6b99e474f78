/**
 * Issue 8, fail closed (items 1, 5, 6): a schema whose `@auth` is not enforced is never served.
 * - the transformer never ran (`@auth` in SDL, `extensions.auth` code-first): useAuth and
 *   createWsAuth refuse to start, naming the fields (before: HTTP 200 with the data);
 * - the guard was replaced after the transform (`addResolversToSchema`): describeSchema no longer
 *   reports the field protected, assertProtected fails, useAuth refuses to start; transforming
 *   the final schema again enforces it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addResolversToSchema, makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import {
  assertProtected,
  authDirective,
  createWsAuth,
  describeSchema,
  useAuth,
} from '../../src/graphql/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

let verifier: Verifier;
beforeAll(async () => {
  const issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions as never);
});

const { typeDefs: authTypeDefs, transformer } = authDirective();
const SDL = /* GraphQL */ `
  type Query {
    health: String!
    secret: String @auth(scopes: ["read:secret"])
  }
`;
const resolvers = { Query: { health: () => 'ok', secret: () => 'the secret' } };

function yogaWith(schema: GraphQLSchema) {
  return createYoga({ schema, logging: false, plugins: [useAuth({ verifier })] });
}

describe('item 1: the transformer never ran', () => {
  it('SDL @auth: useAuth refuses to start, naming the field', () => {
    const schema = makeExecutableSchema({ typeDefs: [authTypeDefs, SDL], resolvers });
    expect(() => yogaWith(schema)).toThrow(
      /^useAuth: the schema declares @auth on fields it does not enforce/,
    );
    expect(() => yogaWith(schema)).toThrow(
      'Query.secret: @auth is not enforced (transformer() was not applied)',
    );
  });

  it('type-level @auth and a renamed directive are recognised too', () => {
    const renamed = authDirective({ name: 'requires' });
    const schema = makeExecutableSchema({
      typeDefs: [renamed.typeDefs, 'type Query { me: Me } type Me @requires { sub: String }'],
      resolvers: { Query: { me: () => ({ sub: 'x' }) } },
    });
    expect(() => yogaWith(schema)).toThrow('Me.sub: @auth is not enforced');
    expect(() => yogaWith(renamed.transformer(schema))).not.toThrow();
  });

  it('code-first extensions.auth: useAuth refuses to start', () => {
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          secret: {
            type: GraphQLString,
            resolve: () => 'the secret',
            extensions: { auth: { scopes: ['read:secret'] } },
          },
        },
      }),
    });
    expect(() => yogaWith(schema)).toThrow('Query.secret: @auth is not enforced');
    expect(() => yogaWith(transformer(schema))).not.toThrow();
  });

  it('createWsAuth refuses an untransformed schema', () => {
    const schema = makeExecutableSchema({ typeDefs: [authTypeDefs, SDL], resolvers });
    expect(() => createWsAuth({ verifier, schema })).toThrow(
      /^createWsAuth: the schema declares @auth .*Query\.secret: @auth is not enforced/,
    );
    expect(() => createWsAuth({ verifier, schema: transformer(schema) })).not.toThrow();
  });
});

describe('item 5: the guard was replaced after the transform (addResolversToSchema)', () => {
  const replaced = () =>
    addResolversToSchema({ schema: transformer(buildSchema(`${authTypeDefs}${SDL}`)), resolvers });

  it('describeSchema does not report it protected; assertProtected fails naming it', () => {
    const schema = replaced();
    const secret = describeSchema(schema).find((field) => field.coordinate === 'Query.secret');
    expect(secret?.access).toBe('public');
    expect(() => assertProtected(schema, { public: ['Query.health', 'Query.secret'] })).toThrow(
      'Query.secret: its guard resolver was replaced after transformer() (addResolversToSchema?)',
    );
  });

  it('useAuth and createWsAuth refuse to start', () => {
    expect(() => yogaWith(replaced())).toThrow('Query.secret: its guard resolver was replaced');
    expect(() => createWsAuth({ verifier, schema: replaced() })).toThrow(
      'Query.secret: its guard resolver was replaced',
    );
  });

  describe('transforming the final schema again enforces it (served over HTTP)', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      const schema = transformer(replaced());
      expect(describeSchema(schema).find((field) => field.coordinate === 'Query.secret')?.access).toBe(
        'authenticated',
      );
      server = createServer(yogaWith(schema));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('an anonymous caller gets no secret', async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ health secret }' }),
      });
      const body = (await response.json()) as { data: unknown; errors?: { extensions?: unknown }[] };
      expect(body.data).toEqual({ health: 'ok', secret: null });
      expect(body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHORIZED', reason: 'missing_token' });
    });
  });
});
