/**
 * The @auth semantics and the yoga plugin, end to end: graphql-yoga on node:http at 127.0.0.1,
 * queried with fetch, with real tokens from the testing kit.
 */

import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import { type AuthContext, type UseAuthOptions, useAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  ACCEPTS,
  CHALLENGE_INVALID_TOKEN,
  CHALLENGE_MISSING,
  challengeInsufficientScope,
  errorCodes,
  GRAPHQL_RESPONSE_ACCEPT,
  gql,
  issuerAndVerifier,
  type Running,
  startYoga,
} from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;
let app: Running;

beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
  app = await startYoga({ verifier });
});
afterAll(() => app.close());

const token = (scope?: string) => issuer.sign(scope === undefined ? {} : { scope });

describe('laziness: public operations never verify', () => {
  it.each(ACCEPTS)('anonymous public query (%s): 200, no errors, no auth headers', async (accept) => {
    const reply = await gql(app.url, '{ publicInfo }', { accept });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { publicInfo: 'hello' } });
    expect(reply.headers.get('cache-control')).toBeNull();
    expect(reply.headers.get('www-authenticate')).toBeNull();
  });

  it('a garbage token on a public query is never looked at', async () => {
    const reply = await gql(app.url, '{ publicInfo __typename }', { token: 'not.a.jwt' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { publicInfo: 'hello', __typename: 'Query' } });
  });

  it('the token is verified once per HTTP request, even in a batch', async () => {
    let authentications = 0;
    const counting: Verifier = {
      ...verifier,
      verify: (t) => verifier.verify(t),
      scopes: (c) => verifier.scopes(c),
      authorize: (c, p) => verifier.authorize(c, p),
      warmup: () => verifier.warmup(),
      authenticate: (request) => {
        authentications++;
        return verifier.authenticate(request);
      },
    };
    const batched = await startYoga({ verifier: counting, yoga: { batching: true } });
    try {
      const response = await fetch(batched.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${await token('read:orders')}`,
        },
        body: JSON.stringify([
          { query: '{ orders { id } }' },
          { query: '{ me { sub } order(id: "o1") { total } }' },
          { query: '{ publicInfo }' },
        ]),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual([
        { data: { orders: [{ id: 'o1' }, { id: 'o2' }] } },
        { data: { me: { sub: 'test-user' }, order: { total: 10 } } },
        { data: { publicInfo: 'hello' } },
      ]);
      expect(authentications).toBe(1);
    } finally {
      await batched.close();
    }
  });

  // The response depends on the Authorization header as soon as anything read it, even only the
  // raw token (RequestAuth.consulted), so shared caches must not store it.
  it.each([
    ['anonymous', false],
    ['with a token', true],
  ] as const)(
    'a resolver that reads only auth.token (%s): private, Vary: Authorization',
    async (_name, withToken) => {
      const schema = createSchema<Record<string, unknown>>({
        typeDefs: 'type Query { signedIn: Boolean! }',
        resolvers: {
          Query: { signedIn: (_root: unknown, _args: unknown, { auth }: AuthContext) => auth.token !== null },
        },
      });
      const custom = await startYoga({ verifier, yoga: { schema } });
      try {
        const reply = await gql(custom.url, '{ signedIn }', withToken ? { token: await token() } : {});
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ data: { signedIn: withToken } });
        expect(reply.headers.get('cache-control')).toBe('private, no-store');
        expect(reply.headers.get('vary')).toMatch(/(^|, *)authorization($|,)/i);
      } finally {
        await custom.close();
      }
    },
  );
});

describe('partial data: a denied field is null with an error, the response is 2xx', () => {
  it.each(ACCEPTS)('anonymous, protected object type (%s)', async (accept) => {
    const reply = await gql(app.url, '{ publicInfo orders { id } }', { accept });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ publicInfo: 'hello', orders: null });
    // graphql-js reports the first error that nulls the non-null list item (and so the list).
    expect(errorCodes(reply.body)).toEqual([
      { path: 'orders.0.id', code: 'UNAUTHORIZED', reason: 'missing_token' },
    ]);
    expect(reply.body.errors?.[0]?.message).toBe(
      'Authentication required: send an access token as "Authorization: Bearer <token>"',
    );
    // The response depended on the Authorization header.
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
    expect(reply.headers.get('vary')).toMatch(/authorization/i);
    expect(reply.headers.get('www-authenticate')).toBeNull();
  });

  it('nested lists resolve with the scope; a field-level @auth is ANDed with the type', async () => {
    const reply = await gql(app.url, '{ orders { id lines { sku qty } internalNote } }', {
      token: await token('read:orders'),
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({
      orders: [
        { id: 'o1', lines: [[{ sku: 'a', qty: 1 }], [{ sku: 'b', qty: 2 }]], internalNote: null },
        { id: 'o2', lines: [[{ sku: 'c', qty: 3 }]], internalNote: null },
      ],
    });
    expect(reply.body.errors?.[0]).toMatchObject({
      message: 'The access token does not grant the scopes this operation requires',
      path: ['orders', 0, 'internalNote'],
      extensions: {
        code: 'FORBIDDEN',
        reason: 'insufficient_scope',
        requiredScopes: ['read:orders', 'admin'],
        anyOf: [
          ['read:orders', 'admin'],
          ['read:orders', 'support', 'read:notes'],
        ],
      },
    });
    expect(reply.body.errors).toHaveLength(2);
  });

  it('anyOf: the second alternative is enough', async () => {
    const reply = await gql(app.url, '{ order(id: "o2") { internalNote } }', {
      token: await token('read:orders support read:notes'),
    });
    expect(reply.body).toEqual({ data: { order: { internalNote: 'late' } } });
  });

  it('a field can never weaken its type: admin without read:orders is denied', async () => {
    const reply = await gql(app.url, '{ order(id: "o1") { internalNote } }', { token: await token('admin') });
    expect(reply.body.data).toEqual({ order: { internalNote: null } });
    expect(errorCodes(reply.body)).toEqual([
      { path: 'order.internalNote', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
  });

  it('an invalid token fails each protected field reached with UNAUTHORIZED; public fields resolve', async () => {
    const reply = await gql(app.url, '{ publicInfo order(id: "o1") { total } me { sub } }', {
      token: await issuer.expired({ scope: 'read:orders' }),
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ publicInfo: 'hello', order: null, me: null });
    // `me` calls ctx.auth.claims() itself: its AuthError is exposed the same way, never masked.
    expect(errorCodes(reply.body)).toEqual([
      { path: 'me', code: 'UNAUTHORIZED', reason: 'token_expired' },
      { path: 'order.total', code: 'UNAUTHORIZED', reason: 'token_expired' },
    ]);
  });

  it('aliases and fragments reach the same guard', async () => {
    const reply = await gql(
      app.url,
      `{ a: orders { id } b: orders { ...Notes } c: order(id: "o1") { ... on Order { secret: internalNote } } }
       fragment Notes on Order { note: internalNote }`,
      { token: await token('read:orders') },
    );
    expect(reply.body.data).toEqual({
      a: [{ id: 'o1' }, { id: 'o2' }],
      b: [{ note: null }, { note: null }],
      c: { secret: null },
    });
    expect(errorCodes(reply.body).map((error) => error.path)).toEqual(['b.0.note', 'b.1.note', 'c.secret']);
  });

  it('__typename and introspection are never gated', async () => {
    const reply = await gql(
      app.url,
      `{ orders { __typename } items { __typename } __type(name: "Order") { fields { name } }
         __schema { queryType { name } } }`,
    );
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data).toMatchObject({
      orders: [{ __typename: 'Order' }, { __typename: 'Order' }],
      items: [{ __typename: 'Book' }, { __typename: 'Weapon' }],
      __type: { fields: [{ name: 'id' }, { name: 'total' }, { name: 'lines' }, { name: 'internalNote' }] },
      __schema: { queryType: { name: 'Query' } },
    });
  });
});

describe('interfaces and unions', () => {
  const query = `{ items { id name price ... on Book { isbn } ... on Weapon { serial } } }`;

  it("a public implementation's own fields are public; the interface's fields are not", async () => {
    const reply = await gql(app.url, '{ items { ... on Book { isbn } ... on Weapon { serial } } }');
    expect(reply.body.data).toEqual({ items: [{ isbn: '978-0441013593' }, { serial: null }] });
    expect(errorCodes(reply.body)).toEqual([
      { path: 'items.1.serial', code: 'UNAUTHORIZED', reason: 'missing_token' },
    ]);

    const named = await gql(app.url, '{ items { ... on Book { name } } }');
    expect(named.body.data).toEqual({ items: [null, {}] });
    expect(errorCodes(named.body)).toEqual([
      { path: 'items.0.name', code: 'UNAUTHORIZED', reason: 'missing_token' },
    ]);
  });

  it('authenticated without scopes: interface field @auth applies to every implementation', async () => {
    const reply = await gql(app.url, query, { token: await token() });
    expect(reply.body.data).toEqual({
      items: [{ id: 'b1', name: 'Dune', price: null, isbn: '978-0441013593' }, null],
    });
    const denied = reply.body.errors?.map((error) => [
      error.path?.join('.'),
      error.extensions?.requiredScopes,
    ]);
    expect(new Map(denied as [string, string[]][])).toEqual(
      new Map([
        ['items.0.price', ['read:prices']],
        ['items.1.id', ['admin']],
        ['items.1.price', ['admin', 'read:prices']],
        ['items.1.serial', ['admin']],
      ]),
    );
  });

  it('the protected implementation needs its own scope AND the interface field scope', async () => {
    const adminOnly = await gql(app.url, query, { token: await token('admin') });
    expect(adminOnly.body.data?.items).toEqual([
      { id: 'b1', name: 'Dune', price: null, isbn: '978-0441013593' },
      { id: 'w1', name: 'Crysknife', price: null, serial: 'CK-1' },
    ]);
    expect(adminOnly.body.errors?.map((error) => error.extensions?.requiredScopes)).toEqual([
      ['read:prices'],
      ['admin', 'read:prices'],
    ]);

    const both = await gql(app.url, query, { token: await token('admin read:prices') });
    expect(both.body).toEqual({
      data: {
        items: [
          { id: 'b1', name: 'Dune', price: 12, isbn: '978-0441013593' },
          { id: 'w1', name: 'Crysknife', price: 999, serial: 'CK-1' },
        ],
      },
    });
  });

  it('a union member is checked as its concrete type', async () => {
    const reply = await gql(
      app.url,
      '{ search { ... on Article { title body } ... on Weapon { serial } ... on Book { isbn } } }',
      { token: await token('read:articles') },
    );
    expect(reply.body.data).toEqual({
      search: [{ isbn: '978-0441013593' }, { serial: null }, { title: 'Spice', body: 'must flow' }],
    });
    expect(errorCodes(reply.body)).toEqual([
      { path: 'search.1.serial', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
  });
});

describe('whole operation denied: no data, status and challenge', () => {
  it.each(ACCEPTS)('anonymous (%s): 401 with the bare challenge', async (accept) => {
    const reply = await gql(app.url, '{ publicInfo requiredSecret }', { accept });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    expect(reply.headers.get('cache-control')).toBe('private, no-store');
    expect(reply.body.data).toBeNull();
    expect(reply.body.errors).toEqual([
      {
        message: 'Authentication required: send an access token as "Authorization: Bearer <token>"',
        locations: [{ line: 1, column: 14 }],
        path: ['requiredSecret'],
        extensions: { code: 'UNAUTHORIZED', reason: 'missing_token' },
      },
    ]);
  });

  it.each(ACCEPTS)('insufficient scope (%s): 403 with scope in the challenge', async (accept) => {
    const reply = await gql(app.url, '{ requiredSecret }', { accept, token: await token('read:email') });
    expect(reply.status).toBe(403);
    expect(reply.headers.get('www-authenticate')).toBe(challengeInsufficientScope('read:orders'));
    expect(reply.body.errors?.[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['read:orders'],
    });
  });

  it.each(ACCEPTS)('invalid token (%s): 401 invalid_token', async (accept) => {
    const reply = await gql(app.url, '{ requiredLogin }', { accept, token: await issuer.wrongAudience() });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_INVALID_TOKEN);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredLogin', code: 'UNAUTHORIZED', reason: 'invalid_audience' },
    ]);
  });

  it('a valid token: 200 with data', async () => {
    const reply = await gql(app.url, '{ requiredSecret requiredLogin }', {
      token: await token('read:orders'),
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { requiredSecret: 'secret', requiredLogin: 'logged in' } });
  });
});

describe('mutations are checked before any resolver runs', () => {
  const place =
    'mutation($skip: Boolean = false, $inc: Boolean = true) { placeOrder(sku: "x") { id internalNote @skip(if: $skip) @include(if: $inc) } }';

  it.each(ACCEPTS)('anonymous (%s): 401, no side effect', async (accept) => {
    const before = app.state.sideEffects;
    const reply = await gql(app.url, 'mutation { touch placeOrder(sku: "x") { id } }', { accept });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    expect(reply.body).toEqual({
      errors: [
        {
          message: 'Authentication required: send an access token as "Authorization: Bearer <token>"',
          extensions: { code: 'UNAUTHORIZED', reason: 'missing_token' },
        },
      ],
    });
    expect(app.state.sideEffects).toBe(before);
  });

  it('a denied field deep in the selection denies the whole mutation (403), with its path', async () => {
    const before = app.state.sideEffects;
    const reply = await gql(app.url, place, { token: await token('write:orders read:orders') });
    expect(reply.status).toBe(403);
    expect(reply.headers.get('www-authenticate')).toBe(challengeInsufficientScope('read:orders admin'));
    expect(reply.body.data).toBeUndefined();
    expect(reply.body.errors).toEqual([
      expect.objectContaining({
        path: ['placeOrder', 'internalNote'],
        extensions: expect.objectContaining({ code: 'FORBIDDEN', requiredScopes: ['read:orders', 'admin'] }),
      }),
    ]);
    expect(app.state.sideEffects).toBe(before);
  });

  it.each([
    [{ skip: true }, 200],
    [{ inc: false }, 200],
    [{ skip: false, inc: true }, 403],
  ] as const)('@skip / @include with variables %j -> %i', async (variables, status) => {
    const before = app.state.sideEffects;
    const reply = await gql(app.url, place, {
      token: await token('write:orders read:orders'),
      variables,
    });
    expect(reply.status).toBe(status);
    expect(app.state.sideEffects).toBe(status === 200 ? before + 1 : before);
  });

  it('fragments and inline fragments are followed', async () => {
    const before = app.state.sideEffects;
    const reply = await gql(
      app.url,
      'mutation { placeOrder(sku: "y") { ...F } } fragment F on Order { ... on Order { internalNote } }',
      { token: await token('write:orders read:orders') },
    );
    expect(reply.status).toBe(403);
    expect(app.state.sideEffects).toBe(before);
  });

  it('missing write scope: 403 on the root field, nothing runs', async () => {
    const before = app.state.sideEffects;
    const reply = await gql(app.url, 'mutation { touch placeOrder(sku: "x") { id } }', {
      token: await token('read:orders'),
    });
    expect(reply.status).toBe(403);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'placeOrder', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
    expect(app.state.sideEffects).toBe(before);
  });

  it('allowed: the mutation runs once', async () => {
    const before = app.state.sideEffects;
    const reply = await gql(app.url, 'mutation { touch placeOrder(sku: "z") { id total } }', {
      token: await token('write:orders read:orders'),
      accept: GRAPHQL_RESPONSE_ACCEPT,
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ touch: before + 1, placeOrder: { id: 'new-z', total: 1 } });
    expect(app.state.sideEffects).toBe(before + 2);
  });

  it('a public mutation selecting no protected field needs no token', async () => {
    const before = app.state.sideEffects;
    const reply = await gql(app.url, 'mutation { touch }');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { touch: before + 1 } });
  });
});

describe('precheck: "all" rejects queries as a whole', () => {
  let strict: Running;
  beforeAll(async () => {
    strict = await startYoga({ verifier, precheck: 'all' });
  });
  afterAll(() => strict.close());

  it.each(ACCEPTS)('anonymous (%s): 401 instead of partial data', async (accept) => {
    const reply = await gql(strict.url, '{ publicInfo orders { id } }', { accept });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe(CHALLENGE_MISSING);
    expect(reply.body.data).toBeUndefined();
    expect(errorCodes(reply.body)).toEqual([{ path: '', code: 'UNAUTHORIZED', reason: 'missing_token' }]);
  });

  it('abstract selections are checked for every possible type (conservative)', async () => {
    const reply = await gql(strict.url, '{ search { ... on Book { isbn } ... on Weapon { serial } } }', {
      token: await token(),
    });
    expect(reply.status).toBe(403);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'search.serial', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
  });

  it('public queries still run anonymously', async () => {
    const reply = await gql(strict.url, '{ publicInfo items { __typename ... on Book { isbn } } }');
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
  });
});

describe('the issuer is unreachable: SERVICE_UNAVAILABLE, never masked, never 401', () => {
  let down: Running;
  beforeAll(async () => {
    const localIssuer = await createTestIssuer();
    const served = await localIssuer.serve();
    await served.close();
    const unreachable = createVerifier({ ...served.verifierOptions, timeoutMs: 500 });
    down = await startYoga({ verifier: unreachable });
  });
  afterAll(() => down.close());

  it('partial data: the field carries SERVICE_UNAVAILABLE', async () => {
    const reply = await gql(down.url, '{ publicInfo me { sub } }', { token: await token() });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ publicInfo: 'hello', me: null });
    expect(reply.body.errors?.[0]).toMatchObject({
      message: 'The token issuer could not be reached; retry later',
      extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable' },
    });
  });

  it.each(ACCEPTS)('whole operation (%s): 503 without a challenge', async (accept) => {
    const reply = await gql(down.url, '{ requiredLogin }', { token: await token(), accept });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredLogin', code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable' },
    ]);
  });
});

describe('misconfiguration fails closed', () => {
  it.each([
    [{ verifier: {} }, '"verifier" option must be a verifier from createVerifier()'],
    [{ verifier: undefined }, '"verifier" option must be a verifier from createVerifier()'],
    [{ precheck: 'queries' }, '"precheck" option must be "mutations" or "all"'],
  ])('useAuth(%j) throws a TypeError', (options, message) => {
    expect(() => useAuth({ verifier, ...options } as unknown as UseAuthOptions)).toThrow(
      new TypeError(message),
    );
  });

  it('a guarded schema without useAuth fails closed (masked server error, no data)', async () => {
    const bare = createYoga({ schema: app.schema, logging: false });
    const response = await bare.fetch('http://127.0.0.1/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ publicInfo orders { id } }' }),
    });
    const body = (await response.json()) as { data: unknown; errors: { message: string }[] };
    expect(body.data).toEqual({ publicInfo: 'hello', orders: null });
    expect(body.errors[0]?.message).toBe('Unexpected error.');
  });
});
