/**
 * The identity provider's keys cannot be fetched: protected calls are 503 SERVICE_UNAVAILABLE
 * (retry later, keep the token), never 401; public procedures are unaffected.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';
import { buildApp } from './support/app.js';
import { type RunningServer, rawRequest, startFetch, startStandalone } from './support/servers.js';
import { AUDIENCE, MESSAGE } from './support/tokens.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function failingJwksServer(): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, hits: () => hits };
}

function expectUnavailable(response: Awaited<ReturnType<typeof rawRequest>>, path: string): void {
  expect(response.status).toBe(503);
  expect(response.headers['www-authenticate']).toBeUndefined();
  expect(response.headers['cache-control']).toBe('private, no-store');
  const body = response.json() as { error: { message: string; data: unknown } };
  expect(body.error.message).toBe(MESSAGE.issuer_unavailable);
  expect(body.error.data).toEqual({
    code: 'SERVICE_UNAVAILABLE',
    httpStatus: 503,
    path,
    auth: { code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable', message: MESSAGE.issuer_unavailable },
  });
}

describe.each([
  ['standalone', startStandalone],
  ['fetch', startFetch],
] as const)('%s adapter', (_name, start) => {
  it('JWKS server closed: 503 for protected calls, public ones unaffected', async () => {
    const issuer = await createTestIssuer({ audience: AUDIENCE });
    const served = await issuer.serve();
    const verifier = createVerifier({ ...served.verifierOptions, timeoutMs: 1000, failureBackoffMs: 100 });
    const { router, createContext } = buildApp(verifier);
    const server: RunningServer = await start(router, createContext);
    cleanups.push(() => server.close());
    await served.close();

    const token = await issuer.sign();
    expectUnavailable(await rawRequest(server.port, '/me', [`Authorization: Bearer ${token}`]), 'me');
    const health = await rawRequest(server.port, '/health', [`Authorization: Bearer ${token}`]);
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ result: { data: 'ok' } });
    // A batch: the public call answers, the protected one is 503 (not a 401 that would log the user out).
    const batch = await rawRequest(server.port, '/health,me?batch=1', [`Authorization: Bearer ${token}`]);
    expect(batch.status).toBe(207);
    const slots = batch.json() as { result?: { data: unknown }; error?: { data: { code: string } } }[];
    expect(slots.map((slot) => slot.result?.data ?? slot.error?.data.code)).toEqual([
      'ok',
      'SERVICE_UNAVAILABLE',
    ]);
  });

  it('JWKS server answering 500: 503 for protected calls, public ones unaffected', async () => {
    const issuer = await createTestIssuer({ audience: AUDIENCE });
    const jwks = await failingJwksServer();
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      jwksUri: jwks.url,
      allowInsecureLoopback: true,
      failureBackoffMs: 60_000,
    });
    const { router, createContext } = buildApp(verifier);
    const server: RunningServer = await start(router, createContext);
    cleanups.push(() => server.close());

    const token = await issuer.sign();
    expectUnavailable(await rawRequest(server.port, '/me', [`Authorization: Bearer ${token}`]), 'me');
    expectUnavailable(await rawRequest(server.port, '/orders', [`Authorization: Bearer ${token}`]), 'orders');
    expect(jwks.hits()).toBe(1); // the failure backoff holds: no hammering of the IdP
    expect((await rawRequest(server.port, '/health', [])).status).toBe(200);
    // Without a token nothing is fetched: still the 401 challenge, not a 503.
    expect((await rawRequest(server.port, '/me', [])).status).toBe(401);
  });
});
