/**
 * DPoP (RFC 9449) end to end with the real @trpc/client over the standalone adapter (HTTP, SSE and
 * WebSocket on one port): httpLink, httpBatchLink (one proof, one `jti` claim per batch),
 * httpBatchStreamLink (200 and the DPoP-Nonce header on a streamed response),
 * httpSubscriptionLink (SSE GET) and wsLink with `dpopConnectionParams` (the proof bound to GET and
 * the upgrade URL; a proof without the server's nonce closes the socket with 4403
 * `use_dpop_nonce`). Proofs are made by panva's `dpop` package (through scopegate/client).
 */
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  httpSubscriptionLink,
  TRPCClientError,
  wsLink,
} from '@trpc/client';
import { generateProof } from 'dpop';
import { EventSource } from 'eventsource';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createAuthFetch, dpopConnectionParams } from '../../src/client/index.js';
import {
  createMemoryReplayStore,
  createVerifier,
  type ReplayStore,
  type VerifierOptions,
} from '../../src/core/index.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../src/testing/index.js';
import { buildApp, type TestRouter } from './support/app.js';
import { type RunningServer, startStandalone } from './support/servers.js';
import { AUDIENCE } from './support/tokens.js';

const SECRET = 'a nonce secret of at least 32 bytes!!';

/** A replay store that counts claims. */
function countingStore() {
  const inner = createMemoryReplayStore();
  const store = {
    claims: 0,
    claim(key: string, expiresAt: number, info?: Parameters<ReplayStore['claim']>[2]) {
      store.claims++;
      return inner.claim(key, expiresAt, info);
    },
  };
  return store;
}

let issuer: TestIssuer;
let key: TestDpopKey;
let token: string;
const servers: RunningServer[] = [];
const closers: (() => void)[] = [];

async function serve(dpop: VerifierOptions['dpop'] = {}) {
  const store = countingStore();
  const verifier = createVerifier({ ...issuer.verifierOptions, dpop: { replayStore: store, ...dpop } });
  const { router, createContext } = buildApp(verifier);
  const server = await startStandalone(router, createContext);
  servers.push(server);
  return { server, store };
}

type LinkFetch = NonNullable<Parameters<typeof httpLink>[0]['fetch']>;

/**
 * The fetch a DPoP client gives its links (scopegate/client, proofs by the `dpop` package): a
 * fresh proof per request; the server's latest DPoP-Nonce remembered and sent; one retry on a 401
 * use_dpop_nonce.
 */
function dpopFetch(responses?: Response[]): LinkFetch {
  const authFetch = createAuthFetch({ getToken: () => token, dpop: { keyPair: key.keyPair } });
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await authFetch(input as string, init as never);
    responses?.push(response);
    return response;
  };
  return wrapped as unknown as LinkFetch;
}

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  key = await issuer.dpopKey();
  token = await key.sign({ scope: 'read:orders write:orders' });
});
afterEach(() => {
  for (const close of closers.splice(0)) close();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe('HTTP links', () => {
  it('httpLink: a query and a mutation, one proof and one claim each', async () => {
    const { server, store } = await serve();
    const client = createTRPCClient<TestRouter>({
      links: [httpLink({ url: server.url, fetch: dpopFetch() })],
    });
    expect(await client.me.query()).toEqual({ sub: 'test-user' });
    expect(await client.createOrder.mutate({ item: 'pen' })).toEqual({ item: 'pen', by: 'test-user' });
    expect(store.claims).toBe(2);
  });

  it('httpBatchLink: a batch of three protected calls is one request, one proof, one jti claim', async () => {
    const { server, store } = await serve();
    const client = createTRPCClient<TestRouter>({
      links: [httpBatchLink({ url: server.url, fetch: dpopFetch() })],
    });
    const before = server.requests();
    const results = await Promise.all([
      client.me.query(),
      client.orders.query(),
      client.byId.query({ id: 7 }),
    ]);
    expect(results).toEqual([{ sub: 'test-user' }, ['order-1'], 7]);
    expect(server.requests() - before).toBe(1);
    expect(store.claims).toBe(1);
  });

  it('httpBatchLink with a replayed proof: every call of the batch is UNAUTHORIZED invalid_dpop_proof', async () => {
    const { server } = await serve();
    const proof = await generateProof(key.keyPair, `${server.url}/me,orders`, 'GET', undefined, token);
    const fixed = (input: RequestInfo | URL, init?: RequestInit) =>
      fetch(input, { ...init, headers: { authorization: `DPoP ${token}`, dpop: proof } });
    const client = createTRPCClient<TestRouter>({
      links: [httpBatchLink({ url: server.url, fetch: fixed as unknown as LinkFetch })],
    });
    await expect(Promise.all([client.me.query(), client.orders.query()])).resolves.toHaveLength(2);
    const again = await Promise.allSettled([client.me.query(), client.orders.query()]);
    for (const result of again) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as TRPCClientError<TestRouter>;
      expect(error).toBeInstanceOf(TRPCClientError);
      expect(error.data).toMatchObject({ code: 'UNAUTHORIZED', auth: { reason: 'invalid_dpop_proof' } });
    }
  });

  it('httpBatchStreamLink with nonces on: the streamed 200 carries DPoP-Nonce, which the next batch uses', async () => {
    const { server, store } = await serve({ nonce: { secret: SECRET } });
    const responses: Response[] = [];
    const client = createTRPCClient<TestRouter>({
      links: [httpBatchStreamLink({ url: server.url, fetch: dpopFetch(responses) })],
    });
    // A streamed response cannot answer 401 after its headers: the first batch (no nonce yet) gets
    // 200 with use_dpop_nonce in each slot, and the nonce in its headers.
    const first = await Promise.allSettled([client.me.query(), client.orders.query()]);
    for (const result of first) {
      const error = (result as PromiseRejectedResult).reason as TRPCClientError<TestRouter>;
      expect(error.data).toMatchObject({ code: 'UNAUTHORIZED', auth: { reason: 'use_dpop_nonce' } });
    }
    const streamed = responses[0] as Response;
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('dpop-nonce')).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(streamed.headers.get('vary')).toContain('DPoP');
    expect(await Promise.all([client.me.query(), client.orders.query()])).toEqual([
      { sub: 'test-user' },
      ['order-1'],
    ]);
    const last = responses.at(-1) as Response;
    expect(last.status).toBe(200);
    expect(last.headers.get('dpop-nonce')).toBe(streamed.headers.get('dpop-nonce'));
    // A proof without the nonce never reaches the store: one claim, for the second batch.
    expect(store.claims).toBe(1);
  });

  it('a plain 401 use_dpop_nonce answers with DPoP-Nonce and the use_dpop_nonce challenge', async () => {
    const { server } = await serve({ nonce: { secret: SECRET } });
    const proof = await generateProof(key.keyPair, `${server.url}/me`, 'GET', undefined, token);
    const reply = await fetch(`${server.url}/me`, {
      headers: { authorization: `DPoP ${token}`, dpop: proof },
    });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('dpop-nonce')).toMatch(/^\d+\./);
    expect(reply.headers.get('www-authenticate')).toContain(
      'DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256", error="use_dpop_nonce"',
    );
    const body = (await reply.json()) as { error: { data: { auth: { reason: string } } } };
    expect(body.error.data.auth.reason).toBe('use_dpop_nonce');
  });

  it('a DPoP request to a public procedure still gets a DPoP-Nonce (every DPoP response); Bearer gets none', async () => {
    const { server, store } = await serve({ nonce: { secret: SECRET } });
    const proof = await generateProof(key.keyPair, `${server.url}/health`, 'GET', undefined, token);
    const reply = await fetch(`${server.url}/health`, {
      headers: { authorization: `DPoP ${token}`, dpop: proof },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('dpop-nonce')).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    // Auth was not consulted: no private caching, and the proof was never checked or claimed.
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(store.claims).toBe(0);
    const bearer = await fetch(`${server.url}/health`);
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('dpop-nonce')).toBeNull();
  });
});

describe('httpSubscriptionLink (SSE GET)', () => {
  it('a protected subscription with a DPoP proof for GET on the subscription URL', async () => {
    const { server, store } = await serve();
    const client = createTRPCClient<TestRouter>({
      links: [
        httpSubscriptionLink({
          url: server.url,
          EventSource,
          eventSourceOptions: { fetch: dpopFetch() as unknown as typeof fetch },
        }),
      ],
    });
    const values = await new Promise<number[]>((resolve, reject) => {
      const seen: number[] = [];
      const timer = setTimeout(() => reject(new Error('no events within 5 s')), 5000);
      const subscription = client.ticks.subscribe(undefined, {
        onData(value) {
          seen.push(value);
          if (seen.length === 3) {
            clearTimeout(timer);
            subscription.unsubscribe();
            resolve(seen);
          }
        },
        onError(error) {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    expect(values).toEqual([0, 1, 2]);
    expect(store.claims).toBe(1);
  });
});

describe('wsLink with dpopConnectionParams', () => {
  function wsClient(url: string, nonce?: () => string | undefined) {
    const ws = createWSClient({
      url,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      connectionParams: dpopConnectionParams({
        getToken: () => token,
        keyPair: key.keyPair,
        url,
        ...(nonce && { nonce }),
      }),
      retryDelayMs: () => 60_000,
    });
    closers.push(() => void ws.close());
    return createTRPCClient<TestRouter>({ links: [wsLink({ client: ws })] });
  }

  it('the proof is checked once, at connect: queries and a subscription on one connection, one claim', async () => {
    const { server, store } = await serve();
    const client = wsClient(server.wsUrl);
    expect(await client.me.query()).toEqual({ sub: 'test-user' });
    expect(await client.orders.query()).toEqual(['order-1']);
    expect(store.claims).toBe(1);
  });

  it('nonces on and no nonce: the socket is closed with 4403 use_dpop_nonce', async () => {
    const { server } = await serve({ nonce: { secret: SECRET } });
    const proof = await generateProof(key.keyPair, `${server.url}/`, 'GET', undefined, token);
    const socket = new WebSocket(`${server.wsUrl}/?connectionParams=1`);
    closers.push(() => socket.terminate());
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    await new Promise<void>((resolve) => socket.on('open', () => resolve()));
    socket.send(
      JSON.stringify({ method: 'connectionParams', data: { authorization: `DPoP ${token}`, dpop: proof } }),
    );
    expect(await closed).toEqual({ code: 4403, reason: 'use_dpop_nonce' });
  });

  it('nonces on: with the nonce of an HTTP response, the connection is accepted', async () => {
    const { server } = await serve({ nonce: { secret: SECRET } });
    // Any DPoP response of a procedure that consulted auth carries the nonce (here a 401).
    const refused = await fetch(`${server.url}/me`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await generateProof(key.keyPair, `${server.url}/me`, 'GET', undefined, token),
      },
    });
    await refused.text();
    const nonce = refused.headers.get('dpop-nonce') ?? undefined;
    expect(nonce).toBeDefined();
    const client = wsClient(server.wsUrl, () => nonce);
    expect(await client.me.query()).toEqual({ sub: 'test-user' });
  });
});
