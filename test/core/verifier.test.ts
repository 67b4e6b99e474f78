/**
 * The verifier's own contract (DESIGN.md, Core): `authenticate()` is lazy and memoized,
 * `optional()` never downgrades a bad token, `require()` / `authorize()` apply scopes and claim
 * checks with 403s, `warmup()` covers every key source, and error presentation options apply.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthError, checkClaims, claimEquals, claimIncludes, createVerifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { countingSchema } from '../helpers/auth.js';

const INVALID_TOKEN =
  'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ algorithm: 'ES256' });
});

function verifierWith(extra: Record<string, unknown> = {}) {
  const schema = countingSchema();
  const verifier = createVerifier({ ...issuer.verifierOptions, claims: schema, ...extra });
  return { verifier, schema };
}

describe('authenticate(): lazy and memoized', () => {
  it('verifies nothing until asked, then once however often asked', async () => {
    const { verifier, schema } = verifierWith();
    const token = await issuer.sign({ scope: 'read write' });
    const auth = verifier.authenticate(`Bearer ${token}`);
    expect(auth.token).toBe(token);
    expect(schema.runs).toBe(0);
    const [a, b] = await Promise.all([auth.claims(), auth.claims()]);
    expect(a).toBe(b);
    await auth.optional();
    await auth.scopes();
    await auth.require();
    expect(schema.runs).toBe(1);
  });

  it('never throws synchronously, whatever the request', () => {
    const { verifier } = verifierWith();
    for (const request of [
      null,
      undefined,
      '',
      'Bearer',
      'Basic x',
      'Bearer a b',
      { authorization: 5 },
      42,
    ]) {
      expect(() =>
        verifier.authenticate(request as Parameters<typeof verifier.authenticate>[0]),
      ).not.toThrow();
    }
  });

  const cases: readonly [string, string | null, Record<string, unknown>][] = [
    [
      'no credentials',
      null,
      {
        status: 401,
        code: 'UNAUTHORIZED',
        reason: 'missing_token',
        wwwAuthenticate: 'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
      },
    ],
    [
      'a malformed Bearer credential',
      'Bearer a b',
      {
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'invalid_request',
        wwwAuthenticate:
          'Bearer realm="api", error="invalid_request", error_description="The request is malformed", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
      },
    ],
    [
      'a credential over maxTokenLength',
      `Bearer ${'a'.repeat(9000)}`,
      { status: 401, code: 'UNAUTHORIZED', reason: 'token_too_large', wwwAuthenticate: INVALID_TOKEN },
    ],
  ];
  for (const [name, header, expected] of cases) {
    it(`${name}: claims() and require() reject; optional() ${header === null ? 'is null' : 'rejects too'}`, async () => {
      const { verifier, schema } = verifierWith();
      const auth = verifier.authenticate(header);
      expect(auth.token).toBeNull();
      expect(await rejection(auth.claims())).toMatchObject(expected);
      expect(await rejection(auth.require({ scopes: 'read' }))).toMatchObject(expected);
      expect(await rejection(auth.scopes())).toMatchObject(expected);
      if (header === null) await expect(auth.optional()).resolves.toBeNull();
      else expect(await rejection(auth.optional())).toMatchObject(expected);
      expect(schema.runs).toBe(0);
    });
  }

  it('optional() never downgrades an invalid token to anonymous', async () => {
    const { verifier } = verifierWith();
    const auth = verifier.authenticate(`Bearer ${await issuer.expired()}`);
    expect(await rejection(auth.optional())).toMatchObject({ status: 401, reason: 'token_expired' });
  });
});

describe('verify(): input guards', () => {
  for (const value of ['', 42, null, undefined, {}]) {
    it(`${JSON.stringify(value) ?? 'undefined'} is malformed_token`, async () => {
      const { verifier } = verifierWith();
      const error = await rejection(verifier.verify(value as string));
      expect(error).toMatchObject({ status: 401, reason: 'malformed_token', wwwAuthenticate: INVALID_TOKEN });
    });
  }
});

describe('require() and authorize(): scopes and claim checks are 403s', () => {
  const FORBIDDEN_CLAIM = {
    status: 403,
    code: 'FORBIDDEN',
    reason: 'claim_check_failed',
    wwwAuthenticate:
      'Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
  };

  it('scopes from scope, scp and configured claims', async () => {
    const { verifier } = verifierWith({ scopeClaims: ['scope', 'permissions'] });
    const claims = await verifier.verify(
      await issuer.sign({ scope: 'a  b', permissions: ['c'], scp: ['d'] }),
    );
    expect([...verifier.scopes(claims)].sort()).toEqual(['a', 'b', 'c']);
    expect(verifier.scopes(claims)).toBe(verifier.scopes(claims));
  });

  it('a missing scope is 403 insufficient_scope with the scope in the challenge', async () => {
    const { verifier } = verifierWith();
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({ scope: 'read' })}`);
    await expect(auth.require({ scopes: 'read' })).resolves.toMatchObject({ scope: 'read' });
    expect(await rejection(auth.require({ scopes: ['read', 'write'] }))).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      requiredScopes: ['read', 'write'],
      wwwAuthenticate:
        'Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="read write", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    });
  });

  it('object claim checks: equality, and inclusion for array claims', async () => {
    const { verifier } = verifierWith();
    const claims = await verifier.verify(
      await issuer.sign({ org: 'acme', roles: ['admin', 'dev'], level: 3 }),
    );
    await expect(verifier.authorize(claims, { claims: { org: 'acme' } })).resolves.toBeUndefined();
    await expect(
      verifier.authorize(claims, { claims: { roles: 'admin', level: 3 } }),
    ).resolves.toBeUndefined();
    await expect(
      verifier.authorize(claims, { claims: { roles: ['admin', 'dev'] } }),
    ).resolves.toBeUndefined();
    for (const check of [
      { org: 'other' },
      { roles: 'root' },
      { roles: ['admin', 'root'] },
      { missing: 'x' },
      { level: '3' },
    ]) {
      expect(await rejection(verifier.authorize(claims, { claims: check }))).toMatchObject(FORBIDDEN_CLAIM);
    }
  });

  it('inherited names never satisfy an object check', async () => {
    const { verifier } = verifierWith();
    const claims = await verifier.verify(await issuer.sign());
    const check = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    expect(await rejection(verifier.authorize(claims, { claims: check }))).toMatchObject(FORBIDDEN_CLAIM);
    // A function as an expected value is not a claim check: a TypeError (issue 8), never a pass.
    const hasOwn = { toString: Object.prototype.toString } as unknown as Record<string, string>;
    await expect(verifier.authorize(claims, { claims: hasOwn })).rejects.toThrow(TypeError);
  });

  it('predicate claim checks, sync and async; only `true` passes', async () => {
    const { verifier } = verifierWith();
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({ tenant: 't1', scope: 'read' })}`);
    await expect(auth.require({ claims: (c) => c.tenant === 't1' })).resolves.toMatchObject({ tenant: 't1' });
    await expect(
      auth.require({ scopes: 'read', claims: async (c) => c.tenant === 't1' }),
    ).resolves.toBeDefined();
    expect(await rejection(auth.require({ claims: (c) => c.tenant === 't2' }))).toMatchObject(
      FORBIDDEN_CLAIM,
    );
    const truthy = (() => 'yes') as unknown as () => boolean;
    expect(await rejection(auth.require({ claims: truthy }))).toMatchObject(FORBIDDEN_CLAIM);
    // Scopes are checked first: a missing scope is insufficient_scope even if the claims fail too.
    expect(await rejection(auth.require({ scopes: 'write', claims: () => false }))).toMatchObject({
      reason: 'insufficient_scope',
    });
  });

  it('a throwing predicate propagates as is: it is a bug, not a denial', async () => {
    const { verifier } = verifierWith();
    const claims = await verifier.verify(await issuer.sign());
    const bug = new RangeError('bug in the predicate');
    await expect(
      verifier.authorize(claims, {
        claims: () => {
          throw bug;
        },
      }),
    ).rejects.toBe(bug);
  });
});

describe('presentation options', () => {
  it('exposeReasons: false collapses 401 reasons in the client view, not the server reason', async () => {
    const { verifier } = verifierWith({ exposeReasons: false, realm: 'orders "api"' });
    const error = await rejection(verifier.verify(await issuer.expired()));
    expect(error.reason).toBe('token_expired');
    expect(error.publicReason).toBe('invalid_token');
    expect(error.toJSON()).toEqual({
      code: 'UNAUTHORIZED',
      reason: 'invalid_token',
      message: 'The access token is invalid',
    });
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="orders api", error="invalid_token", error_description="The access token is invalid", DPoP realm="orders api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
    const missing = await rejection(verifier.authenticate(null).claims());
    expect(missing.publicReason).toBe('missing_token');
  });
});

describe('warmup() for every key source', () => {
  it('static jwks: nothing to fetch', async () => {
    const calls: string[] = [];
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      algorithms: ['ES256'],
      jwks: issuer.jwks(),
      fetch: async (url) => {
        calls.push(url);
        return new Response('{}');
      },
    });
    await verifier.warmup();
    expect(calls).toEqual([]);
  });

  for (const crypto of ['node', 'webcrypto'] as const) {
    it(`secret (${crypto}): prepares the keys, then verifies`, async () => {
      const hs = await createTestIssuer({ algorithm: 'HS384' });
      const verifier = createVerifier({ ...hs.verifierOptions, algorithms: ['HS256', 'HS384'], crypto });
      await verifier.warmup();
      await expect(verifier.verify(await hs.sign())).resolves.toMatchObject({ sub: 'test-user' });
      // The HS256 key is prepared too; a token claiming HS256 with an HS384 MAC fails its check.
      const [h, p, s] = (await hs.sign()).split('.') as [string, string, string];
      const relabelled = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
      expect(await rejection(verifier.verify(`${relabelled}.${p}.${s}`))).toMatchObject({
        reason: 'invalid_signature',
      });
      expect(h).not.toBe(relabelled);
    });
  }

  it('several issuers: warms each', async () => {
    const other = await createTestIssuer({ issuer: 'https://other.example.test/', algorithm: 'ES256' });
    const calls: string[] = [];
    const verifier = createVerifier({
      issuers: [
        { issuer: issuer.issuer, jwksUri: 'https://issuer.example.test/.well-known/jwks.json' },
        { issuer: other.issuer, jwksUri: 'https://other.example.test/.well-known/jwks.json' },
      ],
      audience: issuer.audience,
      algorithms: ['ES256'],
      fetch: async (url, init) => {
        calls.push(url);
        return url.startsWith(other.issuer) ? other.fetch(url, init) : issuer.fetch(url, init);
      },
    });
    await verifier.warmup();
    expect(calls.sort()).toEqual([
      'https://issuer.example.test/.well-known/jwks.json',
      'https://other.example.test/.well-known/jwks.json',
    ]);
  });
});

describe('injected fetch edge cases are 503, never a hang', () => {
  const UNAVAILABLE = { status: 503, code: 'SERVICE_UNAVAILABLE', reason: 'issuer_unavailable' };
  const verifierFetching = (fetch: (url: string, init: RequestInit) => Promise<Response>, timeoutMs = 5000) =>
    createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      algorithms: ['ES256'],
      jwksUri: 'https://issuer.example.test/.well-known/jwks.json',
      fetch,
      timeoutMs,
    });

  it('a 200 with no body', async () => {
    const verifier = verifierFetching(async () => new Response(null, { status: 200 }));
    expect(await rejection(verifier.verify(await issuer.sign()))).toMatchObject(UNAVAILABLE);
  });

  it('a body that is not UTF-8', async () => {
    const verifier = verifierFetching(async () => new Response(new Uint8Array([0x7b, 0xff, 0x7d])));
    expect(await rejection(verifier.verify(await issuer.sign()))).toMatchObject(UNAVAILABLE);
  });

  it('a fetch that ignores the abort signal and never settles: the deadline still holds', async () => {
    let signal: AbortSignal | undefined;
    const verifier = verifierFetching((_url, init) => {
      signal = init.signal ?? undefined;
      return new Promise<Response>(() => {});
    }, 100);
    const error = await rejection(verifier.verify(await issuer.sign()));
    expect(error).toMatchObject(UNAVAILABLE);
    expect(signal?.aborted).toBe(true);
    expect((error.cause as Error).message).toContain('100 ms');
  });

  it('a fetch that throws synchronously', async () => {
    const verifier = verifierFetching(() => {
      throw new TypeError('boom');
    });
    expect(await rejection(verifier.verify(await issuer.sign()))).toMatchObject(UNAVAILABLE);
  });

  it('requests are GETs that refuse redirects and ask for JSON', async () => {
    const seen: RequestInit[] = [];
    const verifier = verifierFetching(async (url, init) => {
      seen.push(init);
      return issuer.fetch(url, init);
    });
    await verifier.verify(await issuer.sign());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'GET',
      redirect: 'manual',
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
  });
});

describe('claimEquals / claimIncludes', () => {
  const claims = { org_id: 'acme', roles: ['admin', 'editor'], amr: 'pwd mfa', level: 3, scope: 'a' };

  it.each([
    [claimEquals('org_id', 'acme'), true],
    [claimEquals('org_id', 'ACME'), false],
    [claimEquals('level', 3), true],
    [claimEquals('level', '3'), false],
    [claimEquals('roles', 'admin'), false],
    [claimEquals('missing', null), false],
    [claimIncludes('roles', 'admin'), true],
    [claimIncludes('roles', 'admin', 'editor'), true],
    [claimIncludes('roles', 'admin', 'owner'), false],
    [claimIncludes('amr', 'mfa'), true],
    [claimIncludes('amr', 'mf'), false],
    [claimIncludes('org_id', 'acme'), true],
    [claimIncludes('level', 3), false],
    [claimIncludes('missing', 'x'), false],
  ])('%o -> %s', async (check, expected) => {
    expect((check as (c: object) => boolean)(claims)).toBe(expected);
    const outcome = checkClaims(claims, check).then(
      () => 'passed',
      (error: AuthError) => `${error.code} ${error.reason}`,
    );
    await expect(outcome).resolves.toBe(expected ? 'passed' : 'FORBIDDEN claim_check_failed');
  });

  it('never reads inherited properties', () => {
    expect((claimEquals('constructor', 'x') as (c: object) => boolean)({})).toBe(false);
    expect((claimIncludes('toString', 'x') as (c: object) => boolean)({})).toBe(false);
  });

  it('names the check for audits and refuses bad arguments at declaration', () => {
    expect((claimEquals('org_id', 'acme') as () => boolean).name).toBe('claimEquals(org_id, "acme")');
    expect((claimIncludes('roles', 'a', 'b') as () => boolean).name).toBe('claimIncludes(roles, "a", "b")');
    expect(() => claimEquals('', 'x')).toThrow(TypeError);
    expect(() => claimEquals('org', { a: 1 } as never)).toThrow(TypeError);
    expect(() => claimIncludes('roles')).toThrow(TypeError);
  });
});
