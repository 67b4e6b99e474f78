/**
 * Request bodies and retries: a retry must send the same body, and a body that is a stream cannot
 * be sent twice, so a request with one is never retried (its refusal goes to the caller as is).
 * Against a real server on 127.0.0.1 that refuses the expired token with RFC 6750's challenge.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthFetch } from '../../src/client/index.js';
import { type Listening, serve } from './support/servers.js';

let server: Listening;
const received: { authorization: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = await serve(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    received.push({ authorization: req.headers.authorization, body });
    if (req.headers.authorization !== 'Bearer fresh') {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate':
          'Bearer realm="api", error="invalid_token", error_description="The access token expired", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
      });
      return void res.end('{"error":"invalid_token"}');
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-test': 'yes' });
    res.end(JSON.stringify({ echo: body }));
  });
});

afterAll(async () => {
  await server.close();
});

function store() {
  const state = { refreshes: 0 };
  return {
    state,
    options: {
      getToken: () => (state.refreshes ? 'fresh' : 'stale'),
      refresh: () => {
        state.refreshes++;
        return 'fresh';
      },
    },
  };
}

it('a string body is sent again, unchanged, on the retry', async () => {
  received.length = 0;
  const { state, options } = store();
  const response = await createAuthFetch(options)(`${server.origin}/x`, { method: 'POST', body: 'payload' });
  expect(await response.json()).toEqual({ echo: 'payload' });
  expect(received).toEqual([
    { authorization: 'Bearer stale', body: 'payload' },
    { authorization: 'Bearer fresh', body: 'payload' },
  ]);
  expect(state.refreshes).toBe(1);
});

it('a Request with a body (input, not init) is cloned before sending: the retry has the body too', async () => {
  received.length = 0;
  const { options } = store();
  const request = new Request(`${server.origin}/x`, {
    method: 'POST',
    body: 'from-request',
    headers: { 'x-app': '1' },
  });
  const response = await createAuthFetch(options)(request);
  expect(await response.json()).toEqual({ echo: 'from-request' });
  expect(received.map((r) => r.body)).toEqual(['from-request', 'from-request']);
});

it('a stream body is never retried: the 401 comes back, refresh is not called', async () => {
  received.length = 0;
  const { state, options } = store();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('streamed'));
      controller.close();
    },
  });
  const response = await createAuthFetch(options)(`${server.origin}/x`, {
    method: 'POST',
    body: stream,
    duplex: 'half',
  } as RequestInit);
  expect(response.status).toBe(401);
  expect(await response.json()).toEqual({ error: 'invalid_token' }); // the body is the caller's, intact
  expect(received).toEqual([{ authorization: 'Bearer stale', body: 'streamed' }]);
  expect(state.refreshes).toBe(0);
});

it('the caller reads the final response whole (headers and body) after a retry', async () => {
  const { options } = store();
  const response = await createAuthFetch(options)(`${server.origin}/x`, { method: 'PUT', body: 'b' });
  expect(response.headers.get('x-test')).toBe('yes');
  expect(await response.text()).toBe('{"echo":"b"}');
});

it('an RFC 6750 server that is not scopegate (no reason in the body): refresh on its invalid_token challenge', async () => {
  received.length = 0;
  const { state, options } = store();
  const response = await createAuthFetch(options)(`${server.origin}/y`);
  expect(response.status).toBe(200);
  expect(state.refreshes).toBe(1);
});

it('a refresh that fails rejects the call with its error (no second request)', async () => {
  received.length = 0;
  const authFetch = createAuthFetch({
    getToken: () => 'stale',
    refresh: () => Promise.reject(new Error('refresh token revoked')),
  });
  await expect(authFetch(`${server.origin}/x`, { method: 'POST', body: 'p' })).rejects.toThrow(
    'refresh token revoked',
  );
  expect(received).toHaveLength(1);
});
