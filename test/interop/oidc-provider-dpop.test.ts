/**
 * DPoP interop with a real OpenID provider: oidc-provider 9 (DPoP feature on) issues DPoP-bound
 * RFC 9068 JWT access tokens from its token endpoint (client credentials, resource indicators),
 * the token request carrying a proof made by panva's `dpop` package. The example tRPC and yoga
 * APIs, served on 127.0.0.1 and finding the provider's keys by discovery, accept those tokens with
 * a proof from the same package, and refuse them under Bearer (#DPoP binding).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { calculateThumbprint, generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair as joseKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp as createYogaApp } from '../../examples/graphql-yoga/app.js';
import { createApp as createTrpcApp } from '../../examples/trpc/app.js';
import { createVerifier, type Verifier } from '../../src/core/index.js';
import { authResponseMeta } from '../../src/trpc/index.js';
import { DPOP_CHALLENGES, graphqlAuthError, seen } from '../helpers/dpop.js';

const API = 'https://notes.example.test';
const CLIENT = { id: 'dpop-service', secret: 'dpop-service-secret-0123456789abcdef0123' } as const;
const closers: (() => Promise<void>)[] = [];
let issuer: string;
let clientKey: KeyPair;
let verifier: Verifier;
let restoreConsole: () => void = () => {};

/** oidc-provider prints development notices; keep test output clean. */
function silence(): () => void {
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

async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  restoreConsole = silence();
  const oidc = await import('oidc-provider');
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  issuer = await listen((req, res) => handler(req, res));
  const { privateKey } = await joseKeyPair('ES256', { extractable: true });
  const provider = new oidc.Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'op-es256', use: 'sig', alg: 'ES256' }] },
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_post',
        // The provider signs with ES256 only; its client default (RS256 ID tokens) would not validate.
        id_token_signed_response_alg: 'ES256',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: () => ({
          scope: 'notes:read',
          audience: API,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  handler = provider.callback();
  clientKey = await generateKeyPair('ES256');
  verifier = createVerifier({ issuer, audience: API, algorithms: ['ES256'], allowInsecureLoopback: true });
});

afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  restoreConsole();
});

/** A DPoP token request: client credentials, the proof signed by the `dpop` package. */
async function dpopToken(scope: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const tokenEndpoint = `${issuer}/token`;
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    resource: API,
    scope,
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
  });
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await generateProof(clientKey, tokenEndpoint, 'POST'),
    },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('oidc-provider issues DPoP-bound JWT access tokens', () => {
  it('the token endpoint answers token_type DPoP, an at+jwt with cnf.jkt = the client key thumbprint', async () => {
    const { status, body } = await dpopToken('notes:read');
    expect({ status, token_type: body.token_type }).toEqual({ status: 200, token_type: 'DPoP' });
    const token = body.access_token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(decodeJwt(token)).toMatchObject({
      iss: issuer,
      aud: API,
      client_id: CLIENT.id,
      scope: 'notes:read',
      cnf: { jkt: await calculateThumbprint(clientKey.publicKey) },
    });
  });
});

describe('a tRPC API accepts them with a proof, refuses them under Bearer', () => {
  let origin: string;
  beforeAll(async () => {
    const app = createTrpcApp(verifier);
    origin = await listen(
      createHTTPHandler({
        router: app.appRouter,
        createContext: app.createContext,
        responseMeta: authResponseMeta,
      }),
    );
  });

  it('DPoP: 200 with the client as subject', async () => {
    const token = (await dpopToken('notes:read')).body.access_token as string;
    const url = `${origin}/me`;
    const response = await fetch(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await generateProof(clientKey, url, 'GET', undefined, token),
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ result: { data: { sub: CLIENT.id, scopes: ['notes:read'] } } });
  });

  it('#63 oidc-provider token as Bearer: 401 invalid_token_binding', async () => {
    const token = (await dpopToken('notes:read')).body.access_token as string;
    const reply = await seen(await fetch(`${origin}/me`, { headers: { authorization: `Bearer ${token}` } }));
    expect(reply.status).toBe(401);
    expect((reply.body as { error: { data: { auth: unknown } } }).error.data.auth).toMatchObject({
      code: 'UNAUTHORIZED',
      reason: 'invalid_token_binding',
    });
    expect(reply.challenge).toBe(DPOP_CHALLENGES.bindingUnderBearer);
  });
});

describe('a yoga API accepts them with a proof, refuses them under Bearer', () => {
  let url: string;
  beforeAll(async () => {
    url = `${await listen(createYogaApp(verifier, { graphiql: false }))}/graphql`;
  });

  async function post(headers: Record<string, string>) {
    return seen(
      await fetch(url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
        },
        body: JSON.stringify({ query: '{ notes { id } }' }),
      }),
    );
  }

  it('DPoP: 200', async () => {
    const token = (await dpopToken('notes:read')).body.access_token as string;
    const reply = await post({
      authorization: `DPoP ${token}`,
      dpop: await generateProof(clientKey, url, 'POST', undefined, token),
    });
    expect(reply).toMatchObject({ status: 200, body: { data: { notes: [] } } });
  });

  it('#63 oidc-provider token as Bearer: 401 invalid_token_binding', async () => {
    const token = (await dpopToken('notes:read')).body.access_token as string;
    const reply = await post({ authorization: `Bearer ${token}` });
    expect(reply.status).toBe(401);
    expect(graphqlAuthError(reply.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'invalid_token_binding' });
    expect(reply.challenge).toBe(DPOP_CHALLENGES.bindingUnderBearer);
  });
});
