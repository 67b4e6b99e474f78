/**
 * Interop with a real OpenID provider: oidc-provider 9 issues RFC 9068 JWT access tokens from its
 * token endpoint (client credentials grant, RFC 8707 resource indicators) over real HTTP on
 * 127.0.0.1, and scopegate verifies them, finding the keys by OIDC discovery on the same server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  jwtVerify,
} from 'jose';
import type { Provider } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Algorithm, type CommonOptions, createVerifier, type Verifier } from '../../src/core/index.js';
import { authErrorOf, expectUnauthorized } from '../helpers/auth.js';

const API = 'https://api.example.test';
const OTHER_API = 'https://other-api.example.test';
const OPAQUE_API = 'https://opaque-api.example.test';
const TOKEN_TTL = 600;

/** Every asymmetric algorithm both sides support (oidc-provider signs resource tokens with each). */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const satisfies readonly Algorithm[];

const CLIENTS = {
  post: {
    id: 'service-post',
    secret: 'post-secret-0123456789abcdef0123456789',
    method: 'client_secret_post',
  },
  basic: {
    id: 'service-basic',
    secret: 'basic-secret-0123456789abcdef012345678',
    method: 'client_secret_basic',
  },
} as const;

type OidcProviderModule = typeof import('oidc-provider');
type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface TokenResponse {
  readonly access_token?: string;
  readonly token_type?: string;
  readonly expires_in?: number;
  readonly scope?: string;
  readonly error?: string;
}

let oidc: OidcProviderModule;
let server: Server;
let issuer: string;
let handler: RequestHandler = (_req, res) => res.writeHead(503).end();
/** Requests that reached the provider, by path: real counts of what the verifier fetched. */
const hits = new Map<string, number>();
/** The algorithm the provider signs `API` tokens with; each test sets it. */
let signingAlg: Algorithm = 'RS256';
let provider: Provider;
/** The key set the provider starts with. */
let firstKeys: JWK[] = [];
let restoreConsole: () => void = () => {};

/** oidc-provider prints development notices (runtime, in-memory adapter); keep test output clean. */
function silenceOidcProviderNotices(): () => void {
  const { warn, info } = console;
  const quiet =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
      original.apply(console, args);
    };
  console.warn = quiet(warn);
  console.info = quiet(info);
  return () => {
    console.warn = warn;
    console.info = info;
  };
}

/** Private signing keys: RSA (for RS* and PS*), EC P-256/384/521, Ed25519. */
async function signingKeys(prefix: string): Promise<JWK[]> {
  const kinds = [
    ['rsa', 'RS256'],
    ['p256', 'ES256'],
    ['p384', 'ES384'],
    ['p521', 'ES512'],
    ['ed25519', 'Ed25519'],
  ] as const;
  return Promise.all(
    kinds.map(async ([name, alg]) => {
      const { privateKey } = await generateKeyPair(alg, { extractable: true });
      return { ...(await exportJWK(privateKey)), kid: `${prefix}-${name}`, use: 'sig' };
    }),
  );
}

function resourceServer(resource: string) {
  if (resource === API || resource === OTHER_API) {
    return {
      scope: 'read:data write:data',
      audience: resource,
      accessTokenTTL: TOKEN_TTL,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: resource === API ? signingAlg : 'RS256' } },
    };
  }
  if (resource === OPAQUE_API) {
    return { scope: 'read:data', audience: resource, accessTokenTTL: TOKEN_TTL, accessTokenFormat: 'opaque' };
  }
  throw new oidc.errors.InvalidTarget();
}

/** (Re)starts the provider on the same issuer and port, with this key set. */
function startProvider(keys: readonly JWK[]): Provider {
  provider = new oidc.Provider(issuer, {
    jwks: { keys },
    clients: Object.values(CLIENTS).map((client) => ({
      client_id: client.id,
      client_secret: client.secret,
      token_endpoint_auth_method: client.method,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => resourceServer(resource),
      },
    },
    ttl: { ClientCredentials: TOKEN_TTL, IdToken: TOKEN_TTL },
  });
  handler = provider.callback();
  return provider;
}

/** A real token request: POST to the token endpoint, client authenticated as configured. */
async function requestToken(options: {
  readonly resource: string;
  readonly scope?: string;
  readonly client?: keyof typeof CLIENTS;
}): Promise<{ status: number; body: TokenResponse }> {
  const client = CLIENTS[options.client ?? 'post'];
  const form = new URLSearchParams({ grant_type: 'client_credentials', resource: options.resource });
  if (options.scope !== undefined) form.set('scope', options.scope);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.method === 'client_secret_post') {
    form.set('client_id', client.id);
    form.set('client_secret', client.secret);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
  }
  const response = await fetch(`${issuer}/token`, { method: 'POST', headers, body: form });
  return { status: response.status, body: (await response.json()) as TokenResponse };
}

async function accessToken(resource: string, scope = 'read:data', client?: keyof typeof CLIENTS) {
  const { status, body } = await requestToken({ resource, scope, ...(client ? { client } : {}) });
  expect({ status, token_type: body.token_type, expires_in: body.expires_in }).toEqual({
    status: 200,
    token_type: 'Bearer',
    expires_in: TOKEN_TTL,
  });
  return body.access_token as string;
}

function verifierFor(overrides: CommonOptions = {}): Verifier {
  return createVerifier({
    issuer,
    audience: API,
    algorithms: ALGORITHMS,
    allowInsecureLoopback: true,
    strict: true,
    ...overrides,
  });
}

/** A fetch Request as a resource server would receive it. */
function apiRequest(token: string): Request {
  return new Request(`${API}/data`, { headers: { authorization: `Bearer ${token}` } });
}

beforeAll(async () => {
  restoreConsole = silenceOidcProviderNotices();
  oidc = await import('oidc-provider');
  // The issuer must name the port, so the server listens first and the provider comes second.
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  firstKeys = await signingKeys('first');
  startProvider(firstKeys);
});

afterAll(async () => {
  vi.useRealTimers();
  if (server) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  restoreConsole();
});

describe('oidc-provider: client credentials tokens verified through discovery', () => {
  let verifier: Verifier;
  /** The same policy on the WebCrypto engine (runtimes without node:crypto). */
  let webVerifier: Verifier;

  it('discovery: warmup() reads openid-configuration, then the jwks_uri it names', async () => {
    const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(metadata).toMatchObject({ issuer, jwks_uri: `${issuer}/jwks` });
    hits.clear();
    verifier = verifierFor();
    await verifier.warmup();
    expect(Object.fromEntries(hits)).toEqual({ '/.well-known/openid-configuration': 1, '/jwks': 1 });
    webVerifier = verifierFor({ crypto: 'webcrypto' });
    await webVerifier.warmup();
    expect(Object.fromEntries(hits)).toEqual({ '/.well-known/openid-configuration': 2, '/jwks': 2 });
  });

  for (const alg of ALGORITHMS) {
    it(`${alg}: at+jwt from the token endpoint verifies (strict), scopes enforced`, async () => {
      signingAlg = alg;
      const token = await accessToken(API, 'read:data');
      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ alg, typ: 'at+jwt' });
      expect(header.kid).toMatch(/^first-/);

      const claims = await verifier.verify(token);
      expect(claims).toMatchObject({
        iss: issuer,
        aud: API,
        client_id: CLIENTS.post.id,
        sub: CLIENTS.post.id,
        scope: 'read:data',
      });
      expect(claims.jti).toEqual(expect.any(String));
      expect(claims.iat).toEqual(expect.any(Number));
      expect(claims.exp).toBe((claims.iat as number) + TOKEN_TTL);
      expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(60);
      await expect(webVerifier.verify(token)).resolves.toEqual(claims);

      // jose, fetching the same JWKS itself, agrees on the payload.
      const jose = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
        issuer,
        audience: API,
        typ: 'at+jwt',
        algorithms: [alg],
      });
      expect(jose.payload).toEqual(claims);

      const auth = verifier.authenticate(apiRequest(token));
      await expect(auth.require({ scopes: 'read:data' })).resolves.toEqual(claims);
      const denied = await authErrorOf(auth.require({ scopes: 'write:data' }));
      expect({
        code: denied.code,
        reason: denied.reason,
        status: denied.status,
        requiredScopes: denied.requiredScopes,
        wwwAuthenticate: denied.wwwAuthenticate,
      }).toEqual({
        code: 'FORBIDDEN',
        reason: 'insufficient_scope',
        status: 403,
        requiredScopes: ['write:data'],
        wwwAuthenticate:
          'Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="write:data", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
      });
    });
  }

  it('no JWKS refetch for the whole algorithm matrix: all keys came with the first fetch', () => {
    expect(hits.get('/.well-known/openid-configuration')).toBe(2);
    // One fetch per verifier, and one per algorithm by jose's own remote set.
    expect(hits.get('/jwks')).toBe(2 + ALGORITHMS.length);
  });

  it('client_secret_basic client granted both scopes passes write:data', async () => {
    signingAlg = 'ES256';
    const token = await accessToken(API, 'read:data write:data', 'basic');
    const auth = verifier.authenticate(apiRequest(token));
    await expect(auth.scopes()).resolves.toEqual(new Set(['read:data', 'write:data']));
    await expect(auth.require({ scopes: ['read:data', 'write:data'] })).resolves.toMatchObject({
      client_id: CLIENTS.basic.id,
    });
  });

  it('a scope the resource server does not offer is dropped: the token grants nothing (403)', async () => {
    signingAlg = 'RS256';
    const token = await accessToken(API, 'admin');
    const auth = verifier.authenticate(apiRequest(token));
    const claims = await auth.claims();
    expect(claims).not.toHaveProperty('scope');
    await expect(auth.scopes()).resolves.toEqual(new Set());
    const denied = await authErrorOf(auth.require({ scopes: 'read:data' }));
    expect([denied.status, denied.reason]).toEqual([403, 'insufficient_scope']);
  });

  it('an access token for another resource server -> 401 invalid_audience', async () => {
    const token = await accessToken(OTHER_API);
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    expectUnauthorized(await authErrorOf(verifier.verify(token)), 'invalid_audience');
  });

  it('an opaque access token -> 401 malformed_token', async () => {
    const token = await accessToken(OPAQUE_API);
    expect(token.split('.')).toHaveLength(1);
    expectUnauthorized(await authErrorOf(verifier.verify(token)), 'malformed_token');
  });

  it('an ID token from the same provider is not an access token', async () => {
    const client = await provider.Client.find(CLIENTS.post.id);
    if (!client) throw new Error('client not found');
    const idToken = new provider.IdToken({ sub: 'user-1' }, { client });
    idToken.scope = 'openid';
    const token = await idToken.issue({ use: 'idtoken' });
    const header = decodeProtectedHeader(token);
    expect(header.typ).toBeUndefined();
    expect(header.kid).toMatch(/^first-/);

    // strict (RFC 9068): refused on its type, before any key is looked up.
    expectUnauthorized(await authErrorOf(verifier.verify(token)), 'invalid_token_type');
    // Not strict: the signature holds, but its audience is the client, not the API.
    const lenient = verifierFor({ strict: false });
    expectUnauthorized(await authErrorOf(lenient.verify(token)), 'invalid_audience');
  });

  it('a tampered signature -> 401 invalid_signature; an algorithm outside the allow-list -> unsupported_algorithm', async () => {
    signingAlg = 'PS256';
    const token = await accessToken(API);
    const [head, body, signature = ''] = token.split('.');
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expectUnauthorized(await authErrorOf(verifier.verify(`${head}.${body}.${flipped}`)), 'invalid_signature');
    const onlyEs256 = verifierFor({ algorithms: ['ES256'] });
    expectUnauthorized(await authErrorOf(onlyEs256.verify(token)), 'unsupported_algorithm');
  });
});

describe('oidc-provider: key rotation', () => {
  it('a restarted provider with new keys is picked up after the cooldown; dropped keys stop verifying', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    signingAlg = 'RS256';
    const verifier = verifierFor({ cooldownMs: 5000 });
    const first = await accessToken(API);
    await expect(verifier.verify(first)).resolves.toMatchObject({ aud: API });

    // Restart on the same issuer: a new key first, the old ones still published (a graceful rotation).
    startProvider([...(await signingKeys('second')), ...firstKeys]);
    const rotated = await accessToken(API);
    expect(decodeProtectedHeader(rotated).kid).toBe('second-rsa');
    hits.clear();
    // Within the cooldown an unknown kid does not refetch: 401 unknown_key, no request.
    expectUnauthorized(await authErrorOf(verifier.verify(rotated)), 'unknown_key');
    expect(hits.get('/jwks')).toBeUndefined();

    vi.setSystemTime(Date.now() + 5001);
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ aud: API });
    expect(hits.get('/jwks')).toBe(1);
    await expect(verifier.verify(first)).resolves.toMatchObject({ aud: API });

    // Restart again with only new keys: the first generation is gone.
    startProvider(await signingKeys('third'));
    vi.setSystemTime(Date.now() + 5001);
    const third = await accessToken(API);
    expect(decodeProtectedHeader(third).kid).toBe('third-rsa');
    await expect(verifier.verify(third)).resolves.toMatchObject({ aud: API });
    expect(hits.get('/jwks')).toBe(2);
    expectUnauthorized(await authErrorOf(verifier.verify(first)), 'unknown_key');
    expectUnauthorized(await authErrorOf(verifier.verify(rotated)), 'unknown_key');
    // Discovery metadata is cached (cacheMaxAgeMs), only the JWKS was refetched.
    expect(hits.get('/.well-known/openid-configuration')).toBeUndefined();
  });
});
