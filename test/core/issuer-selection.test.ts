/**
 * `selectIssuers` and `verify(token, { issuers })` at the core: which configured issuers one
 * request accepts. Two issuers served by the testing kit on 127.0.0.1; fetches counted, so a
 * refused tenant is shown to cost no network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionSource } from '../../src/core/credentials.js';
import {
  AuthError,
  createVerifier,
  type IssuerSelector,
  protectedResourceMetadata,
  type RequestLike,
  requestHeader,
  type VerifierOptions,
} from '../../src/core/index.js';
import { createTestIssuer, type ServedIssuer, type TestIssuer } from '../../src/testing/index.js';

const AUDIENCE = 'https://api.example.test';
const A = 'https://tenant-a.example.test/';
const B = 'https://tenant-b.example.test/';
const JWKS_PATH = '/.well-known/jwks.json';

let a: TestIssuer;
let b: TestIssuer;
let servedA: ServedIssuer;
let servedB: ServedIssuer;

beforeAll(async () => {
  a = await createTestIssuer({ issuer: A, audience: AUDIENCE, kid: 'a', algorithm: 'ES256' });
  b = await createTestIssuer({ issuer: B, audience: AUDIENCE, kid: 'b', algorithm: 'ES256' });
  [servedA, servedB] = await Promise.all([a.serve(), b.serve()]);
});

afterAll(async () => {
  await Promise.all([servedA.close(), servedB.close()]);
});

const hits = () => ({ a: servedA.hits.get(JWKS_PATH) ?? 0, b: servedB.hits.get(JWKS_PATH) ?? 0 });

function options(selectIssuers?: IssuerSelector, extra: Partial<VerifierOptions> = {}): VerifierOptions {
  return {
    audience: AUDIENCE,
    algorithms: ['ES256'],
    allowInsecureLoopback: true,
    issuers: [
      { issuer: A, jwksUri: servedA.jwksUri },
      { issuer: B, jwksUri: servedB.jwksUri },
    ],
    ...(selectIssuers && { selectIssuers }),
    ...extra,
  } as VerifierOptions;
}

const byTenant: IssuerSelector = (request) => {
  const tenant = requestHeader(request, 'x-tenant');
  return tenant === undefined ? undefined : `https://tenant-${tenant}.example.test/`;
};

function request(token: string, tenant?: string): Headers {
  const headers = new Headers({ authorization: `Bearer ${token}` });
  if (tenant !== undefined) headers.set('x-tenant', tenant);
  return headers;
}

async function refusal(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe('selectIssuers through authenticate()', () => {
  it("each tenant's token verifies under its own tenant", async () => {
    const verifier = createVerifier(options(byTenant));
    const before = hits();
    await expect(verifier.authenticate(request(await a.sign(), 'a')).claims()).resolves.toMatchObject({
      iss: A,
    });
    // The counter counts: the refusal tests below rely on it.
    expect(hits().a).toBe(before.a + 1);
    await expect(verifier.authenticate(request(await b.sign(), 'b')).claims()).resolves.toMatchObject({
      iss: B,
    });
  });

  it("A's token under B's header: 401 invalid_issuer, no key fetched for it", async () => {
    const verifier = createVerifier(options(byTenant));
    const before = hits();
    const error = await refusal(verifier.authenticate(request(await a.sign(), 'b')).claims());
    expect(error.status).toBe(401);
    expect(error.reason).toBe('invalid_issuer');
    expect(error.detail).toBe(`the token's issuer "${A}" is not among the issuers selected for this request`);
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
    expect(error.toJSON()).not.toHaveProperty('detail');
    expect(hits()).toEqual(before);
  });

  it('a tenant that is not configured: 401 invalid_issuer, no fetch of any URL built from it', async () => {
    const verifier = createVerifier(options(byTenant));
    const before = { pathsA: servedA.hits.size, pathsB: servedB.hits.size, ...hits() };
    const error = await refusal(verifier.authenticate(request(await a.sign(), 'evil')).claims());
    expect(error.reason).toBe('invalid_issuer');
    expect(error.detail).toBe('the selected issuer "https://tenant-evil.example.test/" is not configured');
    expect({ pathsA: servedA.hits.size, pathsB: servedB.hits.size, ...hits() }).toEqual(before);
  });

  it('one unknown name among known ones still refuses (a typo is reported, not ignored)', async () => {
    const verifier = createVerifier(options(() => [A, 'https://tenant-c.example.test/']));
    const error = await refusal(verifier.authenticate(request(await a.sign())).claims());
    expect(error.reason).toBe('invalid_issuer');
    expect(error.detail).toMatch(/tenant-c.* is not configured/);
  });

  for (const [name, choice] of [
    ['undefined (no header)', undefined],
    ['null', null],
    ['an empty list', []],
  ] as const) {
    it(`selecting nothing (${name}) refuses: a missing tenant is not "any tenant"`, async () => {
      const verifier = createVerifier(options(() => choice));
      const error = await refusal(verifier.authenticate(request(await a.sign())).claims());
      expect(error.reason).toBe('invalid_issuer');
      expect(error.detail).toBe('no issuer was selected for this request');
    });
  }

  it('several selected issuers each accept', async () => {
    const verifier = createVerifier(options(() => [A, B]));
    await expect(verifier.authenticate(request(await a.sign())).claims()).resolves.toMatchObject({ iss: A });
    await expect(verifier.authenticate(request(await b.sign())).claims()).resolves.toMatchObject({ iss: B });
  });

  it('an async resolver is awaited', async () => {
    const verifier = createVerifier(options(async () => B));
    await expect(verifier.authenticate(request(await b.sign())).claims()).resolves.toMatchObject({ iss: B });
    expect((await refusal(verifier.authenticate(request(await a.sign())).claims())).reason).toBe(
      'invalid_issuer',
    );
  });

  it('a throwing resolver: 503 issuer_unavailable, no challenge, the cause kept server-side', async () => {
    const failure = new Error('tenant directory down');
    const verifier = createVerifier(
      options(() => {
        throw failure;
      }),
    );
    const error = await refusal(verifier.authenticate(request(await a.sign())).claims());
    expect(error.status).toBe(503);
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.reason).toBe('issuer_unavailable');
    expect(error.wwwAuthenticate).toBeUndefined();
    expect(error.cause).toBe(failure);
    expect(error.detail).toBe('the "selectIssuers" option threw');
    expect(JSON.stringify(error.toJSON())).not.toContain('tenant directory');
  });

  it('a rejecting async resolver: 503 too', async () => {
    const verifier = createVerifier(options(() => Promise.reject(new Error('nope'))));
    expect((await refusal(verifier.authenticate(request(await a.sign())).claims())).status).toBe(503);
  });

  it('a resolver returning something else (a number, a list with a non-string): 503', async () => {
    for (const value of [42, [A, 7], { issuer: A }]) {
      const verifier = createVerifier(options(() => value as never));
      const error = await refusal(verifier.authenticate(request(await a.sign())).claims());
      expect(error.status).toBe(503);
      expect(error.detail).toMatch(/^the "selectIssuers" option returned (number|object), not issuer names$/);
    }
  });

  it('runs once per request (claims are memoized), and not at all without a token', async () => {
    let calls = 0;
    const verifier = createVerifier(
      options(() => {
        calls++;
        return A;
      }),
    );
    const auth = verifier.authenticate(request(await a.sign()));
    await auth.claims();
    await auth.scopes();
    await auth.require();
    expect(calls).toBe(1);
    const missing = verifier.authenticate(new Headers());
    expect((await refusal(missing.claims())).reason).toBe('missing_token');
    expect(calls).toBe(1);
  });

  it('the token cache does not bypass the selection', async () => {
    const verifier = createVerifier(options(byTenant, { tokenCache: { max: 10 } }));
    const token = await a.sign();
    await expect(verifier.authenticate(request(token, 'a')).claims()).resolves.toMatchObject({ iss: A });
    const error = await refusal(verifier.authenticate(request(token, 'b')).claims());
    expect(error.reason).toBe('invalid_issuer');
  });

  it('a malformed token is still malformed_token (the cheap checks come first)', async () => {
    const verifier = createVerifier(options(byTenant));
    const error = await refusal(verifier.authenticate(request('a.b.c', 'a')).claims());
    expect(error.reason).toBe('malformed_token');
  });
});

describe('verify(token, { issuers })', () => {
  it('without options, every configured issuer (the resolver is not asked)', async () => {
    let calls = 0;
    const verifier = createVerifier(
      options(() => {
        calls++;
        return [];
      }),
    );
    await expect(verifier.verify(await a.sign())).resolves.toMatchObject({ iss: A });
    await expect(verifier.verify(await b.sign())).resolves.toMatchObject({ iss: B });
    expect(calls).toBe(0);
  });

  it('narrows to the given issuers; unknown or none refuse', async () => {
    const verifier = createVerifier(options());
    await expect(verifier.verify(await a.sign(), { issuers: A })).resolves.toMatchObject({ iss: A });
    expect((await refusal(verifier.verify(await a.sign(), { issuers: [B] }))).reason).toBe('invalid_issuer');
    expect((await refusal(verifier.verify(await a.sign(), { issuers: [] }))).detail).toBe(
      'no issuer was selected for this request',
    );
    expect((await refusal(verifier.verify(await a.sign(), { issuers: 'x' }))).detail).toBe(
      'the selected issuer "x" is not configured',
    );
  });

  it('an issuers option of the wrong type is a TypeError naming it', async () => {
    const verifier = createVerifier(options());
    await expect(verifier.verify(await a.sign(), { issuers: 5 as never })).rejects.toThrowError(
      /^"issuers" option of verify\(\) must be a string or an array of strings$/,
    );
  });

  it('a very long selected name is cut in the detail', async () => {
    const verifier = createVerifier(options());
    const error = await refusal(verifier.verify(await a.sign(), { issuers: 'x'.repeat(5000) }));
    expect(error.detail?.length).toBeLessThan(300);
  });
});

describe('protected resource metadata', () => {
  it('lists every configured issuer: the document is public and cached, never per request', () => {
    const metadata = protectedResourceMetadata({
      resource: AUDIENCE,
      verifier: createVerifier(options(byTenant)),
    });
    expect(metadata.document.authorization_servers).toEqual([A, B]);
  });
});

describe('the selectIssuers option', () => {
  for (const value of [42, 'https://tenant-a.example.test/', null, {}]) {
    it(`${JSON.stringify(value)} is a TypeError naming it`, () => {
      expect(() => createVerifier({ ...options(), selectIssuers: value as never })).toThrowError(
        /^"selectIssuers" option must be a function \(request\) => issuer \| issuers$/,
      );
    });
  }
});

describe('requestHeader reads every request shape the adapters pass', () => {
  const cases: readonly [string, RequestLike, string | undefined][] = [
    ['a fetch Request', new Request('http://127.0.0.1/', { headers: { 'X-Tenant': 'a' } }), 'a'],
    ['Headers', new Headers({ 'x-tenant': 'a' }), 'a'],
    ['a Node request', { headers: { 'x-tenant': 'a' } }, 'a'],
    ['a Node request, header repeated', { headers: { 'x-tenant': ['a', 'b'] } }, undefined],
    ['a Fastify request', { raw: { headers: { 'x-tenant': 'a' } }, headers: {} } as never, 'a'],
    ['a header record, two spellings', { 'x-tenant': 'a', 'X-Tenant': 'b' }, undefined],
    [
      'fetch-joined duplicates',
      new Headers([
        ['x-tenant', 'a'],
        ['x-tenant', 'b'],
      ]),
      undefined,
    ],
    ['an empty value', new Headers({ 'x-tenant': '' }), undefined],
    ['absent', new Headers(), undefined],
    [
      'a WebSocket connection (its upgrade request)',
      connectionSource({}, { headers: { 'x-tenant': 'b' } }),
      'b',
    ],
    ['a string', 'Bearer x', undefined],
    ['null', null, undefined],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      expect(requestHeader(input, 'X-Tenant')).toBe(expected);
    });
  }
});
