/**
 * Serves the example API over HTTP (standalone adapter) and WebSocket on one port.
 *
 *   node --import tsx examples/trpc/main.ts --issuer https://tenant.auth0.com/ --audience https://api.example.com
 *
 * Without --issuer it starts a local test issuer (scopegate/testing) and prints a token to try.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { createVerifier } from 'scopegate';
import { createTestIssuer } from 'scopegate/testing';
import { authResponseMeta } from 'scopegate/trpc';
import { WebSocketServer } from 'ws';
import { createApp } from './app.js';
import { withCors } from './cors.js';

const { values } = parseArgs({
  options: {
    issuer: { type: 'string' },
    audience: { type: 'string', default: 'https://notes.example.test' },
    port: { type: 'string', default: '3000' },
  },
});

let verifierOptions: Parameters<typeof createVerifier>[0];
let demoToken: string | undefined;
let closeIssuer = async () => {};
if (values.issuer) {
  verifierOptions = { issuer: values.issuer, audience: values.audience };
} else {
  // Demo mode: a local issuer with real keys, its JWKS served on 127.0.0.1.
  const issuer = await createTestIssuer({ audience: values.audience });
  const served = await issuer.serve();
  closeIssuer = served.close;
  verifierOptions = served.verifierOptions;
  demoToken = await issuer.sign(
    { sub: 'demo-user', scope: 'notes:read notes:write', org: 'acme' },
    { expiresIn: 3600 },
  );
}

const verifier = createVerifier(verifierOptions);
const { appRouter, createContext } = createApp(verifier);
// CORS: browsers may send `Authorization` and `DPoP`, and read `WWW-Authenticate` and `DPoP-Nonce`.
const server = createServer(
  withCors(createHTTPHandler({ router: appRouter, createContext, responseMeta: authResponseMeta })),
);
const wss = new WebSocketServer({ server });
const wsHandler = applyWSSHandler({ wss, router: appRouter, createContext });

server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening on http://127.0.0.1:${port} (WebSocket: ws://127.0.0.1:${port})`);
  if (demoToken) console.log(`demo token: ${demoToken}`);
});

const shutdown = () => {
  wsHandler.broadcastReconnectNotification();
  wss.close();
  server.close(() => void closeIssuer());
  server.closeAllConnections();
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
