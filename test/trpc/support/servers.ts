/**
 * Real tRPC servers on 127.0.0.1 for the tests: the standalone adapter (HTTP, SSE and, on the
 * same port, WebSocket through the ws adapter) and the fetch adapter served through node:http.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { AnyTRPCRouter } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer } from 'ws';
import type { AuthContextOptions } from '../../../src/trpc/index.js';
import { authResponseMeta } from '../../../src/trpc/index.js';

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>` (standalone only) */
  readonly wsUrl: string;
  readonly port: number;
  /** HTTP requests received so far (WebSocket upgrades excluded). */
  requests(): number;
  close(): Promise<void>;
}

type CreateContext = (opts: AuthContextOptions) => object;

function countRequests(server: Server): () => number {
  let count = 0;
  server.on('request', () => count++);
  return () => count;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closer(server: Server, wss?: WebSocketServer): () => Promise<void> {
  return async () => {
    if (wss) {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  };
}

/** The standalone adapter, with the ws adapter on the same port. */
export async function startStandalone(
  router: AnyTRPCRouter,
  createContext: CreateContext,
): Promise<RunningServer> {
  const server = createHTTPServer({ router, createContext, responseMeta: authResponseMeta });
  const wss = new WebSocketServer({ server });
  applyWSSHandler({ wss, router, createContext });
  const requests = countRequests(server);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    requests,
    close: closer(server, wss),
  };
}

/** A fetch `Request` from a Node request: repeated headers are appended, as a fetch runtime would. */
async function toRequest(req: IncomingMessage, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks);
  return new Request(`http://127.0.0.1${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    ...(body ? { body } : {}),
    signal,
  });
}

async function send(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  res.on('close', () => void reader.cancel().catch(() => undefined));
  for (;;) {
    const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (chunk.done) break;
    res.write(chunk.value);
  }
  res.end();
}

/** The fetch adapter, served through node:http. */
export async function startFetch(
  router: AnyTRPCRouter,
  createContext: CreateContext,
): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    void (async () => {
      const request = await toRequest(req, controller.signal);
      const response = await fetchRequestHandler({
        endpoint: '',
        req: request,
        router,
        createContext,
        responseMeta: authResponseMeta,
      });
      await send(response, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const requests = countRequests(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, wsUrl: '', port, requests, close: closer(server) };
}

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  json(): unknown;
}

/**
 * Sends a request over a raw socket, header lines exactly as given: no client normalizes,
 * merges or validates them (two Authorization lines, tabs, quotes...).
 */
export function rawRequest(
  port: number,
  path: string,
  headerLines: readonly string[],
  options: { readonly method?: string; readonly body?: string } = {},
): Promise<RawResponse> {
  const body = options.body ?? '';
  const lines = [
    `${options.method ?? 'GET'} ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Connection: close',
    ...headerLines,
    ...(body ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

function parseResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).split('\r\n');
  let body = text.slice(split + 4);
  const status = Number((head[0] ?? '').split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status, headers, body, json: () => JSON.parse(body) };
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (let guard = 0; guard < 100_000 && rest.length > 0; guard++) {
    const end = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, end), 16);
    if (!size) break;
    out += rest.slice(end + 2, end + 2 + size);
    rest = rest.slice(end + 2 + size + 2);
  }
  return out;
}
