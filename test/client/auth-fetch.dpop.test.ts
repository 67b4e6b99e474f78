/**
 * createAuthFetch with `dpop: { keyPair }` and dpopConnectionParams, against an independent DPoP
 * resource server (test/client/support/dpop-server.ts, jose): a fresh proof per request signed by
 * panva's `dpop` package (`htm`, `htu` without query, `ath`), the nonce challenge answered once and
 * remembered per origin, a nonce taken from any response, never a loop. The tRPC and graphql-ws
 * WebSocket flows use the proof dpopConnectionParams makes for the upgrade request.
 */
import { createHash } from 'node:crypto';
import { generateKeyPair } from 'dpop';
import { base64url, calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthFetch, dpopConnectionParams } from '../../src/client/index.js';
import { type DpopServer, startDpopServer } from './support/dpop-server.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const keyPair = await generateKeyPair('ES256');
const expectedJkt = await calculateJwkThumbprint(
  (await crypto.subtle.exportKey('jwk', keyPair.publicKey)) as JWK,
  'sha256',
);
const servers: DpopServer[] = [];

async function start(options: Parameters<typeof startDpopServer>[0] = {}) {
  const server = await startDpopServer(options);
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe('a proof per request', () => {
  let server: DpopServer;
  beforeAll(async () => {
    server = await start();
  });

  it('sends Authorization: DPoP and a fresh, valid proof (htm, htu without query, ath, new jti)', async () => {
    const authFetch = createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair } });
    const first = await authFetch(`${server.origin}/graphql?op=a#frag`);
    const second = await authFetch(`${server.origin}/graphql`, { method: 'post', body: '{"query":"{x}"}' });
    expect([first.status, second.status]).toEqual([200, 200]);
    const [a, b] = server.proofs;
    expect(a).toMatchObject({ htm: 'GET', htu: `${server.origin}/graphql`, jkt: expectedJkt });
    expect(b).toMatchObject({ htm: 'POST', htu: `${server.origin}/graphql`, jkt: expectedJkt });
    expect(a?.ath).toBe(base64url.encode(createHash('sha256').update(TOKEN).digest()));
    expect(a?.jti).not.toBe(b?.jti);
    expect(server.bodies[1]).toBe('{"query":"{x}"}');
  });

  it('an expired token: refresh once, a new proof whose ath is the new token’s', async () => {
    const expiredServer = await start({ expired: new Set(['old-token']) });
    let refreshes = 0;
    const authFetch = createAuthFetch({
      getToken: () => 'old-token',
      refresh: () => {
        refreshes++;
        return 'new-token';
      },
      dpop: { keyPair },
    });
    const response = await authFetch(`${expiredServer.origin}/api`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(200);
    expect(refreshes).toBe(1);
    expect(expiredServer.statuses).toEqual([401, 200]);
    expect(expiredServer.proofs[1]?.ath).toBe(
      base64url.encode(createHash('sha256').update('new-token').digest()),
    );
    expect(expiredServer.bodies).toEqual(['x', 'x']);
  });

  it('a setup mistake is a TypeError naming the option', () => {
    expect(() => createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair: {} as CryptoKeyPair } })).toThrow(
      /dpop\.keyPair/,
    );
    expect(() =>
      createAuthFetch({
        getToken: () => TOKEN,
        dpop: { keyPair: { privateKey: keyPair.privateKey, publicKey: keyPair.privateKey } },
      }),
    ).toThrow(/dpop\.keyPair/);
    expect(() => createAuthFetch({ getToken: () => TOKEN, maxRetries: 1.5 })).toThrow(/maxRetries/);
    expect(() => createAuthFetch({ getToken: 'token' as unknown as () => string })).toThrow(/getToken/);
  });
});

describe('server nonces', () => {
  it('a use_dpop_nonce challenge is answered once with the server’s nonce, then remembered', async () => {
    const server = await start({ nonces: true });
    const authFetch = createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair } });
    expect((await authFetch(`${server.origin}/a`, { method: 'POST', body: '1' })).status).toBe(200);
    expect((await authFetch(`${server.origin}/b`, { method: 'POST', body: '2' })).status).toBe(200);
    expect(server.statuses).toEqual([401, 200, 200]);
    expect(server.proofs.map((proof) => proof.nonce)).toEqual([server.nonce(), server.nonce()]);
    expect(server.bodies).toEqual(['1', '1', '2']);
  });

  it('takes a new nonce from any response that carries one (no extra challenge)', async () => {
    const server = await start({ nonces: true });
    const authFetch = createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair } });
    await authFetch(`${server.origin}/a`);
    // A stale nonce: the challenge carries the new one, one retry.
    const rotated = server.rotateNonce();
    expect((await authFetch(`${server.origin}/b`)).status).toBe(200);
    expect(server.proofs.at(-1)?.nonce).toBe(rotated);
    // A 200 that hands out a new nonce updates the memory: the next request is not challenged.
    expect((await authFetch(`${server.origin}/rotate`)).status).toBe(200);
    expect((await authFetch(`${server.origin}/c`)).status).toBe(200);
    expect(server.proofs.at(-1)?.nonce).toBe(server.nonce());
    expect(server.nonce()).not.toBe(rotated);
    expect(server.statuses).toEqual([401, 200, 401, 200, 200, 200]);
  });

  it('remembers nonces per origin', async () => {
    const one = await start({ nonces: true });
    const two = await start({ nonces: true });
    const authFetch = createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair }, origins: [two.origin] });
    await authFetch(`${one.origin}/x`);
    await authFetch(`${two.origin}/x`);
    await authFetch(`${one.origin}/y`);
    await authFetch(`${two.origin}/y`);
    expect(one.statuses).toEqual([401, 200, 200]);
    expect(two.statuses).toEqual([401, 200, 200]);
    expect(one.proofs.map((proof) => proof.nonce)).toEqual([one.nonce(), one.nonce()]);
    expect(two.proofs.map((proof) => proof.nonce)).toEqual([two.nonce(), two.nonce()]);
    expect(one.nonce()).not.toBe(two.nonce());
  });

  it('never loops: a server that challenges every time gets two requests, then the 401', async () => {
    const server = await start({ nonces: true, rotateEveryRequest: true });
    const authFetch = createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair } });
    const response = await authFetch(`${server.origin}/x`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('use_dpop_nonce');
    expect(server.statuses).toEqual([401, 401]);
  });

  it('no nonce is sent to an origin that is not trusted with the token', async () => {
    const one = await start({ nonces: true });
    const stranger = await start({ nonces: true });
    const authFetch = createAuthFetch({ getToken: () => TOKEN, dpop: { keyPair } });
    await authFetch(`${one.origin}/x`);
    const response = await authFetch(`${stranger.origin}/x`);
    expect(response.status).toBe(401);
    expect(stranger.statuses).toEqual([401]); // no credentials, no proof, no retry
    expect(stranger.proofs).toEqual([]);
  });
});

describe('dpopConnectionParams', () => {
  it('a fresh proof for GET and the http(s) form of the WebSocket URL on every call', async () => {
    const params = dpopConnectionParams({
      getToken: () => TOKEN,
      keyPair,
      url: 'ws://127.0.0.1:4000/trpc?connectionParams=1',
    });
    const first = await params();
    const second = await params();
    expect(first).toMatchObject({ authorization: `DPoP ${TOKEN}` });
    if (!('dpop' in first) || !('dpop' in second)) throw new Error('expected proofs');
    const claims = decodeJwt(first.dpop);
    expect(claims).toMatchObject({
      htm: 'GET',
      htu: 'http://127.0.0.1:4000/trpc',
      ath: base64url.encode(createHash('sha256').update(TOKEN).digest()),
    });
    expect(decodeProtectedHeader(first.dpop)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(decodeJwt(second.dpop).jti).not.toBe(claims.jti);
    const secure = dpopConnectionParams({
      getToken: () => TOKEN,
      keyPair,
      url: 'wss://api.example.com/graphql',
    });
    const proof = (await secure()) as { dpop: string };
    expect(decodeJwt(proof.dpop).htu).toBe('https://api.example.com/graphql');
  });

  it('no token: no params; nonce: carried', async () => {
    expect(await dpopConnectionParams({ getToken: () => null, keyPair, url: 'ws://127.0.0.1/x' })()).toEqual(
      {},
    );
    const params = await dpopConnectionParams({
      getToken: () => TOKEN,
      keyPair,
      url: 'ws://127.0.0.1/x',
      nonce: () => 'server-nonce',
    })();
    expect(decodeJwt((params as { dpop: string }).dpop).nonce).toBe('server-nonce');
  });

  it.each([
    ['an http URL', { url: 'http://127.0.0.1/x' }, /url/],
    ['a relative URL', { url: '/graphql' }, /url/],
    ['no key pair', { keyPair: undefined }, /keyPair/],
    ['no getToken', { getToken: undefined }, /getToken/],
  ])('%s is a TypeError naming the option', (_name, change, message) => {
    const options = { getToken: () => TOKEN, keyPair, url: 'ws://127.0.0.1/x', ...change };
    expect(() => dpopConnectionParams(options as Parameters<typeof dpopConnectionParams>[0])).toThrow(
      message,
    );
  });
});
