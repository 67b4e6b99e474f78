/**
 * scopegate/client's DPoP side against scopegate's OWN servers (DPoP verified by the core): the
 * example tRPC app (standalone + ws on one port) with httpBatchLink and wsLink, the example yoga
 * app with urql and graphql-ws. createAuthFetch with `dpop: { keyPair }` sends a fresh proof per
 * request, answers `use_dpop_nonce` once with the server's nonce (then remembers it), and
 * refreshes an expired token; dpopConnectionParams opens WebSockets with a proof for the upgrade.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, createWSClient, httpBatchLink, wsLink } from '@trpc/client';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { fetchExchange, Client as UrqlClient } from '@urql/core';
import { createClient as createGraphqlWsClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createApp as createYogaApp } from '../../examples/graphql-yoga/app.js';
import { type AppRouter, createApp as createTrpcApp } from '../../examples/trpc/app.js';
import { createAuthFetch, dpopConnectionParams } from '../../src/client/index.js';
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/core/index.js';
import { createWsAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../src/testing/index.js';
import { authResponseMeta } from '../../src/trpc/index.js';
import { NONCE_SECRET } from '../helpers/dpop.js';

let issuer: TestIssuer;
let key: TestDpopKey;
let verifier: Verifier;
let trpcOrigin: string;
let yogaUrl: string;
let yogaWsUrl: string;
const closers: (() => Promise<void>)[] = [];

async function listen(
  listener: RequestListener,
  attach?: (server: ReturnType<typeof createServer>) => () => Promise<void>,
) {
  const server = createServer(listener);
  const detach = attach?.(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    await detach?.();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://notes.example.test' });
  key = await issuer.dpopKey();
  const options: VerifierOptions = {
    ...issuer.verifierOptions,
    dpop: { nonce: { secret: NONCE_SECRET } },
  };
  verifier = createVerifier(options);
  const trpc = createTrpcApp(verifier);
  trpcOrigin = `http://${await listen(
    createHTTPHandler({
      router: trpc.appRouter,
      createContext: trpc.createContext,
      responseMeta: authResponseMeta,
    }),
    (server) => {
      const wss = new WebSocketServer({ server });
      applyWSSHandler({ wss, router: trpc.appRouter, createContext: trpc.createContext });
      return async () => {
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      };
    },
  )}`;
  const yoga = createYogaApp(verifier, { graphiql: false });
  const { schema } = yoga.getEnveloped({});
  const host = await listen(yoga, (server) => {
    const wss = new WebSocketServer({ server, path: '/graphql-ws' });
    const auth = createWsAuth({ verifier, schema });
    const disposable = useServer(
      {
        schema,
        onConnect: auth.onConnect,
        onSubscribe: auth.onSubscribe,
        onClose: auth.onClose,
        context: auth.context,
      },
      wss,
    );
    return async () => {
      await disposable.dispose();
    };
  });
  yogaUrl = `http://${host}/graphql`;
  yogaWsUrl = `ws://${host}/graphql-ws`;
});
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** The real fetch, recording what went out (proof jti, nonce) and what came back (status, nonce). */
function recording() {
  const sent: { jti: unknown; nonce: unknown }[] = [];
  const statuses: number[] = [];
  let lastNonce: string | undefined;
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const proof = new Headers(init?.headers).get('dpop');
    const claims = proof ? decodeJwt(proof) : {};
    sent.push({ jti: claims.jti, nonce: claims.nonce });
    const response = await globalThis.fetch(input, init);
    statuses.push(response.status);
    lastNonce = response.headers.get('dpop-nonce') ?? lastNonce;
    return response;
  };
  return { fetch, sent, statuses, nonce: () => lastNonce };
}

describe('createAuthFetch with a DPoP key', () => {
  it('tRPC httpBatchLink: use_dpop_nonce answered once, the nonce remembered, a fresh proof per request', async () => {
    const token = await key.sign({ sub: 'dora', scope: 'notes:read' });
    const network = recording();
    const authFetch = createAuthFetch({
      getToken: () => token,
      dpop: { keyPair: key.keyPair },
      fetch: network.fetch,
    });
    const client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: trpcOrigin, fetch: authFetch })],
    });
    expect(await client.me.query()).toEqual({ sub: 'dora', scopes: ['notes:read'] });
    expect(network.statuses).toEqual([401, 200]);
    expect(network.sent[0]?.nonce).toBeUndefined();
    expect(network.sent[1]?.nonce).toEqual(expect.any(String));
    // A batch of two is one request, one proof; the nonce is sent without a 401 first.
    expect(await Promise.all([client.me.query(), client.notes.list.query()])).toEqual([
      { sub: 'dora', scopes: ['notes:read'] },
      [],
    ]);
    expect(network.statuses).toEqual([401, 200, 200]);
    const jtis = network.sent.map((s) => s.jti);
    expect(new Set(jtis).size).toBe(3);
  });

  it('tRPC: an expired bound token is refreshed once, the retry signed for the new one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await key.sign({ sub: 'dora' }, { issuedAt: now - 600, expiresIn: 300 });
    const fresh = await key.sign({ sub: 'dora' });
    let refreshes = 0;
    const network = recording();
    const authFetch = createAuthFetch({
      getToken: () => expired,
      refresh: () => {
        refreshes++;
        return fresh;
      },
      dpop: { keyPair: key.keyPair },
      fetch: network.fetch,
    });
    const client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: trpcOrigin, fetch: authFetch })],
    });
    expect(await client.me.query()).toEqual({ sub: 'dora', scopes: [] });
    expect(refreshes).toBe(1);
    // One refusal: token_expired, which carries a DPoP-Nonce too; the retry has the new token and that nonce.
    expect(network.statuses).toEqual([401, 200]);
    expect(network.sent[1]?.nonce).toEqual(expect.any(String));
  });

  it('yoga through urql: nonce retry, then data', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const network = recording();
    const authFetch = createAuthFetch({
      getToken: () => token,
      dpop: { keyPair: key.keyPair },
      fetch: network.fetch,
    });
    const client = new UrqlClient({
      url: yogaUrl,
      exchanges: [fetchExchange],
      fetch: authFetch,
      requestPolicy: 'network-only',
    });
    const result = await client.query('{ notes { id } }', {}).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({ notes: [] });
    expect(network.statuses).toEqual([401, 200]);
    expect((await client.query('{ notes { id } }', {}).toPromise()).data).toEqual({ notes: [] });
    expect(network.statuses).toEqual([401, 200, 200]);
  });
});

describe('dpopConnectionParams', () => {
  it('tRPC wsLink: a proof for the upgrade with the nonce from an HTTP response', async () => {
    const token = await key.sign({ sub: 'wes', scope: 'notes:read' });
    const network = recording();
    const authFetch = createAuthFetch({
      getToken: () => token,
      dpop: { keyPair: key.keyPair },
      fetch: network.fetch,
    });
    // Every response to a DPoP request that reached the verifier carries a DPoP-Nonce.
    expect((await authFetch(`${trpcOrigin}/me`)).status).toBe(200);
    expect(network.nonce()).toEqual(expect.any(String));
    const url = trpcOrigin.replace(/^http/, 'ws');
    const ws = createWSClient({
      url,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      connectionParams: dpopConnectionParams({
        getToken: () => token,
        keyPair: key.keyPair,
        url,
        nonce: network.nonce,
      }),
    });
    try {
      const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] });
      expect(await client.me.query()).toEqual({ sub: 'wes', scopes: ['notes:read'] });
    } finally {
      await ws.close();
    }
  });

  it('graphql-ws: opens with a fresh nonce; without one the socket closes 4403 use_dpop_nonce', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const network = recording();
    const authFetch = createAuthFetch({
      getToken: () => token,
      dpop: { keyPair: key.keyPair },
      fetch: network.fetch,
    });
    const probe = await authFetch(yogaUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ notes { id } }"}',
    });
    expect(probe.status).toBe(200);
    expect(network.nonce()).toEqual(expect.any(String));
    const run = (nonce: () => string | undefined) =>
      new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve('deadline'), 8_000);
        const client = createGraphqlWsClient({
          url: yogaWsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: dpopConnectionParams({
            getToken: () => token,
            keyPair: key.keyPair,
            url: yogaWsUrl,
            nonce,
          }),
          on: {
            closed: (event) => {
              clearTimeout(timer);
              const { code, reason } = event as { code: number; reason: string };
              resolve({ code, reason: String(reason) });
            },
          },
        });
        client.subscribe(
          { query: '{ notes { id } }' },
          {
            next: (value) => {
              clearTimeout(timer);
              resolve(value.data);
              void client.dispose();
            },
            error: () => {},
            complete: () => {},
          },
        );
      });
    expect(await run(network.nonce)).toEqual({ notes: [] });
    expect(await run(() => undefined)).toEqual({ code: 4403, reason: 'use_dpop_nonce' });
  });
});
