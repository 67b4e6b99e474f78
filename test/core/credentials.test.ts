/**
 * The core credentials policy (src/core/credentials.ts) on real Node requests (raw HTTP lines on a
 * socket, and over TLS), fetch Requests, Headers and connection params: scheme, token, DPoP
 * proofs, method and URL, or the refusal.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Credentials,
  connectionSource,
  readCredentials,
  validatePublicOrigin,
} from '../../src/core/credentials.js';

const LIMIT = { maxTokenLength: 8192 };
let tls: { key: string; cert: string; dir: string };

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'scopegate-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'ignore', timeout: 10_000 },
  );
  tls = {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    dir,
  };
});

afterAll(() => {
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

/** A real IncomingMessage for the raw request head (lines after the request line). */
function nodeRequest(
  requestLine: string,
  lines: readonly string[],
  secure = false,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const onRequest = (req: IncomingMessage, res: { end(): void }) => {
      res.end();
      server.close();
      resolve(req);
    };
    const server = secure
      ? createTlsServer({ key: tls.key, cert: tls.cert }, onRequest)
      : createServer(onRequest);
    server.on('clientError', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = secure
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
        : connect(port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('data', () => socket.end());
      socket.write([requestLine, ...lines, '', ''].join('\r\n'));
    });
  });
}

function dpop(credentials: Credentials) {
  expect(credentials.kind).toBe('token');
  return credentials as Extract<Credentials, { kind: 'token' }>;
}

describe('readCredentials', () => {
  it('a Node request: method and URL from Host, http: on a plain socket', async () => {
    const req = await nodeRequest('POST /api/x?y=1 HTTP/1.1', [
      'Host: api.example.com:8443',
      'Authorization: DPoP abc',
      'DPoP: p.r.f',
    ]);
    expect(readCredentials(req, LIMIT)).toEqual({
      kind: 'token',
      scheme: 'DPoP',
      token: 'abc',
      proofs: ['p.r.f'],
      method: 'POST',
      urls: ['http://api.example.com:8443/api/x?y=1'],
    });
  });

  it('https: only when the socket is TLS; X-Forwarded-* never read', async () => {
    const req = await nodeRequest(
      'GET /a HTTP/1.1',
      [
        'Host: localhost',
        'X-Forwarded-Proto: http',
        'X-Forwarded-Host: evil.example',
        'Authorization: DPoP t',
      ],
      true,
    );
    expect(dpop(readCredentials(req, LIMIT)).urls).toEqual(['https://localhost/a']);
    const plain = await nodeRequest('GET /a HTTP/1.1', [
      'Host: localhost',
      'X-Forwarded-Proto: https',
      'Authorization: DPoP t',
    ]);
    expect(dpop(readCredentials(plain, LIMIT)).urls).toEqual(['http://localhost/a']);
  });

  it.each([
    ['a Host with a path', 'api.example.com/evil'],
    ['a Host with userinfo', 'user@api.example.com'],
    ['a port out of range', 'api.example.com:70000'],
    ['a Host with a space inside', 'a b'],
  ])('an invalid Host (%s): no URL', async (_name, host) => {
    const req = await nodeRequest('GET /a HTTP/1.1', [`Host: ${host}`, 'Authorization: DPoP t']);
    expect(dpop(readCredentials(req, LIMIT)).urls).toEqual([]);
  });

  it('publicOrigin pins the origin (strings, or a function of the request)', async () => {
    const req = await nodeRequest('GET /a?b=c HTTP/1.1', ['Host: 10.0.0.7:3000', 'Authorization: DPoP t']);
    const pinned = readCredentials(req, {
      ...LIMIT,
      publicOrigin: ['https://api.example.com', 'https://b.example'],
    });
    expect(dpop(pinned).urls).toEqual(['https://api.example.com/a?b=c', 'https://b.example/a?b=c']);
    const byRequest = readCredentials(req, { ...LIMIT, publicOrigin: () => 'https://c.example' });
    expect(dpop(byRequest).urls).toEqual(['https://c.example/a?b=c']);
  });

  it('validatePublicOrigin: an origin, a list of them, or a function; TypeError naming the option', () => {
    expect(validatePublicOrigin('https://api.example.com')).toEqual(['https://api.example.com']);
    for (const bad of ['https://api.example.com/', 'https://api.example.com/x', 'api.example.com', [], 42]) {
      expect(() => validatePublicOrigin(bad)).toThrow(/"publicOrigin"/);
    }
  });

  it('a fetch Request: its method and URL; DPoP proofs kept raw (joined duplicates detectable)', () => {
    const headers = new Headers({ authorization: 'DPoP t' });
    headers.append('dpop', 'a.b.c');
    headers.append('dpop', 'd.e.f');
    const credentials = dpop(
      readCredentials(new Request('https://api.example.com/g', { method: 'PUT', headers }), LIMIT),
    );
    expect(credentials).toMatchObject({
      method: 'PUT',
      urls: ['https://api.example.com/g'],
      proofs: ['a.b.c, d.e.f'],
    });
  });

  it('two DPoP header lines on a Node request: two raw values', async () => {
    const req = await nodeRequest('GET / HTTP/1.1', [
      'Host: a',
      'Authorization: DPoP t',
      'DPoP: x.y.z',
      'DPoP: x.y.z',
    ]);
    expect(dpop(readCredentials(req, LIMIT)).proofs).toEqual(['x.y.z', 'x.y.z']);
  });

  it('a Bearer credential parses no URL', () => {
    expect(
      readCredentials(new Request('https://a.example/', { headers: { authorization: 'Bearer t' } }), LIMIT),
    ).toEqual({
      kind: 'token',
      scheme: 'Bearer',
      token: 't',
      proofs: [],
      method: undefined,
      urls: [],
    });
  });

  it.each<[string, string, Credentials]>([
    ['DPoP with a bad b64token', 'DPoP a b', { kind: 'invalid_request', scheme: 'DPoP' }],
    ['a DPoP credential folded in', 'Basic x, DPoP y', { kind: 'invalid_request', scheme: 'DPoP' }],
    ['a Bearer credential folded in', 'Basic x, Bearer y', { kind: 'invalid_request' }],
    [
      'lower-case dpop',
      'dpop t',
      { kind: 'token', scheme: 'DPoP', token: 't', proofs: [], method: undefined, urls: [] },
    ],
    ['an oversized DPoP token', `DPoP ${'a'.repeat(9000)}`, { kind: 'too_large', scheme: 'DPoP' }],
  ])('%s', (_name, value, expected) => {
    expect(readCredentials(value, LIMIT)).toEqual(expected);
  });

  it('a percent-encoded access_token name in the query is a second method (#8)', async () => {
    for (const query of ['?access%5Ftoken=x', '?%61ccess_token=x', '?a=1&access_token=x']) {
      const req = await nodeRequest(`GET /${query} HTTP/1.1`, ['Host: a', 'Authorization: Bearer t']);
      expect(readCredentials(req, LIMIT)).toEqual({ kind: 'invalid_request' });
      const fetchRequest = new Request(`https://a.example/${query}`, {
        headers: { authorization: 'Bearer t' },
      });
      expect(readCredentials(fetchRequest, LIMIT)).toEqual({ kind: 'invalid_request' });
    }
  });

  it('connection params: the dpop param carries the proof; the upgrade request gives the URL', async () => {
    const upgrade = await nodeRequest('GET /ws HTTP/1.1', ['Host: api.example.com']);
    const credentials = readCredentials(
      connectionSource({ authorization: 'DPoP t', dpop: 'p.r.f' }, upgrade),
      LIMIT,
    );
    expect(credentials).toEqual({
      kind: 'token',
      scheme: 'DPoP',
      token: 't',
      proofs: ['p.r.f'],
      method: 'GET',
      urls: ['http://api.example.com/ws'],
    });
    expect(readCredentials(connectionSource({ authorization: 'DPoP t', dpop: 1 }, upgrade), LIMIT)).toEqual({
      kind: 'invalid_request',
    });
  });
});
