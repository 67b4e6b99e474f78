/**
 * redisKeyCache with real verifiers, a real redis-server and a real JWKS server on 127.0.0.1:
 * several verifiers stand for the instances of a fleet (each with its own Redis client). One
 * fetch per issuer for a cold fleet, a fleet-wide kid-miss cooldown, entries that cannot mint
 * tokens (SECURITY.md row proposed: "write access to the shared key cache"), and a Redis outage
 * that falls back to direct fetching, then recovers.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, createVerifier, type Verifier } from '../../src/core/index.js';
import { redisKeyCache } from '../../src/redis/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js';
import {
  connectClient,
  disconnect,
  type RedisServer,
  startRedisServer,
  type TestRedisClient,
} from '../helpers/redis-server.js';

const AUDIENCE = 'https://api.example.test';
const SECRET = 'a fleet-wide secret of at least 32 bytes, for tests';

let redisServer: RedisServer;
const clients: TestRedisClient[] = [];
const jwksServers: JwksServer[] = [];
const verifiers: Verifier[] = [];

beforeAll(async () => {
  redisServer = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(verifiers.splice(0).map((verifier) => verifier.close()));
  await Promise.all(jwksServers.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map(disconnect));
  await redisServer?.close();
});

async function client(): Promise<TestRedisClient> {
  const { client } = await connectClient(redisServer.url);
  clients.push(client);
  return client;
}

let prefixCount = 0;

/** An issuer with its own key server and a Redis prefix of its own (tests do not share entries). */
async function setup(options: { metadata?: boolean } = {}) {
  const jwks: { current?: TestIssuer } = {};
  const server = await startJwksServer({
    jwks: () => (jwks.current as TestIssuer).jwks(),
    metadata: options.metadata ? 'oidc' : 'none',
  });
  jwksServers.push(server);
  const issuer = await createTestIssuer({ issuer: server.issuer, audience: AUDIENCE, algorithm: 'ES256' });
  jwks.current = issuer;
  const prefix = `t${process.pid}-${prefixCount++}:`;
  return { server, issuer, prefix };
}

type Timing = { cooldownMs?: number; cacheMaxAgeMs?: number; timeoutMs?: number; failureBackoffMs?: number };

async function instance(
  setupResult: { server: JwksServer; prefix: string },
  options: { discovery?: boolean; redis?: TestRedisClient; redisTimeoutMs?: number } & Timing = {},
): Promise<Verifier> {
  const { discovery, redis, redisTimeoutMs, ...timing } = options;
  const { server, prefix } = setupResult;
  const keyCache = redisKeyCache(redis ?? (await client()), {
    prefix,
    secret: SECRET,
    ...(redisTimeoutMs === undefined ? {} : { timeoutMs: redisTimeoutMs }),
  });
  const verifier = createVerifier({
    issuer: server.issuer,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    ...(discovery ? {} : { jwksUri: server.jwksUri }),
    allowInsecureLoopback: true,
    keyCache,
    ...timing,
  });
  verifiers.push(verifier);
  return verifier;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const UNKNOWN_KEY = { status: 401, reason: 'unknown_key' };
// The attacker's key may carry the issuer's kid (test issuers share a kid scheme): either way, 401.
const REFUSED = { status: 401, code: 'UNAUTHORIZED' };

describe('a fleet sharing one key cache', () => {
  it('a cold fleet with concurrent requests on every instance makes one JWKS fetch', async () => {
    const env = await setup();
    const fleet = await Promise.all([instance(env), instance(env), instance(env)]);
    const tokens = await Promise.all(Array.from({ length: 30 }, () => env.issuer.sign()));
    await Promise.all(tokens.map((token, i) => (fleet[i % 3] as Verifier).verify(token)));
    expect(env.server.hits()).toBe(1);
  });

  it('metadata and keys by discovery: one metadata fetch and one JWKS fetch for the fleet', async () => {
    const env = await setup({ metadata: true });
    const fleet = await Promise.all([1, 2, 3].map(() => instance(env, { discovery: true })));
    const tokens = await Promise.all(Array.from({ length: 30 }, () => env.issuer.sign()));
    await Promise.all(tokens.map((token, i) => (fleet[i % 3] as Verifier).verify(token)));
    expect(env.server.hits('/.well-known/openid-configuration')).toBe(1);
    expect(env.server.hits()).toBe(1);
  });

  it('entries are namespaced by the prefix and always carry a TTL of at most cacheMaxAgeMs', async () => {
    const env = await setup({ metadata: true });
    const redis = await client();
    const verifier = await instance(env, { discovery: true, redis, cacheMaxAgeMs: 60_000 });
    await verifier.verify(await env.issuer.sign());
    const keys = (await redis.keys(`${env.prefix}*`)).sort();
    expect(keys).toEqual([
      `${env.prefix}keys:jwks:${env.server.jwksUri}`,
      `${env.prefix}keys:metadata:${env.server.issuer}`,
    ]);
    for (const key of keys) {
      const ttl = await redis.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('a rotated key fetched by one instance is taken from the cache by the others', async () => {
    const env = await setup();
    const fleet = await Promise.all([1, 2, 3].map(() => instance(env, { cooldownMs: 200 })));
    await Promise.all(fleet.map(async (verifier) => verifier.verify(await env.issuer.sign())));
    expect(env.server.hits()).toBe(1);
    await sleep(250);
    await env.issuer.rotateKeys();
    const rotated = await env.issuer.sign();
    for (const verifier of fleet)
      await expect(verifier.verify(rotated)).resolves.toMatchObject({ aud: AUDIENCE });
    expect(env.server.hits()).toBe(2);
  });

  it('the unknown-kid cooldown is fleet-wide: random kids on every instance make one refetch', async () => {
    const env = await setup();
    const fleet = await Promise.all([1, 2, 3].map(() => instance(env, { cooldownMs: 300 })));
    await Promise.all(fleet.map(async (verifier) => verifier.verify(await env.issuer.sign())));
    await sleep(350);
    for (const [i, verifier] of fleet.entries()) {
      const forged = await env.issuer.sign({}, { header: { kid: `unknown-${i}` } });
      await expect(verifier.verify(forged)).rejects.toMatchObject(UNKNOWN_KEY);
    }
    expect(env.server.hits()).toBe(2);
  });
});

describe('write access to Redis cannot mint tokens (signed entries, checked as fetched ones)', () => {
  async function attacker(env: Awaited<ReturnType<typeof setup>>) {
    return createTestIssuer({ issuer: env.server.issuer, audience: AUDIENCE, algorithm: 'ES256' });
  }

  it("an unsigned forged key set holding the attacker's key is ignored: the attacker's token is refused", async () => {
    const env = await setup();
    const redis = await client();
    const evil = await attacker(env);
    const entry = `${env.prefix}keys:jwks:${env.server.jwksUri}`;
    await redis.set(entry, JSON.stringify(evil.jwks()), { expiration: { type: 'PX', value: 600_000 } });
    const warnings: string[] = [];
    const reader = redisKeyCache(redis, {
      prefix: env.prefix,
      secret: SECRET,
      logger: { warn: (message) => warnings.push(message) },
    });
    await expect(reader.get(`jwks:${env.server.jwksUri}`)).resolves.toBeNull();
    expect(warnings).toEqual(['scopegate: a key cache entry is not a scopegate entry; ignored']);
    const verifier = await instance(env, { redis });
    await expect(verifier.verify(await evil.sign())).rejects.toMatchObject(REFUSED);
    await expect(verifier.verify(await env.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
    expect(env.server.hits()).toBe(1);
    // The forged entry was replaced by the fetched, signed one.
    expect(await redis.get(entry)).toMatch(/^v1\./);
  });

  it('a genuine entry whose body was swapped for the attacker key set fails its signature', async () => {
    const env = await setup();
    const redis = await client();
    const evil = await attacker(env);
    const warm = await instance(env, { redis });
    await warm.verify(await env.issuer.sign());
    const entry = `${env.prefix}keys:jwks:${env.server.jwksUri}`;
    const genuine = (await redis.get(entry)) as string;
    const head = (/^v1\.\d+\.\d+\.[\w-]+\./.exec(genuine) as RegExpExecArray)[0];
    await redis.set(entry, `${head}${JSON.stringify(evil.jwks())}`, {
      expiration: { type: 'PX', value: 600_000 },
    });
    const cold = await instance(env, { redis });
    await expect(cold.verify(await evil.sign())).rejects.toMatchObject(REFUSED);
    await expect(cold.verify(await env.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
  });

  it('a correctly signed entry is still checked as a fetched body: private members, size, issuer', async () => {
    const env = await setup({ metadata: true });
    const redis = await client();
    // Whoever holds the secret writes through the cache itself: the core checks still apply.
    const writer = redisKeyCache(redis, { prefix: env.prefix, secret: SECRET });
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateSet = { keys: [{ ...(await exportJWK(privateKey)), kid: 'evil', alg: 'ES256' }] };
    await writer.set(`jwks:${env.server.jwksUri}`, JSON.stringify(privateSet), 600_000);
    const oversized = JSON.stringify({ keys: [], padding: 'x'.repeat(70_000) });
    await writer.set(`metadata:${env.server.issuer}`, oversized, 600_000);
    const verifier = await instance(env, { redis, discovery: true });
    await expect(verifier.verify(await env.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
    expect(env.server.hits()).toBe(1);
    expect(env.server.hits('/.well-known/openid-configuration')).toBe(1);

    const other = await setup({ metadata: true });
    const otherWriter = redisKeyCache(redis, { prefix: other.prefix, secret: SECRET });
    // Metadata naming another issuer (with its jwks_uri) is refused as when fetched (SECURITY.md #39).
    await otherWriter.set(
      `metadata:${other.server.issuer}`,
      JSON.stringify({ issuer: 'https://evil.example/', jwks_uri: env.server.jwksUri }),
      600_000,
    );
    const second = await instance(other, { redis, discovery: true });
    await expect(second.verify(await other.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
    expect(other.server.hits('/.well-known/openid-configuration')).toBe(1);
  });

  it('redisKeyCache requires a secret of at least 32 bytes', async () => {
    const redis = await client();
    expect(() => redisKeyCache(redis, {} as never)).toThrow(
      new TypeError('"secret" option must be a string or Uint8Array of at least 32 bytes'),
    );
    expect(() => redisKeyCache(redis, { secret: 'short' })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: 'https://a/', audience: 'b', keyCache: {} as never })).toThrow(
      new TypeError(
        '"keyCache" option must be a key cache such as redisKeyCache(client) from scopegate/redis',
      ),
    );
  });
});

describe('Redis down or slow: the key cache falls back to direct fetching, then recovers', () => {
  it('a stalled Redis delays a cold start by at most its timeout', async () => {
    const env = await setup();
    const admin = await client();
    const verifier = await instance(env, { redisTimeoutMs: 200 });
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'WRITE']);
    try {
      const started = Date.now();
      await expect(verifier.verify(await env.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    }
  });

  it('Redis killed: verification keeps working and status() says so; restarted: the cache is used again', async () => {
    const env = await setup();
    const { client: redis, errors } = await connectClient(redisServer.url);
    clients.push(redis);
    const first = await instance(env, { redis });
    await first.verify(await env.issuer.sign());
    expect(env.server.hits()).toBe(1);
    expect((await first.status()).keyCache).toEqual({ reachable: true, error: null });

    await redisServer.kill();
    try {
      const cold = await instance(env, { redis });
      await expect(cold.verify(await env.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
      expect(env.server.hits()).toBe(2);
      await expect(first.verify(await env.issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
      const status = await cold.status();
      expect(status.keyCache?.reachable).toBe(false);
      expect(status.ready).toBe(true);
    } finally {
      await redisServer.restart();
    }
    const end = Date.now() + 5000;
    while (!redis.isReady && Date.now() < end) await sleep(50);
    expect(redis.isReady).toBe(true);
    // The restarted Redis is empty: one instance fetches and shares, the next one reads it.
    const a = await instance(env, { redis });
    const b = await instance(env, { redis });
    await a.verify(await env.issuer.sign());
    await b.verify(await env.issuer.sign());
    expect(env.server.hits()).toBe(3);
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('status() and close()', () => {
  it('status() reports per issuer the keys, their age and the last error', async () => {
    const env = await setup();
    const verifier = await instance(env, { failureBackoffMs: 60_000 });
    const before = await verifier.status();
    expect(before).toEqual({
      ready: false,
      issuers: [
        {
          issuer: env.server.issuer,
          source: 'remote',
          hasKeys: false,
          keysAgeMs: null,
          stale: false,
          lastError: null,
        },
      ],
      keyCache: { reachable: true, error: null },
    });
    await verifier.verify(await env.issuer.sign());
    const after = await verifier.status();
    expect(after.ready).toBe(true);
    expect(after.issuers[0]).toMatchObject({ hasKeys: true, stale: false, lastError: null });
    expect(after.issuers[0]?.keysAgeMs).toBeGreaterThanOrEqual(0);

    const broken = await setup();
    await broken.server.setBehaviour('error500');
    const failing = await instance(broken);
    await expect(failing.verify(await broken.issuer.sign())).rejects.toBeInstanceOf(AuthError);
    const status = await failing.status();
    expect(status.ready).toBe(false);
    expect(status.issuers[0]?.lastError?.message).toBe(`expected 200 OK, got 500 (${broken.server.jwksUri})`);
  });
});
