/**
 * createAuthFetch with the real @trpc/client links (httpLink, httpBatchLink) against real tRPC
 * standalone servers protected by scopegate (createAuthContext / createAuthProcedures /
 * authResponseMeta): refresh on expiry, 503 retry honouring Retry-After, never a retry on 403 or
 * on a 207 batch, origin pinning, and a server without authErrorFormatter.
 */
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthFetch, getAuthError, isAuthError } from '../../src/client/index.js';
import { createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';
import {
  authResponseMeta,
  createAuthContext,
  createAuthProcedures,
  withAuthResponseMeta,
} from '../../src/trpc/index.js';
import { buildApp, type TestRouter } from '../trpc/support/app.js';
import { type RunningServer, startStandalone } from '../trpc/support/servers.js';
import { AUDIENCE } from '../trpc/support/tokens.js';
import { listen, startFlakyJwks, startRecorder } from './support/servers.js';

const issuer = await createTestIssuer({ audience: AUDIENCE });
let server: RunningServer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const { router, createContext } = buildApp(createVerifier(issuer.verifierOptions));
  server = await startStandalone(router, createContext);
  cleanups.push(() => server.close());
});

afterAll(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

/** The real fetch, recording the status of every response (what reached the network). */
function recordingFetch() {
  const statuses: number[] = [];
  const authorizations: (string | null)[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    authorizations.push(new Headers(init?.headers).get('authorization'));
    const response = await globalThis.fetch(input, init);
    statuses.push(response.status);
    return response;
  };
  return { fetch, statuses, authorizations };
}

/** A token store: `getToken` reads it, `refresh` mints a fresh one and counts its calls. */
async function tokenStore(initial: string | null, scope = 'read:orders write:orders') {
  const store = { token: initial, refreshes: 0 };
  return {
    store,
    getToken: () => store.token,
    refresh: async () => {
      store.refreshes++;
      store.token = await issuer.sign({ scope, sub: `refreshed-${store.refreshes}` });
      return store.token;
    },
  };
}

describe('httpLink and httpBatchLink', () => {
  it('an expired token: refresh is called once, the call is retried once and succeeds', async () => {
    const { store, getToken, refresh } = await tokenStore(await issuer.expired({ sub: 'old' }));
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url: server.url, fetch: authFetch })] });
    expect(await client.me.query()).toEqual({ sub: 'refreshed-1' });
    expect(store.refreshes).toBe(1);
    expect(net.statuses).toEqual([401, 200]);
    expect(net.authorizations[1]).toBe(`Bearer ${store.token}`);
  });

  it('a batch refused as a whole (401) is retried once after refresh', async () => {
    const { store, getToken, refresh } = await tokenStore(await issuer.expired());
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({
      links: [httpBatchLink({ url: server.url, fetch: authFetch })],
    });
    const [me, orders] = await Promise.all([client.me.query(), client.orders.query()]);
    expect(me).toEqual({ sub: 'refreshed-1' });
    expect(orders).toEqual(['order-1']);
    expect(store.refreshes).toBe(1);
    expect(net.statuses).toEqual([401, 200]);
  });

  it('a 207 batch (a public call answered, a protected one refused) is never retried', async () => {
    const { store, getToken, refresh } = await tokenStore(await issuer.expired());
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({
      links: [httpBatchLink({ url: server.url, fetch: authFetch })],
    });
    const [health, me] = await Promise.allSettled([client.health.query(), client.me.query()]);
    expect(health).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(me.status).toBe('rejected');
    expect(getAuthError((me as PromiseRejectedResult).reason)).toMatchObject({ reason: 'token_expired' });
    expect(net.statuses).toEqual([207]);
    expect(store.refreshes).toBe(0);
  });

  it('a 403 is never retried and refresh is not called (#69: no refresh loop on 403)', async () => {
    const { store, getToken, refresh } = await tokenStore(await issuer.sign({ scope: 'read:orders' }));
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url: server.url, fetch: authFetch })] });
    const error = await client.createOrder.mutate({ item: 'x' }).catch((e: unknown) => e);
    expect(isAuthError(error, 'FORBIDDEN')).toBe(true);
    expect(net.statuses).toEqual([403]);
    expect(store.refreshes).toBe(0);
  });

  it('a 401 for another reason than expiry (wrong audience) is final: no refresh', async () => {
    const { store, getToken, refresh } = await tokenStore(await issuer.wrongAudience());
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url: server.url, fetch: authFetch })] });
    const error = await client.me.query().catch((e: unknown) => e);
    expect(getAuthError(error)).toMatchObject({ code: 'UNAUTHORIZED', reason: 'invalid_audience' });
    expect(net.statuses).toEqual([401]);
    expect(store.refreshes).toBe(0);
  });

  it('no token (missing_token, bare challenge): sent without Authorization, no refresh', async () => {
    const { store, getToken, refresh } = await tokenStore(null);
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url: server.url, fetch: authFetch })] });
    expect(await client.health.query()).toBe('ok');
    const error = await client.me.query().catch((e: unknown) => e);
    expect(getAuthError(error)).toMatchObject({ reason: 'missing_token' });
    expect(net.authorizations).toEqual([null, null]);
    expect(net.statuses).toEqual([200, 401]);
    expect(store.refreshes).toBe(0);
  });

  it('refresh is called at most once: a refreshed token that is still expired ends with the 401', async () => {
    let refreshes = 0;
    const net = recordingFetch();
    const authFetch = createAuthFetch({
      getToken: () => issuer.expired(),
      refresh: () => {
        refreshes++;
        return issuer.expired({ sub: 'still-old' });
      },
      fetch: net.fetch,
    });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url: server.url, fetch: authFetch })] });
    const error = await client.me.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(refreshes).toBe(1);
    expect(net.statuses).toEqual([401, 401]);
  });
});

describe('503 issuer_unavailable', () => {
  async function outage(failures: number, retryAfter: string | undefined) {
    const jwks = await startFlakyJwks(() => issuer.jwks(), failures);
    cleanups.push(jwks.close);
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      jwksUri: jwks.url,
      allowInsecureLoopback: true,
      failureBackoffMs: 50,
    });
    const { router, createContext } = buildApp(verifier);
    const http = createHTTPServer({
      router,
      createContext,
      // The operator tells clients when to come back.
      responseMeta: withAuthResponseMeta(({ errors }) =>
        retryAfter && errors.some((error) => error.code === 'SERVICE_UNAVAILABLE')
          ? { headers: { 'retry-after': retryAfter } }
          : {},
      ),
    });
    const running = await listen(http);
    cleanups.push(running.close);
    return { url: running.origin, jwks };
  }

  it('retries after the Retry-After delay and succeeds once the issuer is back', async () => {
    const { url, jwks } = await outage(1, '1');
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken: () => issuer.sign({ sub: 'u' }), fetch: net.fetch });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url, fetch: authFetch })] });
    const started = performance.now();
    expect(await client.me.query()).toEqual({ sub: 'u' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(net.statuses).toEqual([503, 200]);
    expect(jwks.hits()).toBe(2);
  });

  it('stops after maxRetries and hands the 503 to the caller (keep the token)', async () => {
    const { url } = await outage(1000, '0');
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken: () => issuer.sign(), fetch: net.fetch, maxRetries: 2 });
    const client = createTRPCClient<TestRouter>({ links: [httpLink({ url, fetch: authFetch })] });
    const error = await client.me.query().catch((e: unknown) => e);
    expect(getAuthError(error)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable' });
    expect(net.statuses).toEqual([503, 503, 503]);
  });

  it('without Retry-After: exponential backoff (250 ms, then 500 ms)', async () => {
    const { url } = await outage(1000, undefined);
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken: () => issuer.sign(), fetch: net.fetch });
    const started = performance.now();
    const response = await authFetch(`${url}/me`);
    expect(response.status).toBe(503);
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
    expect(net.statuses).toEqual([503, 503, 503]);
  });

  it('a Retry-After beyond the bound (10 s) is not waited for: the 503 comes back at once', async () => {
    const { url } = await outage(1000, '120');
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken: () => issuer.sign(), fetch: net.fetch });
    const response = await authFetch(`${url}/me`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('120');
    expect(net.statuses).toEqual([503]);
  });

  it('an abort during the backoff rejects at once with the abort reason', async () => {
    const { url } = await outage(1000, '5');
    const authFetch = createAuthFetch({ getToken: () => issuer.sign() });
    const controller = new AbortController();
    const pending = authFetch(`${url}/me`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user left')), 200);
    const started = performance.now();
    await expect(pending).rejects.toThrow('user left');
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

describe('origin pinning', () => {
  it('never sends the token to an origin other than the first request’s', async () => {
    const other = await startRecorder();
    cleanups.push(other.close);
    const authFetch = createAuthFetch({ getToken: () => issuer.sign({ sub: 'u' }) });
    expect((await authFetch(`${server.url}/me`)).status).toBe(200);
    await authFetch(`${other.origin}/collect`, { method: 'POST', body: '{}' });
    expect(other.seen).toHaveLength(1);
    expect(other.seen[0]?.authorization).toBeUndefined();
    // The same host name on another port is another origin; so is localhost for 127.0.0.1.
    await authFetch(`http://localhost:${server.port}/me`);
    expect(other.seen).toHaveLength(1);
  });

  it('pins to the first origin even when that first request goes elsewhere', async () => {
    const other = await startRecorder();
    cleanups.push(other.close);
    const authFetch = createAuthFetch({ getToken: () => issuer.sign() });
    await authFetch(`${other.origin}/first`);
    const response = await authFetch(`${server.url}/me`);
    expect(other.seen[0]?.authorization).toMatch(/^Bearer /);
    expect(response.status).toBe(401); // the API never received the token
  });

  it('sends it to origins listed in `origins`', async () => {
    const other = await startRecorder();
    cleanups.push(other.close);
    const token = await issuer.sign();
    const authFetch = createAuthFetch({ getToken: () => token, origins: [other.origin] });
    await authFetch(`${server.url}/health`);
    await authFetch(`${other.origin}/collect`);
    expect(other.seen[0]?.authorization).toBe(`Bearer ${token}`);
  });

  it.each([
    ['a path', 'https://api.example.com/v1'],
    ['a trailing slash', 'https://api.example.com/'],
    ['not a URL', 'api.example.com'],
  ])('origins with %s is a TypeError naming the option', (_name, origin) => {
    expect(() => createAuthFetch({ getToken: () => null, origins: [origin] })).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('origins') }),
    );
  });
});

describe('a tRPC API without authErrorFormatter', () => {
  // Without the formatter the error shape carries no `data.auth`: the reason is not on the wire.
  // createAuthFetch decides from the status and challenge, so refresh still works; getAuthError
  // returns null (the formatter is required for it, as the README says).
  let url = '';
  beforeAll(async () => {
    const { router, createContext } = buildPlainApp();
    const running = await listen(createHTTPServer({ router, createContext, responseMeta: authResponseMeta }));
    cleanups.push(running.close);
    url = running.origin;
  });

  it('refresh on expiry still works (from the 401 and its invalid_token challenge)', async () => {
    const { store, getToken, refresh } = await tokenStore(await issuer.expired());
    const net = recordingFetch();
    const authFetch = createAuthFetch({ getToken, refresh, fetch: net.fetch });
    const client = createTRPCClient<PlainRouter>({ links: [httpLink({ url, fetch: authFetch })] });
    expect(await client.me.query()).toBe('refreshed-1');
    expect(store.refreshes).toBe(1);
    expect(net.statuses).toEqual([401, 200]);
  });

  it('getAuthError returns null: the reason never reached the client', async () => {
    const client = createTRPCClient<PlainRouter>({ links: [httpLink({ url })] });
    const error = await client.me.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<PlainRouter>).data).toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
    });
    expect(getAuthError(error)).toBeNull();
  });
});

/** The default tRPC error formatter: no `data.auth`. */
function buildPlainApp() {
  const createContext = createAuthContext(createVerifier(issuer.verifierOptions));
  const t = initTRPC.context<typeof createContext>().create();
  const { protectedProcedure } = createAuthProcedures(t);
  const router = t.router({ me: protectedProcedure.query(({ ctx }) => ctx.claims.sub ?? null) });
  return { router, createContext };
}
type PlainRouter = ReturnType<typeof buildPlainApp>['router'];
