/**
 * The verifier's presentation (realm, exposeReasons) reaches refusals the application raises
 * itself with the public `checkScopes`, on a real tRPC server and a real graphql-yoga server: the
 * challenge carries the configured realm, not the default "api".
 */
import { createServer } from 'node:http';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScopes, createVerifier, type Verifier } from '../../src/core/index.js';
import { type AuthContext as GraphQLAuthContext, useAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { authErrorFormatter, authResponseMeta, createAuthContext } from '../../src/trpc/index.js';
import { serverPool } from './support.js';

const CHALLENGE =
  'Bearer realm="orders", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="admin", DPoP realm="orders", algs="ES256 EdDSA Ed25519 PS256 RS256"';

let issuer: TestIssuer;
let verifier: Verifier;
const pool = serverPool();

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier({ ...issuer.verifierOptions, realm: 'orders' });
});

afterAll(() => pool.closeAll());

describe('checkScopes in application code renders with the verifier realm', () => {
  it('tRPC: a procedure calling checkScopes itself', async () => {
    const createContext = createAuthContext(verifier);
    const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
    const router = t.router({
      admin: t.procedure.query(async ({ ctx }) => {
        checkScopes(await ctx.auth.scopes(), 'admin');
        return 'ok';
      }),
    });
    const url = await pool.listen(
      createHTTPServer({ router, createContext, responseMeta: authResponseMeta }),
    );
    const response = await fetch(`${url}/admin`, {
      headers: { authorization: `Bearer ${await issuer.sign({ scope: 'read' })}` },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(CHALLENGE);
  });

  it('graphql-yoga: a resolver calling checkScopes itself', async () => {
    const yoga = createYoga({
      logging: false,
      schema: createSchema({
        typeDefs: 'type Query { admin: String! }',
        resolvers: {
          Query: {
            admin: async (_root: unknown, _args: unknown, context: GraphQLAuthContext) => {
              checkScopes(await context.auth.scopes(), 'admin');
              return 'ok';
            },
          },
        },
      }),
      plugins: [useAuth({ verifier })],
    });
    const url = await pool.listen(createServer(yoga));
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${await issuer.sign({ scope: 'read' })}`,
      },
      body: JSON.stringify({ query: '{ admin }' }),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(CHALLENGE);
  });
});
