/**
 * Every failure reason end to end, through real tRPC servers (standalone adapter, and the fetch
 * adapter on node:http) and raw HTTP: status, TRPCError code, `data.auth`, `WWW-Authenticate`,
 * caching headers. Covers SECURITY.md rows 1-9 and 64-69 at the HTTP level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthErrorReason } from '../../src/core/index.js';
import { buildApp } from './support/app.js';
import {
  type RawResponse,
  type RunningServer,
  rawRequest,
  startFetch,
  startStandalone,
} from './support/servers.js';
import { CHALLENGE, createIssuers, type Issuers, MESSAGE, verifierFor } from './support/tokens.js';

let issuers: Issuers;
const servers: Record<string, RunningServer> = {};

beforeAll(async () => {
  issuers = await createIssuers();
  const { router, createContext } = buildApp(verifierFor(issuers.trusted));
  servers.standalone = await startStandalone(router, createContext);
  servers.fetch = await startFetch(router, createContext);
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.close()));
});

interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly reason: AuthErrorReason;
  readonly challenge: string | undefined;
  readonly requiredScopes?: readonly string[];
}

const unauthorized = (reason: AuthErrorReason): Refusal => ({
  status: 401,
  code: 'UNAUTHORIZED',
  reason,
  challenge: reason === 'missing_token' ? CHALLENGE.missing : CHALLENGE.invalidToken,
});
const badRequest: Refusal = {
  status: 400,
  code: 'BAD_REQUEST',
  reason: 'invalid_request',
  challenge: CHALLENGE.invalidRequest,
};

function expectRefusal(response: RawResponse, path: string, expected: Refusal, token?: string): void {
  expect(response.status).toBe(expected.status);
  expect(response.headers['www-authenticate']).toBe(expected.challenge);
  expect(response.headers['cache-control']).toBe('private, no-store');
  expect(response.headers.vary?.split(/,\s*/)).toContain('Authorization');
  const body = response.json() as { error: { message: string; data: Record<string, unknown> } };
  const auth: Record<string, unknown> = {
    code: expected.code,
    reason: expected.reason,
    message: MESSAGE[expected.reason],
  };
  if (expected.requiredScopes) auth.requiredScopes = expected.requiredScopes;
  expect(body.error.message).toBe(MESSAGE[expected.reason]);
  expect(body.error.data).toEqual({ code: expected.code, httpStatus: expected.status, path, auth });
  // Nothing but the fixed, safe view: no stack (isDev is off), no token text.
  expect(body.error.data).not.toHaveProperty('stack');
  if (token) expect(response.body).not.toContain(token.split('.')[1]);
}

describe.each(['standalone', 'fetch'])('%s adapter', (adapterName) => {
  const server = () => servers[adapterName] as RunningServer;
  const get = (path: string, headers: readonly string[] = []) =>
    rawRequest(server().port, `/${path}`, headers);

  describe('public procedures pay nothing', () => {
    it('answers without a token, uncached-by-auth (no challenge, no private marker)', async () => {
      const response = await get('health');
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ result: { data: 'ok' } });
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(response.headers['cache-control']).toBeUndefined();
    });

    it('answers with a garbage token: the token is not even read', async () => {
      const response = await get('health', ['Authorization: Bearer garbage!!not-a-jwt']);
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ result: { data: 'ok' } });
      expect(response.headers['www-authenticate']).toBeUndefined();
    });
  });

  describe('protected procedure: allowed', () => {
    it('returns the verified subject, marked private', async () => {
      const token = await issuers.trusted.sign({ sub: 'alice' });
      const response = await get('me', [`Authorization: Bearer ${token}`]);
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ result: { data: { sub: 'alice' } } });
      expect(response.headers['cache-control']).toBe('private, no-store');
      expect(response.headers.vary?.split(/,\s*/)).toEqual(
        expect.arrayContaining(['Authorization', 'accept']),
      );
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    // SECURITY.md #3: the scheme is case-insensitive.
    it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme spelled %s', async (scheme) => {
      const token = await issuers.trusted.sign({ sub: 'alice' });
      const response = await get('me', [`Authorization: ${scheme} ${token}`]);
      expect(response.status).toBe(200);
    });
  });

  describe('optional auth procedure', () => {
    it('is anonymous without a token, and still private', async () => {
      const response = await get('maybe');
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ result: { data: null } });
      expect(response.headers['cache-control']).toBe('private, no-store');
    });

    it('sees the caller with a token', async () => {
      const token = await issuers.trusted.sign({ sub: 'bob' });
      expect((await get('maybe', [`Authorization: Bearer ${token}`])).json()).toEqual({
        result: { data: 'bob' },
      });
    });

    it('never downgrades a bad token to anonymous', async () => {
      const token = await issuers.trusted.expired();
      expectRefusal(
        await get('maybe', [`Authorization: Bearer ${token}`]),
        'maybe',
        unauthorized('token_expired'),
      );
    });
  });

  // SECURITY.md rows 1-9: credential extraction at the HTTP level.
  describe('credential extraction (SECURITY.md 1-9)', () => {
    const good = () => issuers.trusted.sign({ sub: 'alice' });
    const rows: readonly [string, () => Promise<readonly string[]>, string, Refusal][] = [
      ['#1 no Authorization header', async () => [], 'me', unauthorized('missing_token')],
      [
        '#2 Basic scheme',
        async () => ['Authorization: Basic YWxpY2U6c2VjcmV0'],
        'me',
        unauthorized('missing_token'),
      ],
      [
        '#2 Digest scheme',
        async () => ['Authorization: Digest username="alice"'],
        'me',
        unauthorized('missing_token'),
      ],
      [
        '#2/#77 DPoP scheme without a DPoP proof (verified in the default mode)',
        async () => [`Authorization: DPoP ${await good()}`],
        'me',
        { ...unauthorized('invalid_dpop_proof'), challenge: CHALLENGE.invalidDpopProof },
      ],
      ['#4 "Bearer" without a token', async () => ['Authorization: Bearer'], 'me', badRequest],
      ['#4 "Bearer" and spaces only', async () => ['Authorization: Bearer    '], 'me', badRequest],
      ['#5 space inside the token', async () => ['Authorization: Bearer aaa.bbb .ccc'], 'me', badRequest],
      ['#5 tab after the scheme', async () => [`Authorization: Bearer\t${await good()}`], 'me', badRequest],
      ['#5 quoted token', async () => [`Authorization: Bearer "${await good()}"`], 'me', badRequest],
      ['#5 comma inside the token', async () => ['Authorization: Bearer a,b'], 'me', badRequest],
      [
        '#6 two Authorization header lines',
        async () => [`Authorization: Bearer ${await good()}`, `Authorization: Bearer ${await good()}`],
        'me',
        badRequest,
      ],
      [
        '#6 two credentials on one line',
        async () => [`Authorization: Bearer ${await good()}, Bearer ${await good()}`],
        'me',
        badRequest,
      ],
      [
        '#9 token in a cookie',
        async () => [`Cookie: access_token=${await good()}`],
        'me',
        unauthorized('missing_token'),
      ],
      [
        '#9 token in a custom header',
        async () => [`X-Access-Token: ${await good()}`],
        'me',
        unauthorized('missing_token'),
      ],
    ];

    it.each(rows)('%s', async (_name, headers, path, expected) => {
      expectRefusal(await get(path, await headers()), path, expected);
    });

    it('#7 a token in the header and in ?access_token= is invalid_request', async () => {
      const token = await good();
      const response = await rawRequest(server().port, `/me?access_token=${token}`, [
        `Authorization: Bearer ${token}`,
      ]);
      expectRefusal(response, 'me', badRequest);
    });

    it('#7 a form body with access_token is never a credential: tRPC refuses the body itself', async () => {
      const token = await good();
      const response = await rawRequest(
        server().port,
        '/createOrder',
        ['Content-Type: application/x-www-form-urlencoded'],
        {
          method: 'POST',
          body: `access_token=${token}`,
        },
      );
      // tRPC rejects the media type before any context exists: the call can never succeed.
      expect(response.status).toBe(415);
    });

    it('#8 a token only in ?access_token= is not read (401, no error code)', async () => {
      const response = await rawRequest(server().port, `/me?access_token=${await good()}`, []);
      expectRefusal(response, 'me', unauthorized('missing_token'));
    });

    it('#9 a token in the JSON body / tRPC input is not read', async () => {
      const token = await good();
      const response = await rawRequest(server().port, '/createOrder', ['Content-Type: application/json'], {
        method: 'POST',
        body: JSON.stringify({ item: 'x', access_token: token, authorization: `Bearer ${token}` }),
      });
      expectRefusal(response, 'createOrder', unauthorized('missing_token'));
    });

    it('#10 an oversized token is refused on length alone', async () => {
      const response = await get('me', [`Authorization: Bearer ${'a'.repeat(9000)}`]);
      expectRefusal(response, 'me', unauthorized('token_too_large'));
    });
  });

  describe('each token failure reason', () => {
    const rows: readonly [AuthErrorReason, () => Promise<string>][] = [
      ['malformed_token', async () => 'abc.def'],
      ['unsupported_algorithm', () => issuers.es256.sign()],
      ['invalid_signature', () => issuers.impostor.sign()],
      ['unknown_key', () => issuers.trusted.sign({}, { header: { kid: 'no-such-key' } })],
      ['token_expired', () => issuers.trusted.expired()],
      ['token_not_yet_valid', () => issuers.trusted.notYetValid()],
      [
        'token_too_old',
        () => issuers.trusted.sign({}, { issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresIn: 9000 }),
      ],
      ['invalid_issuer', () => issuers.trusted.wrongIssuer()],
      ['invalid_audience', () => issuers.trusted.wrongAudience()],
      ['invalid_claims', () => issuers.trusted.sign({ sub: 42 })],
      // #63: a DPoP-bound token under Bearer.
      ['invalid_token_binding', () => issuers.trusted.sign({ cnf: { jkt: 'thumbprint' } })],
    ];

    it.each(rows)('%s -> 401 UNAUTHORIZED', async (reason, mint) => {
      const token = await mint();
      expectRefusal(await get('me', [`Authorization: Bearer ${token}`]), 'me', unauthorized(reason), token);
    });
  });

  describe('authorization (SECURITY.md 64-69)', () => {
    const forbidden = (requiredScopes: readonly string[]): Refusal => ({
      status: 403,
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      challenge: CHALLENGE.forbidden(requiredScopes.join(' ')),
      requiredScopes,
    });
    const orders = async (claims: Record<string, unknown>) =>
      get('orders', [`Authorization: Bearer ${await issuers.trusted.sign(claims)}`]);

    it('#64 a valid token without a scope claim is 403, not 401', async () => {
      expectRefusal(await orders({}), 'orders', forbidden(['read:orders']));
    });

    it.each(['read:orders:all', 'xread:orders', 'read:ordersx', 'read:order'])(
      '#65 scope %s is not read:orders (no substring match)',
      async (scope) => {
        expectRefusal(await orders({ scope }), 'orders', forbidden(['read:orders']));
      },
    );

    it('#66 scopes are case-sensitive', async () => {
      expectRefusal(await orders({ scope: 'read:Orders' }), 'orders', forbidden(['read:orders']));
    });

    it.each<[string, unknown]>([
      ['a tab separator', 'read:orders\twrite:orders'],
      ['a comma separator', 'read:orders,write:orders'],
      ['a null scope', null],
      ['a numeric scope', 5],
      ['an object scope', { 'read:orders': true }],
    ])('#67 %s grants nothing here (403)', async (_name, scope) => {
      expectRefusal(await orders({ scope }), 'orders', forbidden(['read:orders']));
    });

    it.each<[string, unknown]>([
      ['runs of spaces and leading/trailing spaces', '  openid   read:orders  '],
      ['an array', ['openid', 'read:orders']],
      ['the scp claim', 'read:orders'],
    ])('#67 %s is accepted', async (name, value) => {
      const response = await orders(name === 'the scp claim' ? { scp: value } : { scope: value });
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ result: { data: ['order-1'] } });
    });

    it('#68 scopes never come from the request: query, input or headers', async () => {
      const token = await issuers.trusted.sign({ scope: 'openid' });
      const input = encodeURIComponent(JSON.stringify({ scope: 'read:orders' }));
      const response = await rawRequest(server().port, `/orders?input=${input}&scope=read:orders`, [
        `Authorization: Bearer ${token}`,
        'X-Scope: read:orders',
        'Scope: read:orders',
      ]);
      expectRefusal(response, 'orders', forbidden(['read:orders']));
    });

    it('#69 the 403 names the scopes of the first alternative, with every alternative in data.auth', async () => {
      const token = await issuers.trusted.sign({ scope: 'read:reports' });
      const response = await get('reports', [`Authorization: Bearer ${token}`]);
      expect(response.status).toBe(403);
      expect(response.headers['www-authenticate']).toBe(CHALLENGE.forbidden('admin'));
      const body = response.json() as { error: { data: { auth: unknown } } };
      expect(body.error.data.auth).toEqual({
        code: 'FORBIDDEN',
        reason: 'insufficient_scope',
        message: MESSAGE.insufficient_scope,
        requiredScopes: ['admin'],
        anyOf: [['admin'], ['read:reports', 'export:reports']],
      });
    });

    it('an alternative of an anyOf requirement is enough', async () => {
      const token = await issuers.trusted.sign({ scope: 'read:reports export:reports' });
      expect((await get('reports', [`Authorization: Bearer ${token}`])).status).toBe(200);
    });

    it('a failed claim check is 403 claim_check_failed, never 401', async () => {
      const token = await issuers.trusted.sign({ org: 'globex' });
      expectRefusal(await get('acme', [`Authorization: Bearer ${token}`]), 'acme', {
        status: 403,
        code: 'FORBIDDEN',
        reason: 'claim_check_failed',
        challenge: CHALLENGE.forbidden(),
      });
    });

    it('a passing claim check reaches the resolver', async () => {
      const token = await issuers.trusted.sign({ org: 'acme' });
      expect((await get('acme', [`Authorization: Bearer ${token}`])).json()).toEqual({
        result: { data: 'acme-only' },
      });
    });
  });

  describe('authentication comes before input validation', () => {
    it('an anonymous call with invalid input is 401, not 400', async () => {
      const input = encodeURIComponent(JSON.stringify({ id: 'not-a-number' }));
      const response = await rawRequest(server().port, `/byId?input=${input}`, []);
      expectRefusal(response, 'byId', unauthorized('missing_token'));
    });

    it('an anonymous call with unparsable input is 401, not 400', async () => {
      const response = await rawRequest(server().port, '/byId?input=%7Bnot-json', []);
      expectRefusal(response, 'byId', unauthorized('missing_token'));
    });

    it('an authenticated call with invalid input is a plain 400, without a challenge', async () => {
      const token = await issuers.trusted.sign();
      const input = encodeURIComponent(JSON.stringify({ id: 'not-a-number' }));
      const response = await rawRequest(server().port, `/byId?input=${input}`, [
        `Authorization: Bearer ${token}`,
      ]);
      expect(response.status).toBe(400);
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect((response.json() as { error: { data: { auth: unknown } } }).error.data.auth).toBeNull();
    });

    it('a mutation refused for its scope never runs with the input', async () => {
      const token = await issuers.trusted.sign({ scope: 'read:orders' });
      const response = await rawRequest(
        server().port,
        '/createOrder',
        [`Authorization: Bearer ${token}`, 'Content-Type: application/json'],
        { method: 'POST', body: JSON.stringify({ item: 42 }) },
      );
      expect(response.status).toBe(403);
    });
  });
});
