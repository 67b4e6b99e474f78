/**
 * scopegate/apollo end to end: a real Apollo Server 5 (standalone and Express 5 integrations) on
 * 127.0.0.1, queried with fetch for exact statuses and headers and with a real Apollo Client 4
 * (HttpLink), with real tokens from the testing kit. Apollo Server 5 declares graphql 16 as its
 * peer: these tests run on graphql 16 only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApolloClient,
  CombinedGraphQLErrors,
  gql as clientGql,
  HttpLink,
  InMemoryCache,
} from '@apollo/client';
import { ApolloServer, type ApolloServerOptions, type BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { startStandaloneServer } from '@apollo/server/standalone';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApolloAuthOptions, apolloAuth } from '../../src/apollo/index.js';
import { getAuthError } from '../../src/client/index.js';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import { authDirective } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  ACCEPTS,
  type AppState,
  buildSchema,
  CHALLENGE_INVALID_REQUEST,
  CHALLENGE_INVALID_TOKEN,
  CHALLENGE_MISSING,
  challengeInsufficientScope,
  errorCodes,
  gql,
  issuerAndVerifier,
  rawPost,
} from '../graphql/support.js';

interface Running {
  readonly url: string;
  readonly state: AppState;
  close(): Promise<void>;
}

type ServerOptions = Partial<Omit<ApolloServerOptions<BaseContext>, 'schema' | 'typeDefs' | 'gateway'>>;

/** Apollo Server 5 with `startStandaloneServer` on 127.0.0.1:<ephemeral>. */
async function startApollo(
  verifier: Verifier,
  options: { precheck?: ApolloAuthOptions['precheck']; server?: ServerOptions } = {},
): Promise<Running> {
  const state: AppState = { sideEffects: 0 };
  const auth = apolloAuth({ verifier, ...(options.precheck && { precheck: options.precheck }) });
  const server = new ApolloServer({
    schema: buildSchema(state),
    ...options.server,
    plugins: [auth.plugin],
  } as ApolloServerOptions<BaseContext>);
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ ...auth.context({ req }), requestId: 'r1' }),
  });
  return { url, state, close: () => server.stop() };
}

/** Apollo Server 5 behind Express 5 (`@as-integrations/express5`) on node:http. */
async function startExpress(verifier: Verifier): Promise<Running & { server: Server }> {
  const state: AppState = { sideEffects: 0 };
  const auth = apolloAuth({ verifier });
  const apollo = new ApolloServer({ schema: buildSchema(state), plugins: [auth.plugin] });
  await apollo.start();
  const app = express();
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(apollo, { context: async ({ req }) => auth.context({ req }) }),
  );
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    state,
    server,
    close: async () => {
      await apollo.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

let issuer: TestIssuer;
let verifier: Verifier;
let app: Running;

beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
  app = await startApollo(verifier);
});
afterAll(() => app.close());

const token = (scope?: string) => issuer.sign(scope === undefined ? {} : { scope });
const forged = async (scope?: string) => `${(await token(scope)).slice(0, -4)}AAAA`;

const MISSING_MESSAGE = 'Authentication required: send an access token as "Authorization: Bearer <token>"';

describe('fail closed (issue 8): a schema whose @auth is not enforced', () => {
  it('Apollo Server refuses to start when transformer() was never applied, naming the field', async () => {
    const { typeDefs: authTypeDefs } = authDirective({ scopes: ['read:orders'] });
    const untransformed = makeExecutableSchema({
      typeDefs: [
        authTypeDefs,
        'type Query { health: String!, orders: [String!]! @auth(scopes: ["read:orders"]) }',
      ],
      resolvers: { Query: { health: () => 'ok', orders: () => ['secret'] } },
    });
    const server = new ApolloServer({ schema: untransformed, plugins: [apolloAuth({ verifier }).plugin] });
    await expect(server.start()).rejects.toThrow(
      /apolloAuth: the schema declares @auth on fields it does not enforce.*Query\.orders: @auth is not enforced/,
    );
  });

  it('a transformed schema starts (the check does not refuse Apollo-instrumented resolvers)', async () => {
    const server = new ApolloServer({
      schema: buildSchema({ sideEffects: 0 }),
      plugins: [apolloAuth({ verifier }).plugin],
    });
    await server.start();
    await server.stop();
  });
});

describe('laziness and partial data', () => {
  it('a public query with a garbage token resolves; nothing depended on Authorization', async () => {
    const reply = await gql(app.url, '{ publicInfo __typename }', { token: 'not.a.jwt' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { publicInfo: 'hello', __typename: 'Query' } });
    expect(reply.headers.get('cache-control')).not.toMatch(/private/);
    expect(reply.headers.get('vary') ?? '').not.toMatch(/authorization/i);
  });

  it('public fields resolve beside protected ones with an invalid (forged) token: 200, field errors', async () => {
    const reply = await gql(app.url, '{ publicInfo order(id: "o1") { total } }', {
      token: await forged('read:orders'),
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ publicInfo: 'hello', order: null });
    expect(errorCodes(reply.body)).toEqual([
      { path: 'order.total', code: 'UNAUTHORIZED', reason: 'invalid_signature' },
    ]);
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
    expect(reply.headers.get('vary')).toMatch(/(^|, *)authorization($|,)/i);
    expect(reply.headers.get('www-authenticate')).toBeNull();
  });

  it('an AuthError thrown by an application resolver (ctx.auth.claims()) is exposed, not INTERNAL_SERVER_ERROR', async () => {
    const reply = await gql(app.url, '{ publicInfo me { sub } }', { token: await issuer.expired() });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ publicInfo: 'hello', me: null });
    expect(reply.body.errors).toEqual([
      {
        message: 'The access token has expired',
        locations: [{ line: 1, column: 14 }],
        path: ['me'],
        extensions: { code: 'UNAUTHORIZED', reason: 'token_expired' },
      },
    ]);
  });

  it('a valid token with the scope: 200 with data', async () => {
    const reply = await gql(app.url, '{ orders { id } me { sub } }', { token: await token('read:orders') });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { orders: [{ id: 'o1' }, { id: 'o2' }], me: { sub: 'test-user' } } });
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
  });
});

describe('whole operation denied: no data, status and challenge', () => {
  it.each(ACCEPTS)('#1 anonymous (%s): 401 with the bare challenge, exact error', async (accept) => {
    const reply = await gql(app.url, '{ publicInfo requiredSecret }', { accept });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
    expect(reply.headers.get('vary')).toMatch(/(^|, *)authorization($|,)/i);
    expect(reply.body.data).toBeNull();
    // Exactly yoga's error: no stacktrace although Apollo adds one outside production.
    expect(reply.body.errors).toEqual([
      {
        message: MISSING_MESSAGE,
        locations: [{ line: 1, column: 14 }],
        path: ['requiredSecret'],
        extensions: { code: 'UNAUTHORIZED', reason: 'missing_token' },
      },
    ]);
  });

  it('expired: 401 invalid_token challenge, reason token_expired', async () => {
    const reply = await gql(app.url, '{ requiredLogin }', { token: await issuer.expired() });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_INVALID_TOKEN);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredLogin', code: 'UNAUTHORIZED', reason: 'token_expired' },
    ]);
  });

  it('forged signature: 401 invalid_signature', async () => {
    const reply = await gql(app.url, '{ requiredLogin }', { token: await forged() });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_INVALID_TOKEN);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredLogin', code: 'UNAUTHORIZED', reason: 'invalid_signature' },
    ]);
  });

  it.each(ACCEPTS)('under-scoped (%s): 403 with the scope in the challenge', async (accept) => {
    const reply = await gql(app.url, '{ requiredSecret }', { accept, token: await token('read:email') });
    expect(reply.status).toBe(403);
    expect(reply.headers.get('www-authenticate')).toBe(challengeInsufficientScope('read:orders'));
    expect(reply.body.errors?.[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['read:orders'],
    });
  });

  it.each(['Bearer', 'Bearer a b', 'Bearer "x"'])(
    '#4 #5 malformed Authorization %j: 400 invalid_request',
    async (authorization) => {
      const reply = await gql(app.url, '{ requiredLogin }', { authorization });
      expect(reply.status).toBe(400);
      expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_INVALID_REQUEST);
      expect(errorCodes(reply.body)).toEqual([
        { path: 'requiredLogin', code: 'BAD_REQUEST', reason: 'invalid_request' },
      ]);
    },
  );
});

describe('mutations are checked before any resolver runs', () => {
  const MUTATION = 'mutation { touch placeOrder(sku: "x") { id } }';

  it('anonymous: 401, no side effect', async () => {
    const reply = await gql(app.url, MUTATION);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    expect(reply.body.data).toBeUndefined();
    expect(errorCodes(reply.body)).toEqual([{ path: '', code: 'UNAUTHORIZED', reason: 'missing_token' }]);
    expect(app.state.sideEffects).toBe(0);
  });

  it('under-scoped: 403 for the denied field, the public one did not run either', async () => {
    const reply = await gql(app.url, MUTATION, { token: await token('read:orders') });
    expect(reply.status).toBe(403);
    expect(reply.headers.get('www-authenticate')).toBe(challengeInsufficientScope('write:orders'));
    expect(reply.body.errors).toEqual([
      {
        message: 'The access token does not grant the scopes this operation requires',
        locations: [{ line: 1, column: 18 }],
        path: ['placeOrder'],
        extensions: { code: 'FORBIDDEN', reason: 'insufficient_scope', requiredScopes: ['write:orders'] },
      },
    ]);
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
    expect(app.state.sideEffects).toBe(0);
  });

  it('with the scope: both resolvers run', async () => {
    const local = await startApollo(verifier);
    try {
      const reply = await gql(local.url, MUTATION, { token: await token('write:orders read:orders') });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ data: { touch: 1, placeOrder: { id: 'new-x' } } });
      expect(local.state.sideEffects).toBe(2);
    } finally {
      await local.close();
    }
  });
});

describe("precheck: 'all'", () => {
  let strict: Running;
  beforeAll(async () => {
    strict = await startApollo(verifier, { precheck: 'all' });
  });
  afterAll(() => strict.close());

  it('anonymous: 401 instead of partial data', async () => {
    const reply = await gql(strict.url, '{ publicInfo orders { id } }');
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    expect(reply.body.data).toBeUndefined();
    expect(errorCodes(reply.body)).toEqual([{ path: '', code: 'UNAUTHORIZED', reason: 'missing_token' }]);
  });

  it('under-scoped: 403 per denied field', async () => {
    const reply = await gql(strict.url, '{ orders { id internalNote } }', {
      token: await token('read:orders'),
    });
    expect(reply.status).toBe(403);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'orders.internalNote', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
  });

  it('public queries still run anonymously', async () => {
    const reply = await gql(strict.url, '{ publicInfo }');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { publicInfo: 'hello' } });
  });
});

describe('errors are never masked', () => {
  let masked: Running;
  beforeAll(async () => {
    masked = await startApollo(verifier, {
      server: {
        formatError: () => ({ message: 'Internal server error', extensions: { code: 'MASKED' } }),
        includeStacktraceInErrorResponses: true,
      },
    });
  });
  afterAll(() => masked.close());

  it('a masking formatError keeps scopegate errors, masks the others', async () => {
    const reply = await gql(masked.url, '{ requiredSecret }', { token: await token('read:email') });
    expect(reply.status).toBe(403);
    expect(reply.body.errors?.[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['read:orders'],
    });
    const other = await gql(masked.url, '{ nope }');
    expect(other.body.errors?.[0]).toEqual({
      message: 'Internal server error',
      extensions: { code: 'MASKED' },
    });
  });

  it('pre-checked mutation errors too', async () => {
    const reply = await gql(masked.url, 'mutation { placeOrder(sku: "x") { id } }');
    expect(reply.status).toBe(401);
    expect(reply.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHORIZED', reason: 'missing_token' });
    expect(masked.state.sideEffects).toBe(0);
  });
});

describe('the issuer is unreachable: 503, never 401', () => {
  let down: Running;
  beforeAll(async () => {
    const local = await createTestIssuer();
    const served = await local.serve();
    await served.close();
    down = await startApollo(createVerifier({ ...served.verifierOptions, timeoutMs: 500 }));
    issuer503 = local;
  });
  let issuer503: TestIssuer;
  afterAll(() => down.close());

  it('whole operation: 503 without a challenge', async () => {
    const reply = await gql(down.url, '{ requiredLogin }', { token: await issuer503.sign() });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredLogin', code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable' },
    ]);
  });

  it('a mutation: 503 from the pre-check, nothing ran', async () => {
    const reply = await gql(down.url, 'mutation { touch placeOrder(sku: "x") { id } }', {
      token: await issuer503.sign(),
    });
    expect(reply.status).toBe(503);
    expect(errorCodes(reply.body)).toEqual([
      { path: '', code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable' },
    ]);
    expect(down.state.sideEffects).toBe(0);
  });
});

describe('shared caches never store a response that depended on the token', () => {
  // GET queries are cacheable by browsers and proxies; Apollo's cache-control plugin would make a
  // response with a cache hint `public`. Whatever the plugin order, the auth headers win.
  it.each(['before', 'after'] as const)(
    'cache hints, cache-control plugin %s ours: private, no-store',
    async (order) => {
      const cacheControl = ApolloServerPluginCacheControl({ defaultMaxAge: 60 });
      const state: AppState = { sideEffects: 0 };
      const auth = apolloAuth({ verifier });
      const server = new ApolloServer({
        schema: buildSchema(state),
        plugins: order === 'before' ? [cacheControl, auth.plugin] : [auth.plugin, cacheControl],
      });
      const { url } = await startStandaloneServer(server, {
        listen: { port: 0, host: '127.0.0.1' },
        context: async ({ req }) => auth.context({ req }),
      });
      try {
        const get = (query: string, authorization?: string) =>
          fetch(`${url}?query=${encodeURIComponent(query)}`, {
            headers: { 'apollo-require-preflight': 'true', ...(authorization && { authorization }) },
          });
        const publicOnly = await get('{ publicInfo }');
        expect(publicOnly.status).toBe(200);
        expect(publicOnly.headers.get('cache-control')).toBe('max-age=60, public');
        const protectedField = await get('{ requiredSecret }', `Bearer ${await token('read:orders')}`);
        expect(protectedField.status).toBe(200);
        expect(await protectedField.json()).toEqual({ data: { requiredSecret: 'secret' } });
        expect(protectedField.headers.get('cache-control')).toBe('private, no-store');
        expect(protectedField.headers.get('vary')).toMatch(/(^|, *)authorization($|,)/i);
      } finally {
        await server.stop();
      }
    },
  );
});

describe('batches: one verification, 200 (other operations may hold data)', () => {
  it('a denied operation in a batch does not set the status of the whole response', async () => {
    let authentications = 0;
    const counting: Verifier = {
      verify: (t) => verifier.verify(t),
      scopes: (c) => verifier.scopes(c),
      authorize: (c, p) => verifier.authorize(c, p),
      warmup: () => verifier.warmup(),
      status: () => verifier.status(),
      close: () => verifier.close(),
      authenticate: (request) => {
        authentications++;
        return verifier.authenticate(request);
      },
    };
    const batched = await startApollo(counting, { server: { allowBatchedHttpRequests: true } });
    try {
      const response = await fetch(batched.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await token('read:orders')}`,
        },
        body: JSON.stringify([
          { query: '{ orders { id } }' },
          { query: '{ requiredLogin me { sub } }' },
          { query: '{ requiredSecret }' },
        ]),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(response.headers.get('cache-control')).toBe('private, no-store');
      const bodies = (await response.json()) as { data?: unknown; errors?: unknown }[];
      expect(bodies.map((body) => body.data)).toEqual([
        { orders: [{ id: 'o1' }, { id: 'o2' }] },
        { requiredLogin: 'logged in', me: { sub: 'test-user' } },
        { requiredSecret: 'secret' },
      ]);
      expect(authentications).toBe(1);
    } finally {
      await batched.close();
    }
  });
});

describe('Express 5 integration (@as-integrations/express5)', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startExpress(verifier);
  });
  afterAll(() => server.close());

  it('anonymous: 401 with the challenge; with the scope: data', async () => {
    const denied = await gql(server.url, '{ requiredSecret }');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    const allowed = await gql(server.url, '{ requiredSecret }', { token: await token('read:orders') });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ data: { requiredSecret: 'secret' } });
    expect(allowed.headers.get('vary')).toMatch(/(^|, *)authorization($|,)/i);
  });

  it('#6 two Authorization header lines (Express keeps the first in req.headers): 400', async () => {
    const t = await token('read:orders');
    const reply = await rawPost(
      server.url,
      ['content-type', 'application/json', 'authorization', `Bearer ${t}`, 'authorization', `Bearer ${t}`],
      JSON.stringify({ query: '{ requiredSecret }' }),
    );
    expect(reply.status).toBe(400);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_INVALID_REQUEST);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredSecret', code: 'BAD_REQUEST', reason: 'invalid_request' },
    ]);
  });

  it('a denied mutation: 403, no side effect', async () => {
    const reply = await gql(server.url, 'mutation { touch placeOrder(sku: "x") { id } }', {
      token: await token('read:orders'),
    });
    expect(reply.status).toBe(403);
    expect(server.state.sideEffects).toBe(0);
  });
});

describe('Apollo Client 4 (HttpLink)', () => {
  const client = (authorization?: string) =>
    new ApolloClient({
      link: new HttpLink({ uri: app.url, ...(authorization && { headers: { authorization } }) }),
      cache: new InMemoryCache(),
    });

  it('reads protected data with a token', async () => {
    const result = await client(`Bearer ${await token('read:orders')}`).query({
      query: clientGql`{ orders { id total } }`,
    });
    expect(result.data).toEqual({
      orders: [
        { __typename: 'Order', id: 'o1', total: 10 },
        { __typename: 'Order', id: 'o2', total: 20 },
      ],
    });
  });

  it('an anonymous query: CombinedGraphQLErrors with code and reason', async () => {
    const error = await client()
      .query({ query: clientGql`{ requiredSecret }` })
      .then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]?.extensions).toEqual({
      code: 'UNAUTHORIZED',
      reason: 'missing_token',
    });
    // scopegate/client recognises Apollo Client 4's error.
    expect(getAuthError(error)).toMatchObject({ code: 'UNAUTHORIZED', reason: 'missing_token' });
  });

  it('a denied mutation: FORBIDDEN with requiredScopes, counter unchanged', async () => {
    const before = app.state.sideEffects;
    const error = await client(`Bearer ${await token('read:orders')}`)
      .mutate({ mutation: clientGql`mutation { placeOrder(sku: "y") { id } }` })
      .then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['write:orders'],
    });
    expect(app.state.sideEffects).toBe(before);
  });
});

describe('misconfiguration fails closed', () => {
  it.each([
    [{ verifier: {} }, '"verifier" option must be a verifier from createVerifier()'],
    [{ verifier: undefined }, '"verifier" option must be a verifier from createVerifier()'],
    [{ precheck: 'queries' }, '"precheck" option must be "mutations" or "all"'],
  ])('apolloAuth(%j) throws a TypeError', (options, message) => {
    expect(() => apolloAuth({ verifier, ...options } as unknown as ApolloAuthOptions)).toThrow(
      new TypeError(message),
    );
  });

  it('context() without a request throws a TypeError naming "req"', () => {
    const auth = apolloAuth({ verifier });
    expect(() => auth.context({} as never)).toThrow(TypeError);
    expect(() => auth.context({} as never)).toThrow(/"req"/);
  });

  it('a guarded schema without auth.context fails closed: 500 from the pre-check, no side effect', async () => {
    const state: AppState = { sideEffects: 0 };
    const server = new ApolloServer({
      schema: buildSchema(state),
      plugins: [apolloAuth({ verifier }).plugin],
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
    try {
      const reply = await gql(url, 'mutation { touch placeOrder(sku: "x") { id } }', {
        token: await token('write:orders'),
      });
      expect(reply.status).toBe(500);
      expect(state.sideEffects).toBe(0);
      const query = await gql(url, '{ publicInfo orders { id } }', { token: await token('read:orders') });
      expect(query.body.data).toEqual({ publicInfo: 'hello', orders: null });
      expect(query.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await server.stop();
    }
  });
});
