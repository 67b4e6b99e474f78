/**
 * Protected subscriptions over SSE (httpSubscriptionLink, standalone and fetch adapters) and
 * WebSocket (wsLink with connectionParams): denied, allowed, and ended with UNAUTHORIZED
 * `token_expired` when the token expires (a 2 s token, clock tolerance 0).
 */
import {
  createTRPCClient,
  createWSClient,
  httpSubscriptionLink,
  type TRPCClientError,
  wsLink,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createVerifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { buildApp, MAX_TICKS, type TestRouter, TICK_MS } from './support/app.js';
import { type RunningServer, startFetch, startStandalone } from './support/servers.js';
import { AUDIENCE, MESSAGE } from './support/tokens.js';

let issuer: TestIssuer;
let standalone: RunningServer;
let fetchServer: RunningServer;
const closers: (() => void)[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  const verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0 });
  const { router, createContext } = buildApp(verifier);
  standalone = await startStandalone(router, createContext);
  fetchServer = await startFetch(router, createContext);
});

afterEach(() => {
  for (const close of closers.splice(0)) close();
});

afterAll(async () => {
  await Promise.all([standalone.close(), fetchServer.close()]);
});

type Client = ReturnType<typeof createTRPCClient<TestRouter>>;

/** An SSE client; the token travels in the Authorization header (EventSource with a custom fetch). */
function sseClient(url: string, token?: string): Client {
  return createTRPCClient<TestRouter>({
    links: [
      httpSubscriptionLink({
        url,
        EventSource,
        eventSourceOptions: {
          fetch: (input, init) =>
            fetch(input, {
              ...init,
              headers: { ...init.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
            }),
        },
      }),
    ],
  });
}

/** A WebSocket client; the token travels in the connection params. */
function wsClient(
  params: Record<string, string> | null,
  options: { url?: string; headers?: Record<string, string> } = {},
) {
  class HeaderWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: options.headers ?? {} });
    }
  }
  const ws = createWSClient({
    url: options.url ?? standalone.wsUrl,
    WebSocket: HeaderWebSocket as unknown as typeof globalThis.WebSocket,
    ...(params ? { connectionParams: params } : {}),
  });
  closers.push(() => void ws.close());
  return createTRPCClient<TestRouter>({ links: [wsLink({ client: ws })] });
}

interface Outcome {
  readonly values: number[];
  readonly error: TRPCClientError<TestRouter> | undefined;
}

/** Subscribes until `take` values arrived (then unsubscribes), an error, or completion; bounded in time. */
function collect(client: Client, take = Number.POSITIVE_INFINITY): Promise<Outcome> {
  const limitMs = (MAX_TICKS + 20) * TICK_MS;
  return new Promise((resolve, reject) => {
    const values: number[] = [];
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`subscription did not settle within ${limitMs} ms (${values.length} values)`));
    }, limitMs);
    const done = (error?: TRPCClientError<TestRouter>) => {
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve({ values, error });
    };
    const subscription = client.ticks.subscribe(undefined, {
      onData: (value) => {
        values.push(value);
        if (values.length >= take) done();
      },
      onError: (error) => done(error as TRPCClientError<TestRouter>),
      onComplete: () => done(),
    });
  });
}

const transports = [
  ['SSE on the standalone adapter', () => (token?: string) => sseClient(standalone.url, token)],
  ['SSE on the fetch adapter', () => (token?: string) => sseClient(fetchServer.url, token)],
  ['WebSocket', () => (token?: string) => wsClient(token ? { authorization: `Bearer ${token}` } : null)],
] as const;

describe.each(transports)('%s', (_name, factory) => {
  it('denies an anonymous subscriber with UNAUTHORIZED missing_token', async () => {
    const outcome = await collect(factory()());
    expect(outcome.values).toEqual([]);
    expect(outcome.error?.data?.code).toBe('UNAUTHORIZED');
    expect(outcome.error?.data?.auth).toEqual({
      code: 'UNAUTHORIZED',
      reason: 'missing_token',
      message: MESSAGE.missing_token,
    });
  });

  it('denies an expired token', async () => {
    const outcome = await collect(factory()(await issuer.expired()));
    expect(outcome.error?.data?.auth?.reason).toBe('token_expired');
  });

  it('streams to a valid token', async () => {
    const outcome = await collect(factory()(await issuer.sign()), 3);
    expect(outcome.error).toBeUndefined();
    expect(outcome.values).toEqual([0, 1, 2]);
  });
});

describe('a subscription ends when its token expires', () => {
  it('over SSE and WebSocket at once, with UNAUTHORIZED token_expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.sign({}, { issuedAt: now, expiresIn: 2 });
    const ws = wsClient({ authorization: `Bearer ${token}` });
    const outcomes = await Promise.all([collect(sseClient(standalone.url, token)), collect(ws)]);
    for (const outcome of outcomes) {
      expect(outcome.values.length).toBeLessThan(MAX_TICKS);
      expect(outcome.error?.data?.code).toBe('UNAUTHORIZED');
      expect(outcome.error?.data?.auth).toEqual({
        code: 'UNAUTHORIZED',
        reason: 'token_expired',
        message: MESSAGE.token_expired,
      });
    }
    // The WebSocket connection outlives the token: its later calls are refused too.
    await expect(ws.me.query()).rejects.toMatchObject({ data: { auth: { reason: 'token_expired' } } });
  });
});

describe('WebSocket credentials', () => {
  it('accepts the bare token under "token"', async () => {
    const client = wsClient({ token: await issuer.sign({ sub: 'carol' }) });
    await expect(client.me.query()).resolves.toEqual({ sub: 'carol' });
  });

  it('accepts the Authorization header of the upgrade request (Node clients)', async () => {
    const client = wsClient(null, {
      headers: { authorization: `Bearer ${await issuer.sign({ sub: 'dave' })}` },
    });
    await expect(client.me.query()).resolves.toEqual({ sub: 'dave' });
  });

  it('refuses two credentials (authorization and token) with BAD_REQUEST invalid_request', async () => {
    const token = await issuer.sign();
    const client = wsClient({ authorization: `Bearer ${token}`, token });
    await expect(client.me.query()).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', auth: { reason: 'invalid_request' } },
    });
  });

  it('refuses connection params and an upgrade header at once with invalid_request', async () => {
    const token = await issuer.sign();
    const client = wsClient({ token }, { headers: { authorization: `Bearer ${token}` } });
    await expect(client.me.query()).rejects.toMatchObject({ data: { auth: { reason: 'invalid_request' } } });
  });

  it('never reads a token from the URL', async () => {
    const client = wsClient(null, { url: `${standalone.wsUrl}/?access_token=${await issuer.sign()}` });
    await expect(client.me.query()).rejects.toMatchObject({ data: { auth: { reason: 'missing_token' } } });
  });

  it('keeps public procedures public', async () => {
    const client = wsClient({ token: 'not-a-token' });
    await expect(client.health.query()).resolves.toBe('ok');
    await expect(client.me.query()).rejects.toMatchObject({ data: { auth: { reason: 'malformed_token' } } });
  });
});

describe('SSE credentials', () => {
  it('never reads a token from connectionParams in the URL', async () => {
    const token = await issuer.sign();
    const client = createTRPCClient<TestRouter>({
      links: [httpSubscriptionLink({ url: standalone.url, EventSource, connectionParams: { token } })],
    });
    const outcome = await collect(client);
    expect(outcome.error?.data?.auth?.reason).toBe('missing_token');
  });
});
