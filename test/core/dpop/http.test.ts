/**
 * DPoP (RFC 9449) through the request flow, over a real node:http server on 127.0.0.1: every row
 * of DESIGN.md's DPoP table and SECURITY.md #77-#96 at HTTP level (status, reason, challenges,
 * DPoP-Nonce), the three modes, the token cache, publicOrigin behind a proxy, Host validation,
 * replay across requests and a flood of forged proofs. Proofs come from panva's `dpop` package
 * (an independent implementation) and from the testing kit (for the malformed ones).
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateProof } from 'dpop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authResponseHeaders,
  createMemoryReplayStore,
  createVerifier,
  isAuthError,
  type ReplayStore,
  type Verifier,
  type VerifierOptions,
} from '../../../src/core/index.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../../src/testing/index.js';

const ALGS = 'ES256 EdDSA Ed25519 PS256 RS256';
const BEARER = 'Bearer realm="api"';
const DPOP = `DPoP realm="api", algs="${ALGS}"`;
const INVALID = 'error="invalid_token", error_description="The access token is invalid"';
const PROOF_ERROR = 'error="invalid_dpop_proof", error_description="The access token is invalid"';
const NONCE_ERROR = 'error="use_dpop_nonce", error_description="The access token is invalid"';
const REQUEST_ERROR = 'error="invalid_request", error_description="The request is malformed"';
/** 401-DP in the default mode: the bare Bearer challenge, then DPoP with the error. */
const DP_CHALLENGE = `${BEARER}, ${DPOP}, ${PROOF_ERROR}`;
const SECRET = 'a nonce secret of at least 32 bytes!!';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

interface DpopServer {
  readonly url: string;
  readonly origin: string;
  send(init: {
    method?: string;
    path?: string;
    authorization?: string;
    dpop?: string | readonly string[];
    host?: string;
  }): Promise<Reply>;
  close(): Promise<void>;
}

/** A node:http API answering the verified claims, the scheme and the key thumbprint. */
async function startServer(verifier: Verifier): Promise<DpopServer> {
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const auth = verifier.authenticate(req);
    let status = 200;
    let headers: Record<string, string>;
    let body: unknown;
    try {
      const claims = await auth.claims();
      headers = authResponseHeaders(null, auth);
      body = { sub: claims.sub ?? null, scheme: auth.scheme, thumbprint: auth.thumbprint };
    } catch (error) {
      if (!isAuthError(error)) {
        res.writeHead(500).end();
        return;
      }
      status = error.status;
      headers = authResponseHeaders(error, auth);
      body = { ...error.toJSON(), detail: error.detail ?? null };
    }
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/api/orders`,
    origin,
    // node:http's request, not fetch: it sends repeated headers and any Host as given.
    send: (init) =>
      new Promise<Reply>((resolve, reject) => {
        const headers: Record<string, string | string[]> = {};
        if (init.authorization !== undefined) headers.authorization = init.authorization;
        if (init.dpop !== undefined) headers.dpop = init.dpop as string | string[];
        if (init.host !== undefined) headers.host = init.host;
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: init.method ?? 'GET',
            path: init.path ?? '/api/orders',
            headers,
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => {
              const flat: Record<string, string> = {};
              for (const [name, value] of Object.entries(res.headers)) {
                if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
              }
              resolve({ status: res.statusCode ?? 0, headers: flat, body: text ? JSON.parse(text) : {} });
            });
          },
        );
        req.on('error', reject);
        req.end();
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A replay store that counts claims (and can be made to fail). */
function countingStore(inner: ReplayStore = createMemoryReplayStore()) {
  const store = {
    claims: 0,
    claim(key: string, expiresAt: number, info?: Parameters<ReplayStore['claim']>[2]) {
      store.claims++;
      return inner.claim(key, expiresAt, info);
    },
  };
  return store;
}

let issuer: TestIssuer;
let key: TestDpopKey;
let other: TestDpopKey;
const servers: DpopServer[] = [];

async function serve(options: Partial<VerifierOptions> = {}): Promise<DpopServer> {
  const server = await startServer(
    createVerifier({ ...issuer.verifierOptions, ...options } as VerifierOptions),
  );
  servers.push(server);
  return server;
}

beforeAll(async () => {
  issuer = await createTestIssuer();
  key = await issuer.dpopKey();
  other = await issuer.dpopKey();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

/** A proof by panva's `dpop` package for this request. */
function dpopProof(k: TestDpopKey, method: string, url: string, token: string, nonce?: string) {
  return generateProof(k.keyPair, url, method, nonce, token);
}

function expectRefusal(reply: Reply, status: number, reason: string, challenge: string | undefined) {
  expect({
    status: reply.status,
    reason: reply.body.reason,
    challenge: reply.headers['www-authenticate'],
  }).toEqual({ status, reason, challenge });
  expect(reply.headers['cache-control']).toBe('private, no-store');
}

describe('the default mode (allowed): a DPoP request is verified', () => {
  let server: DpopServer;
  let store: ReturnType<typeof countingStore>;
  beforeAll(async () => {
    store = countingStore();
    server = await serve({ dpop: { replayStore: store } });
  });

  it('a DPoP-bound token with a fresh proof from the dpop package: 200, scheme and thumbprint', async () => {
    const token = await key.sign();
    const before = store.claims;
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ sub: 'test-user', scheme: 'DPoP', thumbprint: key.thumbprint });
    expect(reply.headers.vary).toBe('Authorization, DPoP');
    expect(reply.headers['dpop-nonce']).toBeUndefined();
    expect(store.claims - before).toBe(1);
  });

  it('Bearer keeps working beside it: 200, no thumbprint', async () => {
    const reply = await server.send({ authorization: `Bearer ${await issuer.sign()}` });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ sub: 'test-user', scheme: 'Bearer', thumbprint: null });
  });

  it('#77 DPoP scheme without a DPoP header: 401-DP', async () => {
    const reply = await server.send({ authorization: `DPoP ${await key.sign()}` });
    expectRefusal(reply, 401, 'invalid_dpop_proof', DP_CHALLENGE);
    expect(reply.body.detail).toBe('jws: no DPoP header');
  });

  it('#78 two DPoP headers: 400 invalid_request', async () => {
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', server.url, token);
    const reply = await server.send({ authorization: `DPoP ${token}`, dpop: [proof, proof] });
    expectRefusal(reply, 400, 'invalid_request', `${BEARER}, ${DPOP}, ${REQUEST_ERROR}`);
  });

  it('#78 one DPoP header holding two proofs: 400 invalid_request', async () => {
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', server.url, token);
    const reply = await server.send({ authorization: `DPoP ${token}`, dpop: `${proof}, ${proof}` });
    expectRefusal(reply, 400, 'invalid_request', `${BEARER}, ${DPOP}, ${REQUEST_ERROR}`);
  });

  const proofRows: readonly [string, string, (token: string, url: string) => Promise<string>][] = [
    ['#79 not a compact JWS', 'jws:', async () => 'not-a-jws'],
    [
      '#79 typ not dpop+jwt',
      'typ:',
      (t, u) => key.proof({ method: 'GET', url: u, accessToken: t, header: { typ: 'JWT' } }),
    ],
    [
      '#80 alg none',
      'alg:',
      async (t, u) => unsigned({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }, t, u),
    ],
    [
      '#80 alg HS256',
      'alg:',
      async (t, u) => unsigned({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk }, t, u),
    ],
    [
      '#81 jwk missing',
      'jwk:',
      (t, u) => key.proof({ method: 'GET', url: u, accessToken: t, header: { jwk: undefined } }),
    ],
    [
      '#81 jwk symmetric',
      'jwk:',
      (t, u) =>
        key.proof({ method: 'GET', url: u, accessToken: t, header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } }),
    ],
    [
      '#81 jwk with private members',
      'jwk:',
      (t, u) =>
        key.proof({
          method: 'GET',
          url: u,
          accessToken: t,
          header: { jwk: { ...key.publicJwk, d: 'AAAA' } },
        }),
    ],
    [
      '#82 signed by another key than its jwk',
      'signature:',
      (t, u) => other.proof({ method: 'GET', url: u, accessToken: t, header: { jwk: key.publicJwk } }),
    ],
    ['#83 htm get (case matters)', 'htm:', (t, u) => dpopProof(key, 'get', u, t)],
    ['#83 htm POST on a GET', 'htm:', (t, u) => dpopProof(key, 'POST', u, t)],
    ['#84 htu another path', 'htu:', (t, u) => dpopProof(key, 'GET', u.replace('/orders', '/other'), t)],
    ['#84 htu another host', 'htu:', (t, u) => dpopProof(key, 'GET', u.replace('127.0.0.1', 'localhost'), t)],
    ['#84 htu another port', 'htu:', (t, u) => dpopProof(key, 'GET', u.replace(/:\d+\//, ':1/'), t)],
    ['#84 htu another scheme', 'htu:', (t, u) => dpopProof(key, 'GET', u.replace('http:', 'https:'), t)],
    [
      '#85 iat older than maxAge',
      'iat:',
      (t, u) => key.proof({ method: 'GET', url: u, accessToken: t, iat: now() - 400 }),
    ],
    [
      '#85 iat in the future',
      'iat:',
      (t, u) => key.proof({ method: 'GET', url: u, accessToken: t, iat: now() + 60 }),
    ],
    [
      '#87 jti missing',
      'jti:',
      (t, u) => key.proof({ method: 'GET', url: u, accessToken: t, claims: { jti: undefined } }),
    ],
    [
      '#87 jti over 256 characters',
      'jti:',
      (t, u) => key.proof({ method: 'GET', url: u, accessToken: t, jti: 'j'.repeat(257) }),
    ],
    ['#88 ath missing', 'ath:', (_t, u) => dpopProof(key, 'GET', u, undefined as unknown as string)],
    ['#88 ath of another token', 'ath:', (_t, u) => dpopProof(key, 'GET', u, 'another.access.token')],
    ['#93 proof over maxTokenLength', 'size:', async () => `${'a'.repeat(9000)}.b.c`],
    ['#93 deeply nested JSON in the proof (under the size cap)', '', async () => nestedProof(2000)],
  ];
  for (const [row, detail, make] of proofRows) {
    it(`${row}: 401-DP, nothing claimed`, async () => {
      const token = await key.sign();
      const before = store.claims;
      const reply = await server.send({
        authorization: `DPoP ${token}`,
        dpop: await make(token, server.url),
      });
      expectRefusal(reply, 401, 'invalid_dpop_proof', DP_CHALLENGE);
      expect(String(reply.body.detail).startsWith(detail), String(reply.body.detail)).toBe(true);
      expect(store.claims).toBe(before);
      // #96: neither the proof nor the token in the body or the challenge.
      expect(JSON.stringify(reply)).not.toContain(token.slice(-20));
    });
  }

  it('#84 query and fragment differences are ignored; the normalized htu is accepted', async () => {
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', `${server.url}?page=1#top`, token);
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: proof,
      path: '/api/orders?page=2',
    });
    expect(reply.status).toBe(200);
    const encoded = await dpopProof(key, 'GET', `${server.origin}/api/%6Frders`, token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: encoded })).status).toBe(200);
  });

  it('#86 the same proof twice: 200, then 401-DP (replayed)', async () => {
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', server.url, token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    const again = await server.send({ authorization: `DPoP ${token}`, dpop: proof });
    expectRefusal(again, 401, 'invalid_dpop_proof', DP_CHALLENGE);
    expect(again.body.detail).toMatch(/^jti: replayed/);
  });

  it('#86 the same proof at another instance sharing the store: 401-DP there', async () => {
    const shared = createMemoryReplayStore();
    const [a, b] = await Promise.all([
      serve({ publicOrigin: 'https://api.example.com', dpop: { replayStore: shared } }),
      serve({ publicOrigin: 'https://api.example.com', dpop: { replayStore: shared } }),
    ]);
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', 'https://api.example.com/api/orders', token);
    expect((await a.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    const replayed = await b.send({ authorization: `DPoP ${token}`, dpop: proof });
    expectRefusal(replayed, 401, 'invalid_dpop_proof', DP_CHALLENGE);
  });

  it('#86 the same jti under another key is not a replay', async () => {
    const jti = `shared-${Math.random()}`;
    for (const k of [key, other]) {
      const token = await k.sign();
      const proof = await k.proof({ method: 'GET', url: server.url, accessToken: token, jti });
      expect((await server.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    }
  });

  it('#89 cnf.jkt of another key (a stolen token with the thief key): 401 invalid_token_binding', async () => {
    const stolen = await key.sign();
    const before = store.claims;
    const reply = await server.send({
      authorization: `DPoP ${stolen}`,
      dpop: await dpopProof(other, 'GET', server.url, stolen),
    });
    expectRefusal(reply, 401, 'invalid_token_binding', `${BEARER}, ${DPOP}, ${INVALID}`);
    expect(store.claims).toBe(before);
  });

  it('#90 a Bearer token (no cnf) under the DPoP scheme: 401 invalid_token_binding', async () => {
    const token = await issuer.sign();
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expectRefusal(reply, 401, 'invalid_token_binding', `${BEARER}, ${DPOP}, ${INVALID}`);
  });

  it('#63 a DPoP-bound token under Bearer: 401 invalid_token_binding, on the Bearer challenge', async () => {
    const reply = await server.send({ authorization: `Bearer ${await key.sign()}` });
    expectRefusal(reply, 401, 'invalid_token_binding', `${BEARER}, ${INVALID}, ${DPOP}`);
  });

  it('an invalid token under DPoP is refused as a token (the proof is not even checked)', async () => {
    const token = await key.sign({ aud: 'https://elsewhere.example' });
    const before = store.claims;
    const reply = await server.send({ authorization: `DPoP ${token}`, dpop: 'not-a-proof' });
    expectRefusal(reply, 401, 'invalid_audience', `${BEARER}, ${DPOP}, ${INVALID}`);
    expect(store.claims).toBe(before);
  });

  it('#94 a flood of forged proofs leaves the store empty', async () => {
    const memory = createMemoryReplayStore();
    const flooded = await serve({ dpop: { replayStore: memory } });
    const token = await key.sign();
    for (let i = 0; i < 50; i++) {
      const forged = await other.proof({
        method: 'GET',
        url: flooded.url,
        accessToken: token,
        header: { jwk: key.publicJwk },
      });
      expect((await flooded.send({ authorization: `DPoP ${token}`, dpop: forged })).status).toBe(401);
    }
    expect(memory.size).toBe(0);
  });

  it('#95 a Host with a path, a scheme or a bad port: 400 invalid_request', async () => {
    const token = await key.sign();
    for (const host of ['127.0.0.1/evil', 'http://127.0.0.1', '127.0.0.1:99999', 'a b']) {
      const reply = await server.send({
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, 'GET', server.url, token),
        host,
      });
      expectRefusal(reply, 400, 'invalid_request', `${BEARER}, ${DPOP}, ${REQUEST_ERROR}`);
    }
  });

  it('#95 the proof is checked against the Host the client sent', async () => {
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', 'http://api.example.test/api/orders', token);
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: proof,
      host: 'api.example.test',
    });
    expect(reply.status).toBe(200);
  });
});

describe('the replay store fails closed (#94)', () => {
  it('a throwing store: 503 replay_store_unavailable, no challenge', async () => {
    const server = await serve({
      dpop: {
        replayStore: {
          claim() {
            throw new Error('down');
          },
        },
      },
    });
    const token = await key.sign();
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expectRefusal(reply, 503, 'replay_store_unavailable', undefined);
  });

  it('a store slower than replayTimeoutMs: 503', async () => {
    const server = await serve({
      dpop: {
        replayStore: { claim: () => new Promise<boolean>((resolve) => setTimeout(resolve, 500, true)) },
        replayTimeoutMs: 50,
      },
    });
    const token = await key.sign();
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expectRefusal(reply, 503, 'replay_store_unavailable', undefined);
  });

  it('a full store: 503; Bearer requests are unaffected', async () => {
    const server = await serve({ dpop: { replayStore: createMemoryReplayStore({ maxEntries: 1 }) } });
    const token = await key.sign();
    const first = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expect(first.status).toBe(200);
    const second = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expectRefusal(second, 503, 'replay_store_unavailable', undefined);
    expect((await server.send({ authorization: `Bearer ${await issuer.sign()}` })).status).toBe(200);
  });
});

describe('modes', () => {
  it("#91 'required': a Bearer token is 401 dpop_required with the bare DPoP challenge", async () => {
    const server = await serve({ dpop: { mode: 'required' } });
    const reply = await server.send({ authorization: `Bearer ${await issuer.sign()}` });
    expectRefusal(reply, 401, 'dpop_required', DPOP);
    const token = await key.sign();
    const ok = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expect(ok.status).toBe(200);
    const missing = await server.send({});
    expectRefusal(missing, 401, 'missing_token', DPOP);
    const bound = await server.send({ authorization: `Bearer ${token}` });
    expectRefusal(bound, 401, 'invalid_token_binding', `${DPOP}, ${INVALID}`);
  });

  it("'disabled': the DPoP scheme is unsupported (401 missing_token, Bearer challenge only)", async () => {
    const server = await serve({ dpop: { mode: 'disabled' } });
    const token = await key.sign();
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expectRefusal(reply, 401, 'missing_token', BEARER);
    expect(reply.headers.vary).toBe('Authorization');
    expect((await server.send({ authorization: `Bearer ${await issuer.sign()}` })).status).toBe(200);
    const bound = await server.send({ authorization: `Bearer ${token}` });
    expectRefusal(bound, 401, 'invalid_token_binding', `${BEARER}, ${INVALID}`);
  });
});

describe('nonces (#92)', () => {
  let server: DpopServer;
  beforeAll(async () => {
    server = await serve({ dpop: { nonce: { secret: SECRET } } });
  });

  it('no nonce: 401 use_dpop_nonce with a DPoP-Nonce; the retry with it succeeds and gets one too', async () => {
    const token = await key.sign();
    const reply = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token),
    });
    expectRefusal(reply, 401, 'use_dpop_nonce', `${BEARER}, ${DPOP}, ${NONCE_ERROR}`);
    const nonce = reply.headers['dpop-nonce'] as string;
    expect(nonce).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    const retry = await server.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', server.url, token, nonce),
    });
    expect(retry.status).toBe(200);
    expect(retry.headers['dpop-nonce']).toBe(nonce);
  });

  it('a stale nonce and a forged nonce: 401 use_dpop_nonce', async () => {
    const token = await key.sign();
    const fresh = (
      await server.send({
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, 'GET', server.url, token),
      })
    ).headers['dpop-nonce'] as string;
    const [window, mac] = fresh.split('.') as [string, string];
    for (const nonce of [`${Number(window) - 5}.${mac}`, `${window}.${'A'.repeat(43)}`]) {
      const reply = await server.send({
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, 'GET', server.url, token, nonce),
      });
      expectRefusal(reply, 401, 'use_dpop_nonce', `${BEARER}, ${DPOP}, ${NONCE_ERROR}`);
      expect(reply.headers['dpop-nonce']).toBe(fresh);
    }
  });

  it('exposeReasons: false never hides use_dpop_nonce', async () => {
    const quiet = await serve({ exposeReasons: false, dpop: { nonce: { secret: SECRET } } });
    const token = await key.sign();
    const reply = await quiet.send({
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', quiet.url, token),
    });
    expect(reply.body.reason).toBe('use_dpop_nonce');
    expect(reply.headers['dpop-nonce']).toBeDefined();
  });

  it('Bearer responses carry no nonce', async () => {
    const reply = await server.send({ authorization: `Bearer ${await issuer.sign()}` });
    expect(reply.status).toBe(200);
    expect(reply.headers['dpop-nonce']).toBeUndefined();
  });
});

describe('the token cache never skips the per-request checks', () => {
  it('a cached token still needs a fresh proof, its binding and its scheme', async () => {
    const store = countingStore();
    const server = await serve({ tokenCache: { max: 10 }, dpop: { replayStore: store } });
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', server.url, token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    // Cached now: the replayed proof, a thief's proof, no proof and the Bearer scheme are refused.
    expectRefusal(
      await server.send({ authorization: `DPoP ${token}`, dpop: proof }),
      401,
      'invalid_dpop_proof',
      DP_CHALLENGE,
    );
    const thief = await dpopProof(other, 'GET', server.url, token);
    expectRefusal(
      await server.send({ authorization: `DPoP ${token}`, dpop: thief }),
      401,
      'invalid_token_binding',
      `${BEARER}, ${DPOP}, ${INVALID}`,
    );
    expectRefusal(
      await server.send({ authorization: `DPoP ${token}` }),
      401,
      'invalid_dpop_proof',
      DP_CHALLENGE,
    );
    expectRefusal(
      await server.send({ authorization: `Bearer ${token}` }),
      401,
      'invalid_token_binding',
      `${BEARER}, ${INVALID}, ${DPOP}`,
    );
    const fresh = await dpopProof(key, 'GET', server.url, token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: fresh })).status).toBe(200);
    // Claimed: the first proof, its replay (refused by the store), the fresh one. Never the thief's.
    expect(store.claims).toBe(3);
  });
});

describe('publicOrigin behind a proxy', () => {
  it('the proof names the public origin; the internal one is refused; X-Forwarded-* is never read', async () => {
    const server = await serve({ publicOrigin: 'https://api.example.com' });
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', 'https://api.example.com/api/orders', token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    const internal = await dpopProof(key, 'GET', server.url, token);
    const reply = await server.send({ authorization: `DPoP ${token}`, dpop: internal });
    expectRefusal(reply, 401, 'invalid_dpop_proof', DP_CHALLENGE);
    expect(reply.body.detail).toBe('htu: not the request URI');
  });

  it('several origins: each is accepted with one proof verification', async () => {
    const server = await serve({ publicOrigin: ['https://api.example.com', 'https://api.example.org'] });
    const token = await key.sign();
    for (const origin of ['https://api.example.com', 'https://api.example.org']) {
      const proof = await dpopProof(key, 'GET', `${origin}/api/orders`, token);
      expect((await server.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    }
    const evil = await dpopProof(key, 'GET', 'https://evil.example/api/orders', token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: evil })).status).toBe(401);
  });

  it('a function of the request', async () => {
    const server = await serve({ publicOrigin: () => 'https://tenant.example.com' });
    const token = await key.sign();
    const proof = await dpopProof(key, 'GET', 'https://tenant.example.com/api/orders', token);
    expect((await server.send({ authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
  });
});

describe('options', () => {
  const base = () => issuer.verifierOptions;
  it('every bad value is a TypeError naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ dpop: 'allowed' }, /"dpop"/],
      [{ dpop: { mode: 'on' } }, /"dpop.mode"/],
      [{ dpop: { algorithms: ['HS256'] } }, /"dpop.algorithms"/],
      [{ dpop: { maxAge: -1 } }, /"dpop.maxAge"/],
      [{ dpop: { clockTolerance: 'x' } }, /"dpop.clockTolerance"/],
      [{ dpop: { nonce: { secret: 'short' } } }, /"dpop.nonce.secret"/],
      [{ dpop: { replayStore: {} } }, /"dpop.replayStore"/],
      [{ dpop: { replayTimeoutMs: 0 } }, /"dpop.replayTimeoutMs"/],
      [{ dpop: { nonces: {} } }, /"dpop.nonces" is not a scopegate option/],
      [{ publicOrigin: 'https://api.example.com/path' }, /"publicOrigin"/],
      [{ publicOrigin: [] }, /"publicOrigin"/],
    ];
    for (const [options, message] of bad) {
      expect(() => createVerifier({ ...base(), ...(options as object) } as VerifierOptions)).toThrow(
        TypeError,
      );
      expect(() => createVerifier({ ...base(), ...(options as object) } as VerifierOptions)).toThrow(message);
    }
  });

  it('status() reports the replay store when it has a ping()', async () => {
    let up = true;
    const verifier = createVerifier({
      ...base(),
      dpop: {
        replayStore: {
          claim: () => true,
          ping: async () => {
            if (!up) throw new Error('replay store down');
          },
        } as ReplayStore,
      },
    });
    expect((await verifier.status()).replayStore).toEqual({ reachable: true, error: null });
    up = false;
    expect((await verifier.status()).replayStore).toEqual({ reachable: false, error: 'replay store down' });
    expect((await createVerifier(base()).status()).replayStore).toBeUndefined();
  });
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A proof with the given header and an empty signature (alg none / HS256 forgeries). */
function unsigned(header: object, token: string, url: string): string {
  const ath = createHash('sha256').update(token).digest('base64url');
  // A signature segment of 64 zero bytes: well-formed, so the alg check is what refuses it.
  const signature = Buffer.alloc(64).toString('base64url');
  return `${b64(header)}.${b64({ htm: 'GET', htu: url, iat: now(), jti: `j${Math.random()}`, ath })}.${signature}`;
}

/** A proof whose payload nests arrays `depth` deep (its signature is not valid). */
function nestedProof(depth: number): string {
  const header = b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk });
  const payload = Buffer.from(`{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`).toString('base64url');
  return `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`;
}
