/**
 * dpopConnectionParams with a real graphql-ws client (over `ws`) against a real graphql-ws server
 * on 127.0.0.1 whose onConnect verifies the DPoP proof independently (jose): GET, the http: form
 * of the WebSocket URL, `ath`; a new proof (new `jti`) on every (re)connect.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createWSClient } from '@trpc/client';
import { generateKeyPair } from 'dpop';
import { createClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { dpopConnectionParams } from '../../src/client/index.js';
import { type ProofSeen, verifyProof } from './support/dpop-server.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3cyJ9.c2ln';
const keyPair = await generateKeyPair('ES256');
const accepted: ProofSeen[] = [];
let refused = 0;
let wss: WebSocketServer;

beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/graphql' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as { port: number };
  const schema = makeExecutableSchema({
    typeDefs: 'type Query { hello: String! }',
    resolvers: { Query: { hello: () => 'world' } },
  });
  useServer(
    {
      schema,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = typeof params.authorization === 'string' ? params.authorization : '';
        const token = authorization.startsWith('DPoP ') ? authorization.slice(5) : '';
        const proof = typeof params.dpop === 'string' ? params.dpop : '';
        const seen = await verifyProof(proof, {
          method: 'GET',
          htu: `http://127.0.0.1:${port}/graphql`,
          token,
        });
        if (!seen || accepted.some((previous) => previous.jti === seen.jti)) {
          refused++;
          return false;
        }
        accepted.push(seen);
        return true;
      },
    },
    wss,
  );
});

afterAll(async () => {
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

function url(): string {
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}/graphql`;
}

async function hello(client: ReturnType<typeof createClient>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let result: unknown;
    client.subscribe(
      { query: '{ hello }' },
      {
        next: (value) => {
          result = value;
        },
        error: reject,
        complete: () => resolve(result),
      },
    );
  });
}

it('connects with a verified proof, and a fresh one on every reconnect', async () => {
  const client = createClient({
    url: url(),
    webSocketImpl: WebSocket,
    connectionParams: dpopConnectionParams({ getToken: () => TOKEN, keyPair, url: url() }),
    lazy: true,
    lazyCloseTimeout: 0,
    retryAttempts: 0,
  });
  try {
    expect(await hello(client)).toEqual({ data: { hello: 'world' } });
    // Every socket is dropped by the server; the next operation reconnects.
    for (const socket of wss.clients) socket.terminate();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await hello(client)).toEqual({ data: { hello: 'world' } });
  } finally {
    await client.dispose();
  }
  expect(refused).toBe(0);
  expect(accepted).toHaveLength(2);
  expect(accepted[0]?.jti).not.toBe(accepted[1]?.jti);
  expect(accepted.every((proof) => proof.htm === 'GET' && proof.htu.startsWith('http://127.0.0.1:'))).toBe(
    true,
  );
});

it('types: dpopConnectionParams is the connectionParams of tRPC createWSClient (lazy: no socket opened)', async () => {
  const client = createWSClient({
    url: url(),
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: dpopConnectionParams({ getToken: () => TOKEN, keyPair, url: url() }),
    lazy: { enabled: true, closeMs: 0 },
  });
  expect(client.connection).toBeNull();
  await client.close();
});

it('a proof made for another URL is refused by the server (the check is real)', async () => {
  const client = createClient({
    url: url(),
    webSocketImpl: WebSocket,
    connectionParams: dpopConnectionParams({ getToken: () => TOKEN, keyPair, url: 'ws://127.0.0.1:1/other' }),
    lazy: true,
    retryAttempts: 0,
  });
  try {
    await expect(hello(client)).rejects.toMatchObject({ code: 4403 });
  } finally {
    await client.dispose();
  }
  expect(refused).toBe(1);
});
