/**
 * Subscriptions over SSE (yoga's built-in, read with fetch) and over graphql-ws (a real `ws` server
 * with `useServer`, the real graphql-ws client): denied, allowed, and ended when the token expires.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionResult } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import { createWsAuth, type WsAuthOptions, withAuth } from '../../src/graphql/index.js';
// The documented close codes (4403, 1013); internal constants, not exports.
import { WS_CLOSE_FORBIDDEN, WS_CLOSE_TRY_AGAIN_LATER } from '../../src/graphql/ws.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  type AppState,
  buildSchema,
  CHALLENGE_MISSING,
  challengeInsufficientScope,
  issuerAndVerifier,
  type Running,
  startYoga,
} from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;

beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
});

interface SseEvent {
  readonly event: string;
  readonly data: ExecutionResult | null;
}

/** Sleeps `ms` milliseconds (bounded waits for real short-lived tokens). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(ms, 0)));

/** Polls `condition` every 20 ms for at most `ms`; true once it holds. */
async function eventually(condition: () => boolean, ms = 3_000): Promise<boolean> {
  for (let waited = 0; !condition() && waited < ms; waited += 20) await sleep(20);
  return condition();
}

/** The `exp` claim of a JWT, in milliseconds. */
function expiresAt(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    exp: number;
  };
  return payload.exp * 1000;
}

/**
 * Reads a text/event-stream response until `complete` (bounded by 200 events and a deadline), or
 * until `until` holds for the events so far (then the client goes away).
 */
async function sse(
  url: string,
  query: string,
  token?: string,
  until?: (events: readonly SseEvent[]) => boolean,
): Promise<{ status: number; headers: Headers; events: SseEvent[] }> {
  const deadline = AbortSignal.timeout(8_000);
  const response = await fetch(url, {
    method: 'POST',
    signal: deadline,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query }),
  });
  const events: SseEvent[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
    .getReader();
  let buffer = '';
  while (events.length < 200) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (!event) continue; // a ping
      const data = /^data:(.*)$/m.exec(block)?.[1]?.trim();
      events.push({ event, data: data ? (JSON.parse(data) as ExecutionResult) : null });
    }
    if (events.at(-1)?.event === 'complete' || until?.(events)) break;
  }
  await reader.cancel().catch(() => {});
  return { status: response.status, headers: response.headers, events };
}

/**
 * The events before a subscription's last (expiry) event: ticks in order, far fewer than the 500
 * the source would give (the token, not the source, ended the stream; no count bound, which would
 * time the machine). A tick published at the very instant of expiry is denied at its own field
 * (the resolver re-checks the token) with the same reason, just before the stream ends.
 */
function expectTicksThenExpiry(events: readonly SseEvent[], reason: string): void {
  const ticks = events.flatMap((event) => (event.data?.data ? [event.data.data.ticks] : []));
  expect(ticks.length).toBeLessThan(500);
  expect(ticks).toEqual(ticks.map((_, index) => index + 1));
  const denied = events.filter((event) => !event.data?.data);
  expect(denied.length).toBeLessThanOrEqual(1);
  for (const event of denied) expect(event.data?.errors?.[0]?.extensions).toMatchObject({ reason });
  // Any denied tick comes after every delivered one.
  if (denied.length > 0) expect(events.at(-1)).toBe(denied[0]);
}

describe('SSE (graphql-yoga)', () => {
  let app: Running;
  beforeAll(async () => {
    app = await startYoga({ verifier });
  });
  afterAll(() => app.close());

  it('allowed: every event, then complete', async () => {
    const reply = await sse(
      app.url,
      'subscription { ticks(max: 3) }',
      await issuer.sign({ scope: 'read:ticks' }),
    );
    expect(reply.status).toBe(200);
    // yoga's SSE "no-cache" stays; scopegate's directives are added to it.
    expect(reply.headers.get('cache-control')).toMatch(/private, no-store$/);
    expect(reply.headers.get('vary')).toBe('Authorization, DPoP');
    expect(reply.events).toEqual([
      { event: 'next', data: { data: { ticks: 1 } } },
      { event: 'next', data: { data: { ticks: 2 } } },
      { event: 'next', data: { data: { ticks: 3 } } },
      { event: 'complete', data: null },
    ]);
  });

  it('public subscription: no token needed', async () => {
    const reply = await sse(app.url, 'subscription { publicTicks(max: 2) }');
    expect(reply.status).toBe(200);
    expect(reply.events.map((event) => event.data?.data)).toEqual([
      { publicTicks: 1 },
      { publicTicks: 2 },
      undefined,
    ]);
  });

  it.each([
    ['anonymous', undefined, 401, CHALLENGE_MISSING, 'UNAUTHORIZED', 'missing_token'],
    [
      'missing scope',
      'read:orders',
      403,
      challengeInsufficientScope('read:ticks'),
      'FORBIDDEN',
      'insufficient_scope',
    ],
  ] as const)(
    'denied (%s): %i, one error event, complete',
    async (_name, scope, status, challenge, code, reason) => {
      const token = scope === undefined ? undefined : await issuer.sign({ scope });
      const reply = await sse(app.url, 'subscription { ticks(max: 3) }', token);
      expect(reply.status).toBe(status);
      expect(reply.headers.get('www-authenticate')).toBe(challenge);
      expect(reply.events).toHaveLength(2);
      expect(reply.events[0]?.data?.data).toBeUndefined();
      expect(reply.events[0]?.data?.errors?.[0]).toMatchObject({
        path: ['ticks'],
        extensions: { code, reason },
      });
      expect(reply.events[1]?.event).toBe('complete');
    },
  );

  it('ended when the token expires: a last UNAUTHORIZED token_expired event, then complete', async () => {
    const token = await issuer.sign({ scope: 'read:ticks' }, { expiresIn: 2 });
    const reply = await sse(app.url, 'subscription { ticks(max: 500, intervalMs: 100) }', token);
    expect(reply.status).toBe(200);
    const last = reply.events.at(-2);
    expect(reply.events.at(-1)?.event).toBe('complete');
    expect(last?.data?.data).toBeNull();
    expect(last?.data?.errors?.[0]).toMatchObject({
      message: 'The access token has expired',
      path: ['ticks'],
      extensions: { code: 'UNAUTHORIZED', reason: 'token_expired' },
    });
    expectTicksThenExpiry(reply.events.slice(0, -2), 'token_expired');
  });

  it("maxTokenAge ends the subscription at the verifier's instant: a last token_too_old event", async () => {
    const aged = await issuerAndVerifier({ maxTokenAge: 1 });
    const short = await startYoga({ verifier: aged.verifier });
    try {
      // exp is 5 minutes away: only maxTokenAge (1-2 s after iat) can end this subscription.
      const token = await aged.issuer.sign({ scope: 'read:ticks' });
      const reply = await sse(short.url, 'subscription { ticks(max: 500, intervalMs: 100) }', token);
      expect(reply.events.at(-1)?.event).toBe('complete');
      expect(reply.events.at(-2)?.data).toEqual({
        data: null,
        errors: [
          {
            message: 'The access token was issued too long ago',
            locations: [{ line: 1, column: 16 }],
            path: ['ticks'],
            extensions: { code: 'UNAUTHORIZED', reason: 'token_too_old' },
          },
        ],
      });
      expectTicksThenExpiry(reply.events.slice(0, -2), 'token_too_old');
    } finally {
      await short.close();
    }
  });

  it('a client that goes away closes the source of a guarded subscription, even a quiet one', async () => {
    const pubSub = createPubSub<{ note: [string] }>();
    let subscribed = 0;
    let closed = 0;
    const schema = createSchema<Record<string, unknown>>({
      typeDefs: 'type Query { ok: Boolean } type Subscription { note: String! }',
      resolvers: {
        Subscription: {
          note: {
            subscribe: withAuth(true, () => {
              const source = pubSub.subscribe('note');
              subscribed++;
              return {
                [Symbol.asyncIterator]() {
                  return this;
                },
                next: () => source.next(),
                return: () => {
                  closed++;
                  return source.return();
                },
              };
            }),
            resolve: (note: string) => note,
          },
        },
      },
    });
    const quiet = await startYoga({ verifier, yoga: { schema } });
    try {
      const token = await issuer.sign();
      // One event, then the client leaves; nothing is published after that.
      const reading = sse(quiet.url, 'subscription { note }', token, (events) => events.length >= 1);
      expect(await eventually(() => subscribed === 1)).toBe(true);
      pubSub.publish('note', 'first');
      const reply = await reading;
      expect(reply.events).toEqual([{ event: 'next', data: { data: { note: 'first' } } }]);
      expect(await eventually(() => closed === 1)).toBe(true);
    } finally {
      await quiet.close();
    }
  });
});

interface WsApp {
  readonly url: string;
  readonly state: AppState;
  close(): Promise<void>;
}

async function startWs(options: Omit<WsAuthOptions, 'schema'>): Promise<WsApp> {
  const state: AppState = { sideEffects: 0 };
  const schema = buildSchema(state);
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const auth = createWsAuth({ ...options, schema });
  const disposable = useServer(
    {
      schema,
      onConnect: auth.onConnect,
      onSubscribe: auth.onSubscribe,
      onClose: auth.onClose,
      context: (ctx) => ({ ...auth.context(ctx), requestedAt: Date.now() }),
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    state,
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Closed {
  readonly code: number;
  readonly reason: string;
}

function client(
  url: string,
  connectionParams?: Record<string, unknown>,
  lazy = true,
): { client: Client; closed: Promise<Closed> } {
  let onClosed: (closed: Closed) => void = () => {};
  const closed = new Promise<Closed>((resolve) => {
    onClosed = resolve;
  });
  const instance = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy,
    ...(connectionParams && { connectionParams }),
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClosed({ code, reason: String(reason) });
      },
    },
  });
  return { client: instance, closed };
}

interface Outcome {
  readonly values: ExecutionResult[];
  readonly error?: unknown;
  readonly completed: boolean;
}

/** Runs one operation to its end (or `limit` results), bounded by a deadline. */
function run(instance: Client, query: string, limit = 100): Promise<Outcome> {
  return new Promise((resolve) => {
    const values: ExecutionResult[] = [];
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      resolve({ values, error: new Error('deadline'), completed: false });
    }, 8_000);
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    unsubscribe = instance.subscribe(
      { query },
      {
        next: (value) => {
          values.push(value as ExecutionResult);
          if (values.length >= limit) {
            unsubscribe();
            finish({ values, completed: false });
          }
        },
        error: (error) => finish({ values, error, completed: false }),
        complete: () => finish({ values, completed: true }),
      },
    );
  });
}

describe('graphql-ws', () => {
  let app: WsApp;
  beforeAll(async () => {
    app = await startWs({ verifier });
  });
  afterAll(() => app.close());

  it('allowed: the subscription streams with a token from connectionParams.authorization', async () => {
    const { client: ws } = client(app.url, {
      authorization: `Bearer ${await issuer.sign({ scope: 'read:ticks' })}`,
    });
    try {
      const outcome = await run(ws, 'subscription { ticks(max: 3) }');
      expect(outcome).toEqual({
        values: [{ data: { ticks: 1 } }, { data: { ticks: 2 } }, { data: { ticks: 3 } }],
        completed: true,
      });
    } finally {
      await ws.dispose();
    }
  });

  it('connectionParams.token works too; a denied operation is an error of that operation only', async () => {
    const { client: ws } = client(app.url, { token: await issuer.sign({ scope: 'read:orders' }) });
    try {
      const denied = await run(ws, 'subscription { ticks(max: 3) }');
      expect(denied.completed).toBe(true);
      expect(denied.values).toHaveLength(1);
      expect(denied.values[0]?.errors?.[0]).toMatchObject({
        path: ['ticks'],
        extensions: { code: 'FORBIDDEN', reason: 'insufficient_scope', requiredScopes: ['read:ticks'] },
      });
      // The socket stays open: the next operation on it runs.
      const query = await run(ws, '{ orders { id } }');
      expect(query).toEqual({
        values: [{ data: { orders: [{ id: 'o1' }, { id: 'o2' }] } }],
        completed: true,
      });
    } finally {
      await ws.dispose();
    }
  });

  it('anonymous connections run public operations; protected ones fail with missing_token', async () => {
    const { client: ws } = client(app.url);
    try {
      expect(await run(ws, 'subscription { publicTicks(max: 2) }')).toEqual({
        values: [{ data: { publicTicks: 1 } }, { data: { publicTicks: 2 } }],
        completed: true,
      });
      const denied = await run(ws, 'subscription { ticks }');
      expect(denied.values[0]?.errors?.[0]?.extensions).toEqual({
        code: 'UNAUTHORIZED',
        reason: 'missing_token',
      });
    } finally {
      await ws.dispose();
    }
  });

  it('a mutation is checked before execution: an error of the operation, no side effect', async () => {
    const { client: ws } = client(app.url, {
      authorization: `Bearer ${await issuer.sign({ scope: 'write:orders read:orders' })}`,
    });
    try {
      const outcome = await run(ws, 'mutation { touch placeOrder(sku: "x") { id internalNote } }');
      expect(outcome.values).toEqual([]);
      expect(outcome.error).toEqual([
        expect.objectContaining({
          path: ['placeOrder', 'internalNote'],
          extensions: expect.objectContaining({ code: 'FORBIDDEN', reason: 'insufficient_scope' }),
        }),
      ]);
      expect(app.state.sideEffects).toBe(0);
      const allowed = await run(ws, 'mutation { touch placeOrder(sku: "x") { id } }');
      expect(allowed.values).toEqual([{ data: { touch: 1, placeOrder: { id: 'new-x' } } }]);
      expect(app.state.sideEffects).toBe(2);
    } finally {
      await ws.dispose();
    }
  });

  it.each([
    [
      'an expired token',
      async () => ({ authorization: `Bearer ${await issuer.expired()}` }),
      'token_expired',
    ],
    [
      'a bad signature',
      async () => ({ token: `${(await issuer.sign()).slice(0, -4)}AAAA` }),
      'invalid_signature',
    ],
    [
      'two credentials',
      async () => ({ authorization: `Bearer ${await issuer.sign()}`, token: 'x' }),
      'invalid_request',
    ],
    ['an empty token', async () => ({ token: '' }), 'invalid_request'],
    ['a non-string token', async () => ({ token: 42 }), 'invalid_request'],
    ['another scheme', async () => ({ authorization: 'Basic dXNlcjpwYXNz' }), 'missing_token'],
  ] as const)('%s: the connection is closed with 4403 and the reason', async (_name, params, reason) => {
    const strict = reason === 'missing_token' ? await startWs({ verifier, allowAnonymous: false }) : app;
    const { client: ws, closed } = client(strict.url, await params());
    try {
      const outcome = await run(ws, '{ publicInfo }');
      expect(outcome.values).toEqual([]);
      expect(outcome.error).toMatchObject({ code: WS_CLOSE_FORBIDDEN, reason });
      expect(await closed).toEqual({ code: WS_CLOSE_FORBIDDEN, reason });
    } finally {
      await ws.dispose();
      if (strict !== app) await strict.close();
    }
  });

  it('the issuer is unreachable: closed with 1013 (try again later), not 4403', async () => {
    const served = await (await createTestIssuer()).serve();
    await served.close();
    const unreachable = createVerifier({ ...served.verifierOptions, timeoutMs: 500 });
    const down = await startWs({ verifier: unreachable });
    const { client: ws, closed } = client(down.url, { authorization: `Bearer ${await issuer.sign()}` });
    try {
      await run(ws, '{ publicInfo }');
      expect(await closed).toEqual({ code: WS_CLOSE_TRY_AGAIN_LATER, reason: 'issuer_unavailable' });
    } finally {
      await ws.dispose();
      await down.close();
    }
  });

  it('the connection is closed when the token expires, ending its subscriptions', async () => {
    const token = await issuer.sign({ scope: 'read:ticks' }, { expiresIn: 2 });
    const { client: ws, closed } = client(app.url, { authorization: `Bearer ${token}` });
    try {
      const outcome = await run(ws, 'subscription { ticks(max: 500, intervalMs: 100) }');
      expect(outcome.completed).toBe(false);
      expect(outcome.error).toMatchObject({ code: WS_CLOSE_FORBIDDEN, reason: 'token_expired' });
      // Ended by the token, not by the source's 500 ticks (no count bound: that would time the machine).
      expect(outcome.values.length).toBeLessThan(500);
      expect(await closed).toEqual({ code: WS_CLOSE_FORBIDDEN, reason: 'token_expired' });
    } finally {
      await ws.dispose();
    }
  });

  it('a connection closed before expiry leaves no timer that closes anything later', async () => {
    const token = await issuer.sign({ scope: 'read:ticks' }, { expiresIn: 1 });
    const { client: ws, closed } = client(app.url, { authorization: `Bearer ${token}` });
    const outcome = await run(ws, 'subscription { ticks(max: 2) }');
    expect(outcome.completed).toBe(true);
    await ws.dispose();
    expect((await closed).code).toBe(1000);
  });

  it("a close that keeps the socket open: past expiry, operations get the verifier's token_expired", async () => {
    const closes: Closed[] = [];
    const lenient = await startWs({ verifier, close: (_ctx, code, reason) => closes.push({ code, reason }) });
    const token = await issuer.sign({}, { expiresIn: 1 });
    // Not lazy: the socket stays open between operations.
    const { client: ws } = client(lenient.url, { authorization: `Bearer ${token}` }, false);
    try {
      expect(await run(ws, '{ requiredLogin }')).toEqual({
        values: [{ data: { requiredLogin: 'logged in' } }],
        completed: true,
      });
      await sleep(expiresAt(token) - Date.now() + 50);
      // The helper asked to close the connection at expiry, with the verifier's reason.
      expect(await eventually(() => closes.length > 0)).toBe(true);
      expect(closes).toEqual([{ code: WS_CLOSE_FORBIDDEN, reason: 'token_expired' }]);
      // The socket is still open: the connection's auth re-verifies and refuses the expired token.
      const denied = await run(ws, '{ publicInfo requiredLogin }');
      expect(denied.completed).toBe(true);
      expect(denied.values[0]?.data).toBeNull();
      expect(denied.values[0]?.errors?.[0]).toMatchObject({
        message: 'The access token has expired',
        path: ['requiredLogin'],
        extensions: { code: 'UNAUTHORIZED', reason: 'token_expired' },
      });
    } finally {
      await ws.dispose();
      await lenient.close();
    }
  });

  it('CFG (issue 8): createWsAuth requires the schema; precheck without it is not silently ignored', () => {
    for (const options of [{ verifier }, { verifier, precheck: 'all' as const }, { verifier, schema: {} }]) {
      expect(() => createWsAuth(options as unknown as WsAuthOptions)).toThrow(
        new TypeError('"schema" option must be the GraphQLSchema graphql-ws executes'),
      );
    }
  });
});
