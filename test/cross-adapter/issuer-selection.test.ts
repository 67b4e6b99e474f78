/**
 * Dynamic issuer selection end to end: a real tRPC server and a real graphql-yoga server, two
 * issuers served by the testing kit on 127.0.0.1, the tenant chosen by an `x-tenant` header (as a
 * gateway sets it). A token of tenant A under tenant B's header is refused (401 invalid_issuer)
 * with no key fetched for it; a throwing resolver is a 503, never a crash or an acceptance.
 */
import { createServer } from 'node:http';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type IssuerSelector, requestHeader, type Verifier } from '../../src/core/index.js';
import { type AuthContext as GraphQLAuthContext, useAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type ServedIssuer, type TestIssuer } from '../../src/testing/index.js';
import { authErrorFormatter, authResponseMeta, createAuthContext } from '../../src/trpc/index.js';
import { serverPool } from './support.js';

const AUDIENCE = 'https://api.example.test';
const TENANTS = { a: 'https://tenant-a.example.test/', b: 'https://tenant-b.example.test/' } as const;
const JWKS_PATH = '/.well-known/jwks.json';
const REFUSED = {
  status: 401,
  challenge:
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
  code: 'UNAUTHORIZED',
  reason: 'invalid_issuer',
} as const;

let a: TestIssuer;
let b: TestIssuer;
let servedA: ServedIssuer;
let servedB: ServedIssuer;
const pool = serverPool();

beforeAll(async () => {
  a = await createTestIssuer({ issuer: TENANTS.a, audience: AUDIENCE, kid: 'a' });
  b = await createTestIssuer({ issuer: TENANTS.b, audience: AUDIENCE, kid: 'b' });
  [servedA, servedB] = await Promise.all([a.serve(), b.serve()]);
});

afterAll(async () => {
  await pool.closeAll();
  await Promise.all([servedA.close(), servedB.close()]);
});

/** Every request any served issuer answered, by issuer. */
const hits = () => ({ a: servedA.hits.get(JWKS_PATH) ?? 0, b: servedB.hits.get(JWKS_PATH) ?? 0 });

// The gateway's header names a tenant; only configured issuers can come out of it.
const byTenant: IssuerSelector = (request) => {
  const tenant = requestHeader(request, 'x-tenant');
  return tenant === 'a' || tenant === 'b'
    ? TENANTS[tenant]
    : tenant && `https://tenant-${tenant}.example.test/`;
};

function verifierWith(selectIssuers: IssuerSelector): Verifier {
  return createVerifier({
    audience: AUDIENCE,
    allowInsecureLoopback: true,
    issuers: [
      { issuer: TENANTS.a, jwksUri: servedA.jwksUri },
      { issuer: TENANTS.b, jwksUri: servedB.jwksUri },
    ],
    selectIssuers,
  });
}

async function startTrpc(verifier: Verifier): Promise<(token: string, tenant?: string) => Promise<Response>> {
  const createContext = createAuthContext(verifier);
  const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
  const router = t.router({
    whoami: t.procedure.query(async ({ ctx }) => (await ctx.auth.claims()).iss),
  });
  const url = await pool.listen(createHTTPServer({ router, createContext, responseMeta: authResponseMeta }));
  return (token, tenant) =>
    fetch(`${url}/whoami`, {
      headers: { authorization: `Bearer ${token}`, ...(tenant !== undefined && { 'x-tenant': tenant }) },
    });
}

async function startYoga(verifier: Verifier): Promise<(token: string, tenant?: string) => Promise<Response>> {
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: 'type Query { whoami: String! }',
      resolvers: {
        Query: {
          whoami: async (_root: unknown, _args: unknown, context: GraphQLAuthContext) =>
            (await context.auth.claims()).iss,
        },
      },
    }),
    plugins: [useAuth({ verifier })],
  });
  const url = await pool.listen(createServer(yoga));
  return (token, tenant) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${token}`,
        ...(tenant !== undefined && { 'x-tenant': tenant }),
      },
      body: JSON.stringify({ query: '{ whoami }' }),
    });
}

interface Outcome {
  readonly status: number;
  readonly challenge: string | null;
  readonly iss?: string;
  readonly code?: string | undefined;
  readonly reason?: string | undefined;
}

async function outcomeOf(adapter: 'trpc' | 'yoga', response: Response): Promise<Outcome> {
  const body = (await response.json()) as Record<string, never>;
  const base = { status: response.status, challenge: response.headers.get('www-authenticate') };
  if (adapter === 'trpc') {
    const result = body as { result?: { data: string }; error?: { data: { auth: Record<string, string> } } };
    if (result.result) return { ...base, iss: result.result.data };
    const auth = result.error?.data.auth ?? {};
    return { ...base, code: auth.code, reason: auth.reason };
  }
  const result = body as {
    data?: { whoami: string } | null;
    errors?: { extensions: Record<string, string> }[];
  };
  if (result.data) return { ...base, iss: result.data.whoami };
  const extensions = result.errors?.[0]?.extensions ?? {};
  return { ...base, code: extensions.code, reason: extensions.reason };
}

describe.each(['trpc', 'yoga'] as const)('%s: the tenant header chooses the issuer', (adapter) => {
  let send: (token: string, tenant?: string) => Promise<Response>;
  const call = async (token: string, tenant?: string) => outcomeOf(adapter, await send(token, tenant));

  beforeAll(async () => {
    send = await (adapter === 'trpc' ? startTrpc : startYoga)(verifierWith(byTenant));
  });

  it("each tenant's token is accepted under its own header (and its keys fetched)", async () => {
    const before = hits();
    expect(await call(await a.sign(), 'a')).toEqual({ status: 200, challenge: null, iss: TENANTS.a });
    expect(await call(await b.sign(), 'b')).toEqual({ status: 200, challenge: null, iss: TENANTS.b });
    const after = hits();
    expect(after.a - before.a + (after.b - before.b)).toBeLessThanOrEqual(2);
  });

  it("tenant A's token under tenant B's header: 401 invalid_issuer, no JWKS fetched for it", async () => {
    // A cold verifier: had it looked up any key for this token, a JWKS would have been fetched.
    const cold = await (adapter === 'trpc' ? startTrpc : startYoga)(verifierWith(byTenant));
    const before = hits();
    expect(await outcomeOf(adapter, await cold(await a.sign(), 'b'))).toEqual(REFUSED);
    expect(await outcomeOf(adapter, await cold(await b.sign(), 'a'))).toEqual(REFUSED);
    expect(hits()).toEqual(before);
  });

  it('an unknown tenant: 401 invalid_issuer, nothing fetched anywhere', async () => {
    const before = { ...hits(), paths: servedA.hits.size + servedB.hits.size };
    expect(await call(await a.sign(), 'evil')).toEqual(REFUSED);
    expect({ ...hits(), paths: servedA.hits.size + servedB.hits.size }).toEqual(before);
  });

  it('no tenant header: 401 invalid_issuer (no tenant is not every tenant)', async () => {
    expect(await call(await a.sign())).toEqual(REFUSED);
  });
});

describe.each(['trpc', 'yoga'] as const)('%s: a throwing resolver', (adapter) => {
  it('answers 503 SERVICE_UNAVAILABLE issuer_unavailable without a challenge, and the server lives on', async () => {
    let fail = true;
    const send = await (adapter === 'trpc' ? startTrpc : startYoga)(
      verifierWith((request) => {
        if (fail) throw new Error('tenant directory down');
        return byTenant(request);
      }),
    );
    const token = await a.sign();
    const refused = await send(token, 'a');
    const text = await refused.clone().text();
    expect(await outcomeOf(adapter, refused)).toEqual({
      status: 503,
      challenge: null,
      code: 'SERVICE_UNAVAILABLE',
      reason: 'issuer_unavailable',
    });
    expect(text).not.toContain('tenant directory');
    fail = false;
    expect(await outcomeOf(adapter, await send(token, 'a'))).toMatchObject({ status: 200, iss: TENANTS.a });
  });
});
