/**
 * Integration test of the example: the real app on node:http at 127.0.0.1, real tokens from the
 * testing kit, queried with fetch (JSON and SSE).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier } from 'scopegate';
import { assertProtected } from 'scopegate/graphql';
import { createTestIssuer, type TestIssuer } from 'scopegate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';

let issuer: TestIssuer;
let server: Server;
let url: string;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://notes.example.test' });
  server = createServer(createApp(createVerifier(issuer.verifierOptions)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

async function post(query: string, scope?: string) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  };
  if (scope !== undefined)
    headers.authorization = `Bearer ${await issuer.sign({ scope, email: 'ada@example.test' })}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('examples/graphql-yoga', () => {
  it('serves GraphiQL and a public field', async () => {
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('GraphiQL');
    expect((await post('{ health }')).body).toEqual({ data: { health: 'ok' } });
  });

  it('deny by default: every root field is protected or declared public', () => {
    const { schema } = createApp(createVerifier(issuer.verifierOptions)).getEnveloped({});
    expect(() => assertProtected(schema, { public: ['Query.health'] })).not.toThrow();
    expect(() => assertProtected(schema, { public: [] })).toThrow(
      /^1 root field.*\n {2}- Query\.health \(query\)$/,
    );
  });

  it('CORS: a preflight allows the DPoP header; responses expose WWW-Authenticate and DPoP-Nonce', async () => {
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, dpop',
      },
    });
    expect(preflight.status).toBe(204);
    // yoga answers `origin: '*'` by echoing the caller's origin.
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    const allowed = preflight.headers.get('access-control-allow-headers')?.split(/,\s*/) ?? [];
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'dpop']));
    const refused = await fetch(url, {
      method: 'POST',
      headers: { origin: 'https://app.example.test', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ notes { id } }' }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    expect(refused.headers.get('access-control-expose-headers')).toBe(
      'WWW-Authenticate, DPoP-Nonce, Retry-After',
    );
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);
  });

  it('anonymous access to a protected root: 401 with a challenge', async () => {
    const reply = await post('{ notes { id } }');
    expect(reply.status).toBe(401);
    // The default DPoP mode, `allowed`, challenges with both schemes.
    expect(reply.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
    expect(reply.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'UNAUTHORIZED', reason: 'missing_token' } }),
    ]);
  });

  it('a token without the write scope cannot add a note, and nothing is written', async () => {
    const denied = await post('mutation { addNote(text: "x") { id } }', 'notes:read');
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toContain('scope="notes:write"');
    expect((await post('{ notes { id } }', 'notes:read')).body).toEqual({ data: { notes: [] } });
  });

  it('partial data: the email needs its own scope', async () => {
    const reply = await post('{ me { id email } }', 'notes:read');
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ me: { id: 'test-user', email: null } });
    const withScope = await post('{ me { email } }', 'profile:email');
    expect(withScope.body).toEqual({ data: { me: { email: 'ada@example.test' } } });
  });

  it('a subscriber over SSE sees the note a writer adds', async () => {
    const token = await issuer.sign({ scope: 'notes:read' });
    const stream = await fetch(url, {
      method: 'POST',
      signal: AbortSignal.timeout(5_000),
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: 'subscription { noteAdded { text author } }' }),
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The first chunk is yoga's ping: the subscription is live once it arrives.
    text += decoder.decode((await reader.read()).value);
    const added = await post('mutation { addNote(text: "hello") { id } }', 'notes:write');
    expect(added.body).toEqual({ data: { addNote: { id: '1' } } });
    for (let i = 0; i < 20 && !text.includes('event: next'); i++) {
      text += decoder.decode((await reader.read()).value);
    }
    await reader.cancel();
    expect(text).toContain('data: {"data":{"noteAdded":{"text":"hello","author":"test-user"}}}');
  });
});
