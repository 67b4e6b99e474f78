/**
 * redisReplayStore against a real redis-server on 127.0.0.1 (SECURITY.md #86, #94): one atomic
 * claim wins across clients, every key has a relative TTL under its prefix, and an outage or a
 * stalled Redis rejects within scopegate's timeout (the verifier's 503), then recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisUnavailableError, redisReplayStore } from '../../src/redis/index.js';
import {
  connectClient,
  disconnect,
  type RedisServer,
  startRedisServer,
  type TestRedisClient,
} from '../helpers/redis-server.js';

let server: RedisServer;
const clients: TestRedisClient[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map(disconnect));
  await server?.close();
});

async function client(): Promise<TestRedisClient> {
  const { client } = await connectClient(server.url);
  clients.push(client);
  return client;
}

/** Polls `probe` until it resolves true, at most `limitMs`. */
async function eventually(probe: () => Promise<boolean>, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not true within ${limitMs} ms`);
}

let n = 0;
const freshKey = () => `proof-${process.pid}-${Date.now()}-${n++}`;

describe('redisReplayStore: the claim (SECURITY.md #86)', () => {
  it('two clients claiming the same key concurrently: exactly one wins', async () => {
    const a = redisReplayStore(await client());
    const b = redisReplayStore(await client());
    for (let round = 0; round < 5; round++) {
      const key = freshKey();
      const expiresAt = Date.now() + 60_000;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim(key, expiresAt)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it('a claimed key is refused until it expires, then free again (relative PX expiry)', async () => {
    const store = redisReplayStore(await client());
    const key = freshKey();
    await expect(store.claim(key, Date.now() + 300)).resolves.toBe(true);
    await expect(store.claim(key, Date.now() + 300)).resolves.toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(store.claim(key, Date.now() + 300)).resolves.toBe(true);
  });

  it('every key is written under the prefix with a TTL no longer than the time left', async () => {
    const redis = await client();
    const store = redisReplayStore(redis, { prefix: 'app1:' });
    const key = freshKey();
    const before = Date.now();
    await store.claim(key, before + 30_000);
    const ttl = await redis.pTTL(`app1:dpop:${key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await redis.exists(`scopegate:dpop:${key}`)).toBe(0);
    // An expiry already past still gets a TTL (1 ms), never a key that lives forever.
    const late = freshKey();
    await store.claim(late, Date.now() - 1000);
    expect(await redis.pTTL(`app1:dpop:${late}`)).not.toBe(-1);
  });

  it('prefixes are separate namespaces', async () => {
    const redis = await client();
    const key = freshKey();
    const expiresAt = Date.now() + 60_000;
    await expect(redisReplayStore(redis, { prefix: 'one:' }).claim(key, expiresAt)).resolves.toBe(true);
    await expect(redisReplayStore(redis, { prefix: 'two:' }).claim(key, expiresAt)).resolves.toBe(true);
    await expect(redisReplayStore(redis).claim(key, expiresAt)).resolves.toBe(true);
    await expect(redisReplayStore(redis).claim(key, expiresAt)).resolves.toBe(false);
  });
});

describe('redisReplayStore: setup mistakes are TypeErrors', () => {
  it('names what is wrong', async () => {
    const redis = await client();
    expect(() => redisReplayStore({} as never)).toThrow(
      new TypeError(
        `redisReplayStore(client): "client" must be a node-redis client (createClient() from 'redis')`,
      ),
    );
    expect(() => redisReplayStore(redis, { timeoutMs: 0 })).toThrow(
      new TypeError('"timeoutMs" option must be a positive finite number'),
    );
    expect(() => redisReplayStore(redis, { prefix: 5 as never })).toThrow(
      new TypeError('"prefix" option must be a string'),
    );
  });

  it("refuses a client without an 'error' listener (node-redis errors would end the process)", async () => {
    const { createClient } = await import('redis');
    const bare = createClient({ url: server.url });
    expect(() => redisReplayStore(bare)).toThrow(/needs an 'error' listener/);
  });
});

describe('redisReplayStore: Redis down or slow (SECURITY.md #94)', () => {
  it('a stalled Redis: claim rejects within timeoutMs, never resolves true', async () => {
    const redis = await client();
    const admin = await client();
    const store = redisReplayStore(redis, { timeoutMs: 200 });
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'WRITE']);
    try {
      const started = Date.now();
      const outcome = await store.claim(freshKey(), Date.now() + 60_000).catch((error: unknown) => error);
      expect(outcome).toBeInstanceOf(RedisUnavailableError);
      expect((outcome as Error).message).toBe('Redis did not answer within 200 ms');
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    }
  });

  it('Redis killed: claim rejects at once; restarted: claims work again', async () => {
    const { client: redis, errors } = await connectClient(server.url);
    clients.push(redis);
    const store = redisReplayStore(redis, { timeoutMs: 300 });
    await expect(store.claim(freshKey(), Date.now() + 60_000)).resolves.toBe(true);
    await server.kill();
    try {
      const started = Date.now();
      const outcome = await store.claim(freshKey(), Date.now() + 60_000).catch((error: unknown) => error);
      expect(outcome).toBeInstanceOf(RedisUnavailableError);
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(store.ping()).rejects.toBeInstanceOf(RedisUnavailableError);
    } finally {
      await server.restart();
    }
    await eventually(() => store.claim(freshKey(), Date.now() + 60_000));
    // The errors went to the client's listener, not to an unhandled rejection.
    expect(errors.length).toBeGreaterThan(0);
  });
});
