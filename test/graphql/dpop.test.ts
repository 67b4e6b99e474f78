/**
 * DPoP (RFC 9449) end to end on GraphQL: the example yoga app on node:http at 127.0.0.1 (POST,
 * GET, SSE subscriptions) and graphql-ws (a real `ws` server with `useServer`, the real client),
 * requests signed by the testing kit's DPoP key. Exact status, code, reason, WWW-Authenticate and
 * DPoP-Nonce asserted (#SECURITY DPoP rows).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Client, createClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createApp } from '../../examples/graphql-yoga/app.js';
import { createVerifier, type DpopOptions, type VerifierOptions } from '../../src/core/index.js';
import { createWsAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../src/testing/index.js';
import {
  DPOP_CHALLENGES,
  dpopHeaders,
  graphqlAuthError,
  NONCE_PATTERN,
  NONCE_SECRET,
  seen,
} from '../helpers/dpop.js';

const AUDIENCE = 'https://notes.example.test';
let issuer: TestIssuer;
let key: TestDpopKey;
const closers: (() => Promise<void>)[] = [];

/** The test issuer's verifier options with this `dpop` option. */
function withDpop(dpop: DpopOptions): VerifierOptions {
  return { ...issuer.verifierOptions, dpop };
}

async function serveYoga(options: VerifierOptions): Promise<string> {
  const server: Server = createServer(createApp(createVerifier(options), { graphiql: false }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  key = await issuer.dpopKey();
});
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const QUERY = '{ notes { id } }';

async function post(url: string, headers: Record<string, string>, query = QUERY) {
  return seen(
    await fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      },
      body: JSON.stringify({ query }),
    }),
  );
}

describe('yoga over HTTP, allowed mode (the default)', () => {
  let url: string;
  beforeAll(async () => {
    url = await serveYoga(issuer.verifierOptions);
  });

  it('POST: a DPoP-bound token with a proof for POST and the URL is accepted', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const reply = await post(url, await dpopHeaders(key, { method: 'POST', url, token }));
    expect(reply).toMatchObject({ status: 200, challenge: null, body: { data: { notes: [] } } });
  });

  it('#83 GET: the proof binds GET and the URL without its query', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const target = `${url}?query=${encodeURIComponent(QUERY)}`;
    const headers = await dpopHeaders(key, { method: 'GET', url, token });
    const reply = await seen(await fetch(target, { headers: { ...headers, accept: 'application/json' } }));
    expect(reply).toMatchObject({ status: 200, body: { data: { notes: [] } } });
    // The same kind of proof signed for POST does not open a GET.
    const wrongMethod = await dpopHeaders(key, { method: 'POST', url, token });
    const refused = await seen(
      await fetch(target, { headers: { ...wrongMethod, accept: 'application/json' } }),
    );
    expect(refused.status).toBe(401);
    expect(graphqlAuthError(refused.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'invalid_dpop_proof' });
    expect(refused.challenge).toBe(DPOP_CHALLENGES.invalidProof);
  });

  it('#63 yoga: a cnf.jkt token under Bearer is refused (invalid_token_binding)', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const reply = await post(url, { authorization: `Bearer ${token}` });
    expect(reply.status).toBe(401);
    expect(graphqlAuthError(reply.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'invalid_token_binding' });
    expect(reply.challenge).toBe(DPOP_CHALLENGES.bindingUnderBearer);
  });

  it('#86 yoga: the same proof twice is refused the second time', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const headers = await dpopHeaders(key, { method: 'POST', url, token });
    expect((await post(url, headers)).status).toBe(200);
    const replayed = await post(url, headers);
    expect(replayed.status).toBe(401);
    expect(graphqlAuthError(replayed.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'invalid_dpop_proof' });
    expect(replayed.challenge).toBe(DPOP_CHALLENGES.invalidProof);
  });

  it('SSE: a subscription opened with DPoP streams the note a writer adds', async () => {
    const reader = await key.sign({ scope: 'notes:read' });
    const stream = await fetch(url, {
      method: 'POST',
      signal: AbortSignal.timeout(5_000),
      headers: {
        ...(await dpopHeaders(key, { method: 'POST', url, token: reader })),
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify({ query: 'subscription { noteAdded { text } }' }),
    });
    expect(stream.status).toBe(200);
    const body = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await body.read()).value);
    const writer = await key.sign({ scope: 'notes:write' });
    const added = await post(
      url,
      await dpopHeaders(key, { method: 'POST', url, token: writer }),
      'mutation { addNote(text: "over sse") { id } }',
    );
    expect(added.status).toBe(200);
    for (let i = 0; i < 20 && !text.includes('event: next'); i++)
      text += decoder.decode((await body.read()).value);
    await body.cancel();
    expect(text).toContain('data: {"data":{"noteAdded":{"text":"over sse"}}}');
  });

  it('SSE: a subscription with a bad proof is refused before the stream starts', async () => {
    const reader = await key.sign({ scope: 'notes:read' });
    const headers = await dpopHeaders(key, { method: 'GET', url, token: reader });
    const reply = await seen(
      await fetch(url, {
        method: 'POST',
        signal: AbortSignal.timeout(5_000),
        headers: { ...headers, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: 'subscription { noteAdded { text } }' }),
      }),
    );
    expect(reply.status).toBe(401);
    expect(reply.challenge).toBe(DPOP_CHALLENGES.invalidProof);
  });
});

describe('yoga with server nonces', () => {
  let url: string;
  beforeAll(async () => {
    url = await serveYoga(withDpop({ nonce: { secret: NONCE_SECRET } }));
  });

  it('#92 yoga: a proof without a nonce gets 401 use_dpop_nonce and a DPoP-Nonce; with it, 200 and a fresh nonce', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const first = await post(url, await dpopHeaders(key, { method: 'POST', url, token }));
    expect(first.status).toBe(401);
    expect(graphqlAuthError(first.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'use_dpop_nonce' });
    expect(first.challenge).toBe(DPOP_CHALLENGES.useNonce);
    expect(first.nonce).toMatch(NONCE_PATTERN);
    const second = await post(
      url,
      await dpopHeaders(key, { method: 'POST', url, token, nonce: first.nonce as string }),
    );
    expect(second).toMatchObject({ status: 200, challenge: null, body: { data: { notes: [] } } });
    expect(second.nonce).toMatch(NONCE_PATTERN);
  });

  it('#92 yoga: a DPoP request that reaches only public fields still gets a DPoP-Nonce (every DPoP response)', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const reply = await post(url, await dpopHeaders(key, { method: 'POST', url, token }), '{ health }');
    expect(reply).toMatchObject({ status: 200, challenge: null, body: { data: { health: 'ok' } } });
    expect(reply.nonce).toMatch(NONCE_PATTERN);
  });

  it('a Bearer request to public fields gets no DPoP-Nonce (not a DPoP response)', async () => {
    const reply = await post(url, {}, '{ health }');
    expect(reply).toMatchObject({ status: 200, nonce: null });
  });

  it('#92 yoga: a forged nonce is refused as stale: use_dpop_nonce again, with a fresh one', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const reply = await post(
      url,
      await dpopHeaders(key, { method: 'POST', url, token, nonce: 'forged-nonce-value' }),
    );
    expect(reply.status).toBe(401);
    expect(graphqlAuthError(reply.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'use_dpop_nonce' });
    expect(reply.nonce).toMatch(NONCE_PATTERN);
  });
});

interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** A graphql-ws server on the example schema, guarded by createWsAuth. */
async function serveWs(options: VerifierOptions): Promise<string> {
  const verifier = createVerifier(options);
  const yoga = createApp(verifier, { graphiql: false });
  const { schema } = yoga.getEnveloped({});
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/graphql' });
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    await disposable.dispose();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** Opens a graphql-ws client and runs one query: its data, or how the socket closed. */
function runWs(
  url: string,
  connectionParams: Record<string, unknown>,
): Promise<{ data?: unknown; closed?: Closed }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ closed: { code: -1, reason: 'deadline' } }), 8_000);
    const client: Client = createClient({
      url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams,
      on: {
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          clearTimeout(timer);
          resolve({ closed: { code, reason: String(reason) } });
        },
      },
    });
    client.subscribe(
      { query: QUERY },
      {
        next: (value) => {
          clearTimeout(timer);
          resolve({ data: value.data });
          void client.dispose();
        },
        error: () => {},
        complete: () => {},
      },
    );
  });
}

describe('graphql-ws', () => {
  it('connectionParams { authorization: DPoP, dpop } with a proof bound to GET and the http form of the URL', async () => {
    const url = await serveWs(issuer.verifierOptions);
    const token = await key.sign({ scope: 'notes:read' });
    const params = await dpopHeaders(key, { method: 'GET', url: url.replace(/^ws/, 'http'), token });
    expect(await runWs(url, params)).toEqual({ data: { notes: [] } });
  });

  it('#84 graphql-ws: a proof bound to the ws: URL itself, or to POST, closes 4403 invalid_dpop_proof', async () => {
    const url = await serveWs(issuer.verifierOptions);
    const token = await key.sign({ scope: 'notes:read' });
    const wsForm = await dpopHeaders(key, { method: 'GET', url, token });
    expect(await runWs(url, wsForm)).toEqual({ closed: { code: 4403, reason: 'invalid_dpop_proof' } });
    const post = await dpopHeaders(key, { method: 'POST', url: url.replace(/^ws/, 'http'), token });
    expect(await runWs(url, post)).toEqual({ closed: { code: 4403, reason: 'invalid_dpop_proof' } });
  });

  it('#63 graphql-ws: a cnf.jkt token under Bearer closes 4403 invalid_token_binding', async () => {
    const url = await serveWs(issuer.verifierOptions);
    const token = await key.sign({ scope: 'notes:read' });
    expect(await runWs(url, { authorization: `Bearer ${token}` })).toEqual({
      closed: { code: 4403, reason: 'invalid_token_binding' },
    });
  });

  it('#92 graphql-ws: a missing or stale nonce closes 4403 use_dpop_nonce; a nonce from an HTTP response opens it', async () => {
    const options = withDpop({ nonce: { secret: NONCE_SECRET } });
    const url = await serveWs(options);
    const http = url.replace(/^ws/, 'http');
    const token = await key.sign({ scope: 'notes:read' });
    const missing = await dpopHeaders(key, { method: 'GET', url: http, token });
    expect(await runWs(url, missing)).toEqual({ closed: { code: 4403, reason: 'use_dpop_nonce' } });
    const stale = await dpopHeaders(key, { method: 'GET', url: http, token, nonce: 'stale-nonce-value' });
    expect(await runWs(url, stale)).toEqual({ closed: { code: 4403, reason: 'use_dpop_nonce' } });
    // The client takes a fresh nonce from any HTTP response of the API (same secret).
    const api = await serveYoga(options);
    const probe = await post(api, await dpopHeaders(key, { method: 'POST', url: api, token }));
    expect(probe.nonce).toMatch(NONCE_PATTERN);
    const fresh = await dpopHeaders(key, { method: 'GET', url: http, token, nonce: probe.nonce as string });
    expect(await runWs(url, fresh)).toEqual({ data: { notes: [] } });
  });
});
