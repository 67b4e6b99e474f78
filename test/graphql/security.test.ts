/**
 * SECURITY.md rows 1-9 and 64-70 at the HTTP level, through graphql-yoga on node:http: exact
 * status, `extensions.code`, `extensions.reason` and `WWW-Authenticate`. The operations select a
 * non-null guarded root field, so a denial fails the whole operation (no `data`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verifier } from '../../src/core/index.js';
import type { TestIssuer } from '../../src/testing/index.js';
import {
  ACCEPTS,
  CHALLENGE_INVALID_REQUEST,
  CHALLENGE_INVALID_TOKEN,
  CHALLENGE_MISSING,
  challengeInsufficientScope,
  errorCodes,
  type GraphQLResponseBody,
  gql,
  issuerAndVerifier,
  type Reply,
  type Running,
  rawPost,
  startYoga,
} from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;
let app: Running;

beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
  app = await startYoga({ verifier, yoga: { batching: true } });
});
afterAll(() => app.close());

const LOGIN = '{ requiredLogin }';
const SECRET = '{ requiredSecret }';

function expectRefused(
  reply: Reply,
  status: number,
  code: string,
  reason: string,
  challenge: string,
  path = 'requiredLogin',
) {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('www-authenticate')).toBe(challenge);
  expect(reply.headers.get('cache-control')).toBe('private, no-store');
  expect(reply.body.data).toBeNull();
  expect(errorCodes(reply.body)).toEqual([{ path, code, reason }]);
}

/** node:http, for what fetch cannot send: two Authorization field lines. */

describe('A. credential extraction (rows 1-9)', () => {
  it.each(ACCEPTS)('#1 no Authorization header (%s): 401 with the bare challenge', async (accept) => {
    expectRefused(
      await gql(app.url, LOGIN, { accept }),
      401,
      'UNAUTHORIZED',
      'missing_token',
      CHALLENGE_MISSING,
    );
  });

  it('#2/#77 the DPoP scheme is verified in the default mode: without a proof, 401-DP', async () => {
    const reply = await gql(app.url, LOGIN, { authorization: 'DPoP eyJhbGciOi' });
    expectRefused(
      reply,
      401,
      'UNAUTHORIZED',
      'invalid_dpop_proof',
      'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256", error="invalid_dpop_proof", error_description="The access token is invalid"',
    );
  });

  it.each(['Basic dXNlcjpwYXNz', 'Digest username="u"'])(
    '#2 unsupported scheme %j: 401 with the bare challenge',
    async (authorization) => {
      const reply = await gql(app.url, LOGIN, { authorization });
      expectRefused(reply, 401, 'UNAUTHORIZED', 'missing_token', CHALLENGE_MISSING);
    },
  );

  it.each(['bearer', 'BEARER', 'BeArEr'])('#3 scheme %j is case-insensitive', async (scheme) => {
    const reply = await gql(app.url, LOGIN, { authorization: `${scheme} ${await issuer.sign()}` });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { requiredLogin: 'logged in' } });
  });

  it.each(['Bearer', 'Bearer ', 'Bearer    '])(
    '#4 %j without a token: 400 invalid_request',
    async (authorization) => {
      const reply = await gql(app.url, LOGIN, { authorization });
      expectRefused(reply, 400, 'BAD_REQUEST', 'invalid_request', CHALLENGE_INVALID_REQUEST);
    },
  );

  it.each([
    ['a space inside', (t: string) => `Bearer ${t.slice(0, 20)} ${t.slice(20)}`],
    ['a tab after the scheme', (t: string) => `Bearer\t${t}`],
    ['quotes', (t: string) => `Bearer "${t}"`],
    ['a comma', (t: string) => `Bearer ${t},x`],
  ])('#5 %s: 400 invalid_request, never repaired', async (_name, mangle) => {
    const reply = await gql(app.url, LOGIN, { authorization: mangle(await issuer.sign()) });
    expectRefused(reply, 400, 'BAD_REQUEST', 'invalid_request', CHALLENGE_INVALID_REQUEST);
  });

  it('#6 two Authorization field lines: 400 (Node keeps only the first in req.headers)', async () => {
    const token = await issuer.sign();
    const reply = await rawPost(
      app.url,
      [
        'content-type',
        'application/json',
        'authorization',
        `Bearer ${token}`,
        'authorization',
        `Bearer ${token}`,
      ],
      JSON.stringify({ query: LOGIN }),
    );
    expectRefused(reply, 400, 'BAD_REQUEST', 'invalid_request', CHALLENGE_INVALID_REQUEST);
  });

  it('#6 one line with two credentials: 400', async () => {
    const token = await issuer.sign();
    const reply = await gql(app.url, LOGIN, { authorization: `Bearer ${token}, Bearer ${token}` });
    expectRefused(reply, 400, 'BAD_REQUEST', 'invalid_request', CHALLENGE_INVALID_REQUEST);
  });

  it('#7 header and ?access_token= together: 400', async () => {
    const token = await issuer.sign();
    const reply = await gql(app.url, LOGIN, { token, search: `?access_token=${token}` });
    expectRefused(reply, 400, 'BAD_REQUEST', 'invalid_request', CHALLENGE_INVALID_REQUEST);
  });

  it('#8 token only in ?access_token=: not read, 401 with the bare challenge', async () => {
    const reply = await gql(app.url, LOGIN, { search: `?access_token=${await issuer.sign()}` });
    expectRefused(reply, 401, 'UNAUTHORIZED', 'missing_token', CHALLENGE_MISSING);
  });

  it.each([
    [
      'a JSON body field (extensions)',
      (t: string) => ({ extensions: { access_token: t, authorization: `Bearer ${t}` } }),
    ],
    ['GraphQL variables', (t: string) => ({ variables: { access_token: t, token: t } })],
    ['a cookie', (t: string) => ({ headers: { cookie: `access_token=${t}` } })],
    [
      'a custom header',
      (t: string) => ({ headers: { 'x-access-token': t, 'x-authorization': `Bearer ${t}` } }),
    ],
  ])('#9 token in %s: ignored, 401 with the bare challenge', async (_name, place) => {
    const reply = await gql(app.url, LOGIN, place(await issuer.sign()));
    expectRefused(reply, 401, 'UNAUTHORIZED', 'missing_token', CHALLENGE_MISSING);
  });

  it('an invalid token on a guarded root: 401 invalid_token', async () => {
    const reply = await gql(app.url, LOGIN, { token: await issuer.wrongIssuer() });
    expectRefused(reply, 401, 'UNAUTHORIZED', 'invalid_issuer', CHALLENGE_INVALID_TOKEN);
  });
});

describe('scopes (rows 64-69)', () => {
  const refused = async (claims: Record<string, unknown>) => {
    const reply = await gql(app.url, SECRET, { token: await issuer.sign(claims) });
    expectRefused(
      reply,
      403,
      'FORBIDDEN',
      'insufficient_scope',
      challengeInsufficientScope('read:orders'),
      'requiredSecret',
    );
    expect(reply.body.errors?.[0]?.extensions?.requiredScopes).toEqual(['read:orders']);
  };
  const allowed = async (claims: Record<string, unknown>) => {
    const reply = await gql(app.url, SECRET, { token: await issuer.sign(claims) });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ data: { requiredSecret: 'secret' } });
  };

  it('#64 a valid token with no scope claim: 403, not 401', () => refused({}));

  it.each(['read:orders:all', 'xread:orders', 'read:ordersx', 'read:order', 'read:orders:all xread:orders'])(
    '#65 %j is not read:orders: 403',
    (scope) => refused({ scope }),
  );

  it('#66 scope values are case-sensitive: read:Orders -> 403', () => refused({ scope: 'read:Orders' }));

  it.each([
    ['a tab', { scope: 'read:orders\twrite:orders' }],
    ['a comma', { scope: 'read:orders,write:orders' }],
    ['null', { scope: null }],
    ['a number', { scope: 5 }],
    ['an object', { scope: { 'read:orders': true } }],
  ])('#67 separator/type edge case (%s): 403', (_name, claims) => refused(claims));

  it.each([
    ['runs of spaces, leading and trailing', { scope: '  write:orders   read:orders  ' }],
    ['an array', { scope: ['read:orders'] }],
    ['scp', { scp: 'read:orders' }],
  ])('#67 %s: accepted', (_name, claims) => allowed(claims));

  it('#68 scopes from anywhere but the verified payload are ignored', async () => {
    const token = await issuer.sign({}, { header: { scope: 'read:orders' } });
    const reply = await gql(app.url, SECRET, {
      token,
      headers: { 'x-scope': 'read:orders', 'x-scopes': 'read:orders' },
      variables: { scope: 'read:orders' },
      extensions: { scope: 'read:orders' },
    });
    expect(reply.status).toBe(403);
    expect(errorCodes(reply.body)).toEqual([
      { path: 'requiredSecret', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
  });

  it('#69 the 403 challenge names the needed scope', async () => {
    const reply = await gql(app.url, SECRET, { token: await issuer.sign({ scope: 'read:email' }) });
    expect(reply.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="read:orders", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
  });
});

describe('#70 GraphQL selections', () => {
  it('aliases, fragments, nested selections and @include reach the same guard: null + FORBIDDEN, no leak', async () => {
    const reply = await gql(
      app.url,
      `query($yes: Boolean = true) {
         x: order(id: "o1") { ... on Order { n: internalNote @include(if: $yes) } }
         y: orders { ...Deep }
       }
       fragment Deep on Order { lines { sku } z: internalNote }`,
      { token: await issuer.sign({ scope: 'read:orders' }) },
    );
    expect(reply.status).toBe(200);
    expect(JSON.stringify(reply.body.data)).not.toMatch(/vip|late/);
    expect(reply.body.data).toEqual({
      x: { n: null },
      y: [
        { lines: [[{ sku: 'a' }], [{ sku: 'b' }]], z: null },
        { lines: [[{ sku: 'c' }]], z: null },
      ],
    });
    expect(errorCodes(reply.body)).toEqual([
      { path: 'x.n', code: 'FORBIDDEN', reason: 'insufficient_scope' },
      { path: 'y.0.z', code: 'FORBIDDEN', reason: 'insufficient_scope' },
      { path: 'y.1.z', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
    expect(reply.body.errors?.[0]?.extensions?.requiredScopes).toEqual(['read:orders', 'admin']);
  });

  it('each operation of a batch is checked on its own', async () => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${await issuer.sign({ scope: 'read:orders' })}`,
      },
      body: JSON.stringify([
        { query: '{ order(id: "o1") { total } }' },
        { query: '{ order(id: "o1") { internalNote } }' },
        { query: 'mutation { placeOrder(sku: "x") { id } }' },
      ]),
    });
    const bodies = (await response.json()) as GraphQLResponseBody[];
    expect(bodies[0]).toEqual({ data: { order: { total: 10 } } });
    expect(bodies[1]?.data).toEqual({ order: { internalNote: null } });
    expect(errorCodes(bodies[1] ?? {})).toEqual([
      { path: 'order.internalNote', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
    expect(bodies[2]?.data).toBeUndefined();
    expect(errorCodes(bodies[2] ?? {})).toEqual([
      { path: 'placeOrder', code: 'FORBIDDEN', reason: 'insufficient_scope' },
    ]);
    expect(app.state.sideEffects).toBe(0);
  });

  it('introspection of protected types is not gated', async () => {
    const reply = await gql(app.url, '{ __type(name: "Weapon") { name fields { name } } }');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      data: {
        __type: {
          name: 'Weapon',
          fields: [{ name: 'id' }, { name: 'name' }, { name: 'price' }, { name: 'serial' }],
        },
      },
    });
  });

  it('an invalid token (DESIGN: lazy): public fields resolve, each protected field reached is UNAUTHORIZED', async () => {
    const reply = await gql(
      app.url,
      '{ publicInfo order(id: "o1") { total } items { ... on Book { isbn name } } }',
      {
        token: `${(await issuer.sign({ scope: 'read:orders' })).slice(0, -4)}AAAA`,
      },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ publicInfo: 'hello', order: null, items: [null, {}] });
    expect(errorCodes(reply.body)).toEqual([
      { path: 'items.0.name', code: 'UNAUTHORIZED', reason: 'invalid_signature' },
      { path: 'order.total', code: 'UNAUTHORIZED', reason: 'invalid_signature' },
    ]);
  });
});
