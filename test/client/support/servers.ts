/**
 * Small real HTTP servers on 127.0.0.1 for the client tests: a recorder (what reached an origin),
 * and a JWKS server that fails its first requests (an issuer outage that ends).
 */
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonWebKeySet } from '../../../src/core/index.js';

export interface Listening {
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function serve(listener: RequestListener): Promise<Listening> {
  return listen(createServer(listener));
}

/** Records the headers of every request and answers 200 `{"ok":true}`. */
export async function startRecorder(): Promise<Listening & { readonly seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const running = await serve((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  return { ...running, seen };
}

/** A key server whose first `failures` requests answer 500. */
export async function startFlakyJwks(
  jwks: () => JsonWebKeySet,
  failures: number,
): Promise<Listening & { readonly url: string; hits(): number }> {
  let hits = 0;
  const running = await serve((_req, res) => {
    hits++;
    if (hits <= failures) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks()));
  });
  return { ...running, url: `${running.origin}/jwks.json`, hits: () => hits };
}
