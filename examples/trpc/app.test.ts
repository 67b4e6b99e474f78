/**
 * Integration test of the tRPC example: the app served for real, called by the example client,
 * audited with assertProtected, and main.ts started as a process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { createVerifier } from 'scopegate';
import { createTestIssuer, type TestIssuer } from 'scopegate/testing';
import { assertProtected, authResponseMeta } from 'scopegate/trpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type AppRouter, createApp } from './app.js';
import { run } from './client.js';
import { withCors } from './cors.js';

const AUDIENCE = 'https://notes.example.test';
let issuer: TestIssuer;
let url: string;
let close: () => Promise<void>;
let appRouter: AppRouter;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  const app = createApp(createVerifier(issuer.verifierOptions));
  appRouter = app.appRouter;
  const server = createServer(
    withCors(
      createHTTPHandler({
        router: app.appRouter,
        createContext: app.createContext,
        responseMeta: authResponseMeta,
      }),
    ),
  );
  const wss = new WebSocketServer({ server });
  applyWSSHandler({ wss, router: app.appRouter, createContext: app.createContext });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
});

afterAll(() => close());

describe('examples/trpc', () => {
  it('every procedure is protected or declared public', async () => {
    await expect(assertProtected(appRouter, { public: ['health', 'feed'] })).resolves.toHaveLength(7);
  });

  it('the client explains each refusal from error.data.auth', async () => {
    expect(await run(url)).toEqual([
      'health: "ok"',
      'me: sign in first',
      'notes.add: sign in first',
      'notes.list: sign in first',
      'admin.stats: sign in first',
    ]);
    expect(await run(url, await issuer.expired())).toContain('me: token expired: refresh it and retry');
    const reader = await issuer.sign({ sub: 'rita', scope: 'notes:read', org: 'globex' });
    expect(await run(url, reader)).toEqual([
      'health: "ok"',
      'me: {"sub":"rita","scopes":["notes:read"]}',
      'notes.add: ask for more access: notes:write',
      'notes.list: []',
      'admin.stats: ask for more access: admin',
    ]);
  });

  it('a writer of acme adds notes and reads the stats', async () => {
    const writer = await issuer.sign({ sub: 'wes', scope: 'notes:read notes:write read:stats', org: 'acme' });
    const lines = await run(url, writer);
    expect(lines[2]).toMatch(/^notes\.add: \{"id":\d+,"text":"hello from the client","author":"wes"\}$/);
    expect(lines[4]).toMatch(/^admin\.stats: \{"notes":\d+\}$/);
    const outsider = await issuer.sign({ scope: 'admin', org: 'globex' });
    expect((await run(url, outsider))[4]).toBe('admin.stats: not allowed for your account');
  });

  it('streams added notes to a WebSocket subscriber with the token in connectionParams', async () => {
    const token = await issuer.sign({ sub: 'sam', scope: 'notes:read notes:write' });
    const ws = createWSClient({
      url: url.replace('http', 'ws'),
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] });
    try {
      const received = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no note within 5 s')), 5000);
        const subscription = client.notes.onAdded.subscribe(undefined, {
          onStarted: () => void client.notes.add.mutate({ text: 'live' }),
          onData: (note) => {
            clearTimeout(timer);
            subscription.unsubscribe();
            resolve(note.text);
          },
          onError: reject,
        });
      });
      expect(await received).toBe('live');
    } finally {
      await ws.close();
    }
  });

  it('CORS: a preflight allows the DPoP header; responses expose WWW-Authenticate and DPoP-Nonce', async () => {
    const preflight = await fetch(`${url}/me`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization, dpop',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = preflight.headers.get('access-control-allow-headers')?.split(/,\s*/) ?? [];
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'dpop']));
    // The actual (refused) request: the browser lets the client read the challenge.
    const refused = await fetch(`${url}/me`, { headers: { origin: 'https://app.example.test' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(refused.headers.get('access-control-expose-headers')).toBe(
      'WWW-Authenticate, DPoP-Nonce, Retry-After',
    );
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('main.ts runs in demo mode and serves the API', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/trpc/main.ts', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`main.ts did not start: ${output}`)), 15_000);
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('demo token:') && output.includes('\n', output.indexOf('demo token:'))) {
            clearTimeout(timer);
            resolve(output);
          }
        });
        child.once('exit', (code) => reject(new Error(`main.ts exited with ${code}: ${output}`)));
      });
      const origin = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
      const token = /demo token: (\S+)/.exec(banner)?.[1] as string;
      const lines = await run(origin, token);
      expect(lines[0]).toBe('health: "ok"');
      expect(lines[1]).toBe('me: {"sub":"demo-user","scopes":["notes:read","notes:write"]}');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
