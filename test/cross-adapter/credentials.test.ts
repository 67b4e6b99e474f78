/**
 * One credentials policy, every transport: the same table of cases runs through the tRPC HTTP
 * adapter (standalone), tRPC's `wsLink` (real @trpc/client over a real ws server), graphql-yoga over
 * HTTP and graphql-ws (real client and `useServer`), and each gives the same answer: the same
 * reason, with the code (tRPC), status (HTTP) or close code (graphql-ws) that reason carries.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import { createWsAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { buildSchema, type Running, startYoga } from '../graphql/support.js';
import { buildApp, type TestRouter } from '../trpc/support/app.js';
import { type RunningServer, startStandalone } from '../trpc/support/servers.js';
import { AUDIENCE } from '../trpc/support/tokens.js';

/** What a transport answered, in the terms every transport shares. */
interface Outcome {
  readonly ok: boolean;
  readonly reason?: string;
}

interface Case {
  readonly name: string;
  /** WebSocket connection params (tRPC wsLink, graphql-ws). */
  readonly params?: (tokens: Tokens) => Record<string, unknown>;
  /** Headers of the WebSocket upgrade request. */
  readonly upgrade?: (tokens: Tokens) => [string, string][];
  /** Headers of the HTTP request (tRPC HTTP, yoga). */
  readonly http?: (tokens: Tokens) => [string, string][];
  readonly expected: Outcome;
  /**
   * tRPC's ws adapter refuses connection params that are not all strings itself, before
   * `createContext` (PARSE_ERROR): the wsLink outcome is then tRPC's, not scopegate's.
   */
  readonly trpcRefusesParams?: true;
  /** Query string of the HTTP request. */
  readonly query?: string;
}

interface Tokens {
  readonly valid: string;
  readonly expired: string;
}

const OK: Outcome = { ok: true };
const TRPC_PARSE_ERROR: Outcome = { ok: false, reason: 'tRPC PARSE_ERROR before createContext' };
const refused = (reason: string): Outcome => ({ ok: false, reason });

// The one WebSocket rule (src/core/credentials.ts), case by case.
const CASES: readonly Case[] = [
  { name: 'params.authorization', params: (t) => ({ authorization: `Bearer ${t.valid}` }), expected: OK },
  { name: 'params.token (a bare token)', params: (t) => ({ token: t.valid }), expected: OK },
  {
    name: 'names are case-insensitive',
    params: (t) => ({ Authorization: `Bearer ${t.valid}` }),
    expected: OK,
  },
  { name: 'params.Token', params: (t) => ({ Token: t.valid }), expected: OK },
  {
    name: 'the upgrade Authorization header when the params have none',
    params: () => ({ locale: 'en' }),
    upgrade: (t) => [['authorization', `Bearer ${t.valid}`]],
    expected: OK,
  },
  {
    name: 'null is absent',
    params: () => ({ token: null }),
    expected: refused('missing_token'),
    trpcRefusesParams: true,
  },
  { name: 'unrelated params only', params: () => ({ locale: 'en' }), expected: refused('missing_token') },
  {
    name: 'another scheme',
    params: () => ({ authorization: 'Basic dXNlcjpwYXNz' }),
    expected: refused('missing_token'),
  },
  {
    name: 'the DPoP scheme with a proof that is no JWS (verified in the default mode)',
    params: (t) => ({ authorization: `DPoP ${t.valid}`, dpop: 'a.b.c' }),
    http: (t) => [
      ['authorization', `DPoP ${t.valid}`],
      ['dpop', 'a.b.c'],
    ],
    expected: refused('invalid_dpop_proof'),
  },
  { name: 'an expired token', params: (t) => ({ token: t.expired }), expected: refused('token_expired') },
  {
    name: 'params plus an upgrade Authorization header',
    params: (t) => ({ authorization: `Bearer ${t.valid}` }),
    upgrade: (t) => [['authorization', `Bearer ${t.valid}`]],
    expected: refused('invalid_request'),
  },
  {
    name: 'params.dpop plus an upgrade DPoP header',
    params: (t) => ({ authorization: `DPoP ${t.valid}`, dpop: 'a.b.c' }),
    upgrade: () => [['dpop', 'a.b.c']],
    expected: refused('invalid_request'),
  },
  {
    name: 'authorization and token',
    params: (t) => ({ authorization: `Bearer ${t.valid}`, token: t.valid }),
    expected: refused('invalid_request'),
  },
  {
    name: 'two spellings of authorization',
    params: (t) => ({ authorization: `Bearer ${t.valid}`, Authorization: `Bearer ${t.valid}` }),
    expected: refused('invalid_request'),
  },
  {
    name: 'a non-string token',
    params: () => ({ token: 42 }),
    expected: refused('invalid_request'),
    trpcRefusesParams: true,
  },
  {
    name: 'an array token',
    params: (t) => ({ token: [t.valid] }),
    expected: refused('invalid_request'),
    trpcRefusesParams: true,
  },
  { name: 'an empty token', params: () => ({ token: '' }), expected: refused('invalid_request') },
  { name: 'a token with a space', params: () => ({ token: 'a b' }), expected: refused('invalid_request') },
  {
    name: 'two Authorization headers',
    http: (t) => [
      ['authorization', `Bearer ${t.valid}`],
      ['authorization', `Bearer ${t.valid}`],
    ],
    expected: refused('invalid_request'),
  },
  { name: 'a Bearer header', http: (t) => [['authorization', `Bearer ${t.valid}`]], expected: OK },
  {
    name: 'a Bearer header and ?access%5Ftoken= (percent-encoded name)',
    http: (t) => [['authorization', `Bearer ${t.valid}`]],
    query: '?access%5Ftoken=x',
    expected: refused('invalid_request'),
  },
  { name: 'no credentials', http: () => [], expected: refused('missing_token') },
];

const STATUS: Readonly<Record<string, number>> = {
  missing_token: 401,
  token_expired: 401,
  invalid_dpop_proof: 401,
  invalid_request: 400,
};

let issuer: TestIssuer;
let verifier: Verifier;
let tokens: Tokens;
let trpc: RunningServer;
let yoga: Running;
let graphqlWs: { url: string; close(): Promise<void> };

async function startGraphqlWs(): Promise<{ url: string; close(): Promise<void> }> {
  const schema = buildSchema({ sideEffects: 0 });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
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
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0 });
  tokens = { valid: await issuer.sign({ sub: 'alice' }), expired: await issuer.expired() };
  trpc = await startStandalone(buildApp(verifier).router, buildApp(verifier).createContext);
  yoga = await startYoga({ verifier });
  graphqlWs = await startGraphqlWs();
});

afterAll(async () => {
  await Promise.all([trpc?.close(), yoga?.close(), graphqlWs?.close()]);
});

/** A `ws` WebSocket class sending the given upgrade headers. */
function webSocketWith(headers: [string, string][]) {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: Object.fromEntries(headers) });
    }
  };
}

/** tRPC over HTTP: GET /me with the headers. */
async function viaTrpcHttp(c: Case): Promise<Outcome> {
  const headers = new Headers();
  for (const [name, value] of c.http?.(tokens) ?? []) headers.append(name, value);
  const response = await fetch(`${trpc.url}/me${c.query ?? ''}`, { headers });
  const body = (await response.json()) as { error?: { data?: { auth?: { reason?: string } } } };
  if (response.ok) return OK;
  const reason = body.error?.data?.auth?.reason;
  expect(response.status).toBe(STATUS[reason ?? '']);
  return refused(reason ?? '?');
}

/** graphql-yoga over HTTP: `{ requiredLogin }`. */
async function viaYoga(c: Case): Promise<Outcome> {
  const headers = new Headers({
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  });
  for (const [name, value] of c.http?.(tokens) ?? []) headers.append(name, value);
  const response = await fetch(`${yoga.url}${c.query ?? ''}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: '{ requiredLogin }' }),
  });
  const body = (await response.json()) as ExecutionResult;
  const error = body.errors?.[0];
  if (!error) return OK;
  const reason = error.extensions?.reason as string;
  expect(response.status).toBe(STATUS[reason]);
  return refused(reason);
}

/** tRPC wsLink: `me` over a connection with the params and upgrade headers. */
async function viaWsLink(c: Case): Promise<Outcome> {
  const params = c.params?.(tokens);
  const ws = createWSClient({
    url: trpc.wsUrl,
    WebSocket: webSocketWith(c.upgrade?.(tokens) ?? []) as unknown as typeof globalThis.WebSocket,
    ...(params ? { connectionParams: params as Record<string, string> } : {}),
  });
  try {
    const client = createTRPCClient<TestRouter>({ links: [wsLink({ client: ws })] });
    await client.me.query();
    return OK;
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const auth = (error.data as { auth?: { reason: string; code: string } } | undefined)?.auth;
    // No `data.auth`: tRPC refused the connection params itself, createContext never ran.
    if (!auth) return TRPC_PARSE_ERROR;
    expect(auth?.code).toBe(STATUS[auth?.reason ?? ''] === 400 ? 'BAD_REQUEST' : 'UNAUTHORIZED');
    return refused(auth?.reason ?? '?');
  } finally {
    await ws.close();
  }
}

/** graphql-ws: `{ requiredLogin }`; a refused connection is closed with 4403 and the reason. */
function viaGraphqlWs(c: Case): Promise<Outcome> {
  const params = c.params?.(tokens);
  let closed: { code: number; reason: string } | undefined;
  const client = createClient({
    url: graphqlWs.url,
    webSocketImpl: webSocketWith(c.upgrade?.(tokens) ?? []),
    retryAttempts: 0,
    ...(params && { connectionParams: params }),
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closed = { code, reason: String(reason) };
      },
    },
  });
  return new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('graphql-ws: no answer within 5 s')), 5_000);
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      void client.dispose();
      resolve(outcome);
    };
    client.subscribe(
      { query: '{ requiredLogin }' },
      {
        next: (result) => {
          const reason = result.errors?.[0]?.extensions?.reason as string | undefined;
          finish(reason === undefined ? OK : refused(reason));
        },
        error: () => {
          // Refused at connect: 4403 with the reason (1013 only when the issuer is unreachable).
          expect(closed?.code).toBe(4403);
          finish(refused(closed?.reason ?? '?'));
        },
        complete: () => undefined,
      },
    );
  });
}

describe('one credentials policy across transports', () => {
  const wsCases = CASES.filter((c) => c.params !== undefined);
  const httpCases = CASES.filter((c) => c.http !== undefined);

  it.each(wsCases.map((c) => [c.name, c] as const))('WebSocket: %s', async (_name, c) => {
    const outcomes = { wsLink: await viaWsLink(c), graphqlWs: await viaGraphqlWs(c) };
    expect(outcomes).toEqual({
      wsLink: c.trpcRefusesParams ? TRPC_PARSE_ERROR : c.expected,
      graphqlWs: c.expected,
    });
  });

  it.each(httpCases.map((c) => [c.name, c] as const))('HTTP: %s', async (_name, c) => {
    const outcomes = { trpc: await viaTrpcHttp(c), yoga: await viaYoga(c) };
    expect(outcomes).toEqual({ trpc: c.expected, yoga: c.expected });
  });
});
