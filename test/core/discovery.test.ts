/**
 * Finding an issuer's keys: OIDC discovery, the RFC 8414 fallback, the `domain` shorthand, and
 * multi-issuer routing (SECURITY.md #38, #39), against real HTTP servers on 127.0.0.1.
 * https cannot be served here, so https URLs go through a fetch that forwards them to 127.0.0.1.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, type FetchLike, type Verifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  httpsToLoopback,
  type JwksServer,
  type JwksServerOptions,
  startJwksServer,
} from '../helpers/jwks-server.js';

const AUDIENCE = 'https://api.example.test';
const UNAVAILABLE = {
  status: 503,
  code: 'SERVICE_UNAVAILABLE',
  reason: 'issuer_unavailable',
  wwwAuthenticate: undefined,
};
const INVALID_TOKEN =
  'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';

const servers: JwksServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A server and an issuer whose `iss` is `issuer` (by default the server's own URL). */
async function setup(
  options: Omit<JwksServerOptions, 'jwks'> & { issuer?: string },
): Promise<{ server: JwksServer; issuer: TestIssuer }> {
  let issuer: TestIssuer | undefined;
  const server = await startJwksServer({ ...options, jwks: () => issuer?.jwks() ?? { keys: [] } });
  servers.push(server);
  issuer = await createTestIssuer({
    issuer: options.issuer ?? server.issuer,
    audience: AUDIENCE,
    algorithm: 'ES256',
  });
  return { server, issuer };
}

function discovering(issuer: TestIssuer, extra: Record<string, unknown> = {}): Verifier {
  return createVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    allowInsecureLoopback: true,
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe('OIDC discovery, then RFC 8414', () => {
  for (const issuerPath of ['/', '/realms/x', '/realms/x/']) {
    it(`finds the JWKS through openid-configuration (issuer path ${issuerPath})`, async () => {
      const { server, issuer } = await setup({ issuerPath, metadata: 'oidc' });
      const verifier = discovering(issuer);
      await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ iss: server.issuer });
      const path = issuerPath.replace(/\/$/, '');
      expect(server.hits(`${path}/.well-known/openid-configuration`)).toBe(1);
      expect(server.hits()).toBe(1);
      expect(server.totalHits()).toBe(2);
    });

    it(`falls back to RFC 8414 metadata (issuer path ${issuerPath})`, async () => {
      const { server, issuer } = await setup({ issuerPath, metadata: 'oauth' });
      const verifier = discovering(issuer);
      await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ iss: server.issuer });
      const path = issuerPath.replace(/\/$/, '');
      expect(server.hits(`${path}/.well-known/openid-configuration`)).toBe(1);
      expect(server.hits(`/.well-known/oauth-authorization-server${path}`)).toBe(1);
      expect(server.hits()).toBe(1);
      expect(server.totalHits()).toBe(3);
    });
  }

  it('no metadata document at all: 503 after trying both, and no JWKS fetch', async () => {
    const { server, issuer } = await setup({ issuerPath: '/t', metadata: 'none' });
    const error = await rejection(discovering(issuer).verify(await issuer.sign()));
    expect(error).toMatchObject(UNAVAILABLE);
    expect(server.hits('/t/.well-known/openid-configuration')).toBe(1);
    expect(server.hits('/.well-known/oauth-authorization-server/t')).toBe(1);
    expect(server.hits()).toBe(0);
  });

  it('concurrent cold verifies share one discovery and one JWKS fetch', async () => {
    const { server, issuer } = await setup({ metadata: 'oidc' });
    const verifier = discovering(issuer);
    const tokens = await Promise.all(Array.from({ length: 50 }, () => issuer.sign()));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    expect(server.totalHits()).toBe(2);
  });

  it('metadata is cached for cacheMaxAgeMs: a kid-miss refetch does not rediscover', async () => {
    const { server, issuer } = await setup({ metadata: 'oidc' });
    const verifier = discovering(issuer, { cooldownMs: 100, cacheMaxAgeMs: 10_000 });
    let now = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now });
    await verifier.verify(await issuer.sign());
    await issuer.rotateKeys();
    now += 100;
    vi.setSystemTime(now);
    await verifier.verify(await issuer.sign());
    expect(server.hits('/.well-known/openid-configuration')).toBe(1);
    expect(server.hits()).toBe(2);
    now += 10_000;
    vi.setSystemTime(now);
    await verifier.verify(await issuer.sign());
    // Stale keys serve at once; the refresh runs in the background: wait for it.
    await verifier.warmup();
    expect(server.hits('/.well-known/openid-configuration')).toBe(2);
    expect(server.hits()).toBe(3);
  });

  it('warmup() runs discovery and fetches the keys', async () => {
    const { server, issuer } = await setup({ metadata: 'oidc' });
    const verifier = discovering(issuer);
    await verifier.warmup();
    expect(server.totalHits()).toBe(2);
    await verifier.verify(await issuer.sign());
    expect(server.totalHits()).toBe(2);
  });
});

describe('metadata that cannot be trusted is 503 (SECURITY.md #39)', () => {
  const cases: readonly { name: string; overrides: (origin: string) => Record<string, unknown> }[] = [
    { name: 'another issuer', overrides: () => ({ issuer: 'https://evil.example.test/' }) },
    { name: 'issuer without the trailing slash', overrides: (origin) => ({ issuer: origin }) },
    {
      name: 'issuer in another case',
      overrides: (origin) => ({ issuer: `${origin.replace('http:', 'HTTP:')}/` }),
    },
    { name: 'issuer missing', overrides: () => ({ issuer: undefined }) },
    { name: 'issuer not a string', overrides: (origin) => ({ issuer: [`${origin}/`] }) },
    { name: 'jwks_uri missing', overrides: () => ({ jwks_uri: undefined }) },
    { name: 'jwks_uri not a URL', overrides: () => ({ jwks_uri: 'keys' }) },
    { name: 'jwks_uri a file URL', overrides: () => ({ jwks_uri: 'file:///etc/passwd' }) },
    { name: 'jwks_uri http off loopback', overrides: () => ({ jwks_uri: 'http://evil.example.test/jwks' }) },
  ];
  for (const { name, overrides } of cases) {
    it(name, async () => {
      let origin = '';
      const { server, issuer } = await setup({
        metadata: 'oidc',
        metadataOverrides: () => overrides(origin),
      });
      origin = server.origin;
      const error = await rejection(discovering(issuer).verify(await issuer.sign()));
      expect(error).toMatchObject(UNAVAILABLE);
      expect(server.hits()).toBe(0);
    });
  }

  it('an https issuer whose metadata points at an http jwks_uri is refused without allowInsecureLoopback', async () => {
    const { server, issuer } = await setup({
      issuer: 'https://idp.example.test/',
      metadata: 'oidc',
      metadataOverrides: () => ({
        issuer: 'https://idp.example.test/',
        jwks_uri: `${server.origin}/keys/jwks.json`,
      }),
    });
    const fetch = httpsToLoopback({ 'idp.example.test': server.origin });
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      fetch,
    });
    expect(await rejection(verifier.verify(await issuer.sign()))).toMatchObject(UNAVAILABLE);
    expect(server.hits('/.well-known/openid-configuration')).toBe(1);
    expect(server.hits()).toBe(0);
  });

  it('the same https issuer with an https jwks_uri works (control)', async () => {
    const { server, issuer } = await setup({
      issuer: 'https://idp.example.test/',
      metadata: 'oidc',
      metadataOverrides: () => ({
        issuer: 'https://idp.example.test/',
        jwks_uri: 'https://idp.example.test/keys/jwks.json',
      }),
    });
    const fetch = httpsToLoopback({ 'idp.example.test': server.origin });
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      fetch,
    });
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ iss: issuer.issuer });
    expect(server.totalHits()).toBe(2);
  });
});

describe('domain shorthand', () => {
  for (const domain of ['tenant.example.test', 'https://tenant.example.test/', 'TENANT.example.test']) {
    it(`${domain}: issuer https://tenant.example.test/, keys from /.well-known/jwks.json, no discovery`, async () => {
      const { server, issuer } = await setup({
        issuer: 'https://tenant.example.test/',
        jwksPath: '/.well-known/jwks.json',
        metadata: 'oidc',
      });
      const fetch = httpsToLoopback({ 'tenant.example.test': server.origin });
      const verifier = createVerifier({ domain, audience: AUDIENCE, algorithms: ['ES256'], fetch });
      await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({
        iss: 'https://tenant.example.test/',
      });
      expect(server.hits()).toBe(1);
      expect(server.totalHits()).toBe(1);
      const other = await createTestIssuer({
        issuer: 'https://tenant.example.test',
        audience: AUDIENCE,
        algorithm: 'ES256',
      });
      const error = await rejection(verifier.verify(await other.sign()));
      expect(error).toMatchObject({ status: 401, reason: 'invalid_issuer', wwwAuthenticate: INVALID_TOKEN });
    });
  }
});

describe('several issuers (SECURITY.md #38)', () => {
  async function twoIssuers() {
    const a = await setup({ issuer: 'https://a.example.test/' });
    const b = await setup({ issuer: 'https://b.example.test/' });
    const calls: string[] = [];
    const route = httpsToLoopback({ 'a.example.test': a.server.origin, 'b.example.test': b.server.origin });
    const fetch: FetchLike = (url, init) => {
      calls.push(url);
      return route(url, init);
    };
    return { a, b, calls, fetch };
  }

  it('an iss outside the list makes no network call and is invalid_issuer', async () => {
    const { a, b, calls, fetch } = await twoIssuers();
    const verifier = createVerifier({
      issuers: [
        { issuer: a.issuer.issuer, jwksUri: 'https://a.example.test/keys/jwks.json' },
        { issuer: b.issuer.issuer, jwksUri: 'https://b.example.test/keys/jwks.json' },
      ],
      audience: AUDIENCE,
      algorithms: ['ES256'],
      fetch,
    });
    const stranger = await createTestIssuer({
      issuer: 'https://c.example.test/',
      audience: AUDIENCE,
      algorithm: 'ES256',
    });
    for (const token of [
      await stranger.sign(),
      await a.issuer.sign({ iss: 'https://a.example.test' }),
      await a.issuer.sign({ iss: ['https://a.example.test/'] }),
      await a.issuer.sign({ iss: undefined }),
    ]) {
      const error = await rejection(verifier.verify(token));
      expect(error).toMatchObject({
        status: 401,
        code: 'UNAUTHORIZED',
        reason: 'invalid_issuer',
        wwwAuthenticate: INVALID_TOKEN,
      });
    }
    expect(calls).toEqual([]);
    expect(a.server.totalHits() + b.server.totalHits()).toBe(0);
  });

  it('keys of issuer B never verify a token claiming issuer A', async () => {
    const { a, b, calls, fetch } = await twoIssuers();
    const verifier = createVerifier({
      issuers: [
        { issuer: a.issuer.issuer, jwksUri: 'https://a.example.test/keys/jwks.json' },
        { issuer: b.issuer.issuer, jwksUri: 'https://b.example.test/keys/jwks.json' },
      ],
      audience: AUDIENCE,
      algorithms: ['ES256'],
      fetch,
    });
    // Both issuers name their first key `test-key-1`: B's token relabelled as A's finds A's key
    // of that kid, whose signature check fails.
    const claimingA = await b.issuer.sign({ iss: a.issuer.issuer });
    expect(await rejection(verifier.verify(claimingA))).toMatchObject({
      status: 401,
      reason: 'invalid_signature',
      wwwAuthenticate: INVALID_TOKEN,
    });
    // A kid only B has is unknown to A.
    await b.issuer.rotateKeys();
    const unknownToA = await b.issuer.sign({ iss: a.issuer.issuer });
    expect(await rejection(verifier.verify(unknownToA))).toMatchObject({
      status: 401,
      reason: 'unknown_key',
      wwwAuthenticate: INVALID_TOKEN,
    });
    expect(b.server.totalHits()).toBe(0);
    expect(calls.every((url) => url.startsWith('https://a.example.test/'))).toBe(true);
    // Each issuer's own tokens verify, each from its own keys.
    await expect(verifier.verify(await a.issuer.sign())).resolves.toMatchObject({ iss: a.issuer.issuer });
    await expect(verifier.verify(await b.issuer.sign())).resolves.toMatchObject({ iss: b.issuer.issuer });
    expect(b.server.hits()).toBe(1);
  });

  it('per-issuer audience and algorithms apply to that issuer only', async () => {
    const a = await createTestIssuer({
      issuer: 'https://a.example.test/',
      audience: 'aud-a',
      algorithm: 'ES256',
    });
    const b = await createTestIssuer({
      issuer: 'https://b.example.test/',
      audience: AUDIENCE,
      algorithm: 'EdDSA',
    });
    const verifier = createVerifier({
      issuers: [
        { issuer: a.issuer, jwks: a.jwks(), audience: 'aud-a', algorithms: ['ES256'] },
        { issuer: b.issuer, jwks: b.jwks(), algorithms: ['EdDSA'] },
      ],
      audience: AUDIENCE,
    });
    await expect(verifier.verify(await a.sign())).resolves.toMatchObject({ aud: 'aud-a' });
    await expect(verifier.verify(await b.sign())).resolves.toMatchObject({ aud: AUDIENCE });
    expect(await rejection(verifier.verify(await a.sign({ aud: AUDIENCE })))).toMatchObject({
      reason: 'invalid_audience',
    });
    expect(await rejection(verifier.verify(await b.sign({ aud: 'aud-a' })))).toMatchObject({
      reason: 'invalid_audience',
    });
    // B's algorithm is accepted by the verifier, but not for issuer A.
    const edAsA = await b.sign({ iss: a.issuer, aud: 'aud-a' });
    expect(await rejection(verifier.verify(edAsA))).toMatchObject({ reason: 'unsupported_algorithm' });
  });

  it('issuer as an array: each iss has its own key cache', async () => {
    const { server, issuer } = await setup({ issuer: 'https://one.example.test/', metadata: 'none' });
    const calls: string[] = [];
    const route = httpsToLoopback({ 'keys.example.test': server.origin });
    const verifier = createVerifier({
      issuer: ['https://one.example.test/', 'https://two.example.test/'],
      jwksUri: 'https://keys.example.test/keys/jwks.json',
      audience: AUDIENCE,
      algorithms: ['ES256'],
      fetch: (url, init) => {
        calls.push(url);
        return route(url, init);
      },
    });
    await verifier.verify(await issuer.sign());
    await verifier.verify(await issuer.sign({ iss: 'https://two.example.test/' }));
    expect(calls).toHaveLength(2);
    expect(server.hits()).toBe(2);
  });
});
