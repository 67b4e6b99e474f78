/**
 * A real key server on 127.0.0.1 for the fetching tests: it serves a JWKS (and OIDC / RFC 8414
 * metadata when asked), counts hits per path, and can be switched into each way an issuer
 * breaks. Nothing is mocked: the verifier under test talks HTTP to it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { JsonWebKeySet } from '../../src/core/index.js';

/** How the JWKS endpoint answers. Metadata documents always answer normally (unless `down`). */
export type JwksBehaviour =
  | 'normal'
  /** The listener is closed: connection refused. */
  | 'down'
  | 'error500'
  /** Answers correctly, but only after `slowMs`. */
  | 'slow'
  /** Sends the headers at once and the body only after `slowMs`: the deadline must cover the body. */
  | 'slowBody'
  | 'garbage'
  /** JSON that is not a key set: `{"keys":{}}`. */
  | 'notJwks'
  /** The public keys plus a private RSA key. */
  | 'privateKeys'
  /** A symmetric key (`kty: oct`, with its secret `k`). */
  | 'symmetric'
  /** A body larger than `hugeBytes`, with a content-length header. */
  | 'huge'
  /** The same, chunked: no content-length, so the cap must be enforced while reading. */
  | 'hugeChunked'
  /** 302 to a path that serves the real keys: following it would be a mistake. */
  | 'redirect';

/** Which metadata documents exist; the issuer is `<origin><issuerPath>`. */
export type MetadataMode = 'oidc' | 'oauth' | 'none';

export interface JwksServerOptions {
  /** The key set served in `normal` mode (read on every request, so rotation shows at once). */
  readonly jwks: () => JsonWebKeySet;
  /** Path of the issuer under the origin, e.g. `/realms/x`, or `/` (the default). */
  readonly issuerPath?: string;
  readonly metadata?: MetadataMode;
  /** Path of the key set. @default '/keys/jwks.json' */
  readonly jwksPath?: string;
  /** Changes to the metadata document, e.g. a mismatching `issuer` or an http `jwks_uri`. */
  readonly metadataOverrides?: () => Readonly<Record<string, unknown>>;
  /** @default 2000 */
  readonly slowMs?: number;
  /** @default 200_000 */
  readonly hugeBytes?: number;
}

export interface JwksServer {
  readonly origin: string;
  /** The issuer this server's metadata names: `<origin><issuerPath>`. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly jwksPath: string;
  /** Requests received per path (the key set's by default). */
  hits(path?: string): number;
  /** Requests received on every path. */
  totalHits(): number;
  behaviour(): JwksBehaviour;
  setBehaviour(next: JwksBehaviour): Promise<void>;
  close(): Promise<void>;
}

const REDIRECT_TARGET = '/moved/jwks.json';

let privateJwk: Promise<Record<string, unknown>> | undefined;
// One private key for every server: RSA generation is slow and its content does not matter.
function privateKey(): Promise<Record<string, unknown>> {
  privateJwk ??= generateKeyPair('RS256', { extractable: true }).then(async ({ privateKey }) => ({
    ...(await exportJWK(privateKey)),
    kid: 'leaked-private-key',
    alg: 'RS256',
  }));
  return privateJwk;
}

function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function hugeText(bytes: number): string {
  return JSON.stringify({ keys: [], padding: 'x'.repeat(bytes) });
}

export async function startJwksServer(options: JwksServerOptions): Promise<JwksServer> {
  const issuerPath = options.issuerPath ?? '/';
  const slowMs = options.slowMs ?? 2000;
  const hugeBytes = options.hugeBytes ?? 200_000;
  const jwksPath = options.jwksPath ?? '/keys/jwks.json';
  const counts = new Map<string, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let mode: JwksBehaviour = 'normal';
  let origin = '';
  let port = 0;

  const later = (fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, slowMs);
    timers.add(timer);
  };

  const metadataPaths = (): ReadonlyMap<string, MetadataMode> => {
    const path = issuerPath.replace(/\/$/, '');
    return new Map<string, MetadataMode>([
      [`${path}/.well-known/openid-configuration`, 'oidc'],
      [`/.well-known/oauth-authorization-server${path}`, 'oauth'],
    ]);
  };

  const serveJwks = async (res: ServerResponse): Promise<void> => {
    switch (mode) {
      case 'normal':
      case 'down':
        return sendJson(res, options.jwks());
      case 'error500':
        return sendJson(res, { error: 'internal' }, 500);
      case 'slow':
        return later(() => sendJson(res, options.jwks()));
      case 'slowBody':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys":');
        return later(() => res.end(`${JSON.stringify(options.jwks().keys)}}`));
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('<html>not json</html>');
      case 'notJwks':
        return sendJson(res, { keys: {} });
      case 'privateKeys':
        return sendJson(res, { keys: [...options.jwks().keys, await privateKey()] });
      case 'symmetric':
        return sendJson(res, {
          keys: [{ kty: 'oct', kid: 'shared', alg: 'HS256', k: 'c2VjcmV0'.repeat(6) }],
        });
      case 'huge': {
        const text = hugeText(hugeBytes);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        return void res.end(text);
      }
      case 'hugeChunked': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const text = hugeText(hugeBytes);
        for (let i = 0; i < text.length; i += 8192) res.write(text.slice(i, i + 8192));
        return void res.end();
      }
      case 'redirect':
        res.writeHead(302, { location: `${origin}${REDIRECT_TARGET}` });
        return void res.end();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    if (path === jwksPath) return serveJwks(res);
    if (path === REDIRECT_TARGET) return sendJson(res, options.jwks());
    const kind = metadataPaths().get(path);
    if (kind && kind === (options.metadata ?? 'none')) {
      return sendJson(res, {
        issuer: `${origin}${issuerPath}`,
        jwks_uri: `${origin}${jwksPath}`,
        ...options.metadataOverrides?.(),
      });
    }
    sendJson(res, { error: 'not_found' }, 404);
  };

  let server: Server = createServer();
  const listen = async (): Promise<void> => {
    server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  const stop = (): Promise<void> => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    if (!server.listening) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    });
  };

  await listen();
  origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    issuer: `${origin}${issuerPath}`,
    jwksUri: `${origin}${jwksPath}`,
    jwksPath,
    hits: (path = jwksPath) => counts.get(path) ?? 0,
    totalHits: () => [...counts.values()].reduce((sum, count) => sum + count, 0),
    behaviour: () => mode,
    async setBehaviour(next) {
      // `down` closes the listener (connection refused); leaving it listens again on the same port.
      if (next === 'down' && mode !== 'down') await stop();
      if (next !== 'down' && mode === 'down') await listen();
      mode = next;
    },
    close: stop,
  };
}

/**
 * A `fetch` that serves `https://<host>/...` URLs from a server on 127.0.0.1, for what needs https
 * (the `domain` shorthand, https-only checks): the request still travels over real HTTP.
 */
export function httpsToLoopback(
  routes: Readonly<Record<string, string>>,
): (input: string, init: RequestInit) => Promise<Response> {
  return (input, init) => {
    const url = new URL(input);
    const target = url.protocol === 'https:' ? routes[url.host] : undefined;
    if (!target) return Promise.reject(new TypeError(`no route for ${input}`));
    return fetch(`${target}${url.pathname}${url.search}`, init);
  };
}
