/**
 * State a fleet of instances must share, kept in Redis through the official `redis` client
 * (node-redis, an optional peer): used DPoP proofs (`redisReplayStore`) and issuer metadata and
 * key sets (`redisKeyCache`).
 *
 * Every Redis call is bounded by scopegate's own timeout: node-redis queues commands while it is
 * disconnected, so a Redis outage must not turn into requests that hang. A disconnected client is
 * not even asked (its offline queue would only grow).
 * @module scopegate/redis
 */
import { createHmac, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ReplayStore } from '../core/dpop/replay-store.js';
import type { KeyCache, KeyCacheEntry } from '../core/key-cache.js';
import type { Logger } from '../core/key-ring.js';

/** The part of a node-redis client (v5, v6: `createClient()`) that scopegate uses. */
export interface RedisClientLike {
  sendCommand(args: string[], options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  /** node-redis: false while (re)connecting; commands are then refused at once. */
  readonly isReady?: boolean;
  listenerCount?(event: 'error'): number;
}

export interface RedisStoreOptions {
  /** Prepended to every key, to share one Redis between applications. @default 'scopegate:' */
  readonly prefix?: string;
  /** Longest wait for one Redis call, after which it counts as failed. @default 500 */
  readonly timeoutMs?: number;
}

/** Redis did not answer in time, is disconnected, or answered with an error. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

interface Connection {
  readonly prefix: string;
  call(args: string[]): Promise<unknown>;
}

const DEFAULT_TIMEOUT_MS = 500;

function connection(client: unknown, options: RedisStoreOptions | undefined, fn: string): Connection {
  const redis = client as RedisClientLike | null;
  if (typeof redis !== 'object' || redis === null || typeof redis.sendCommand !== 'function') {
    throw new TypeError(`${fn}(client): "client" must be a node-redis client (createClient() from 'redis')`);
  }
  // Without an 'error' listener, node-redis emits errors that end the process.
  if (typeof redis.listenerCount === 'function' && redis.listenerCount('error') === 0) {
    throw new TypeError(
      `${fn}(client): "client" needs an 'error' listener (client.on('error', log)): without one, a Redis outage ends the process`,
    );
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${fn}(client, options): "options" must be an object`);
  }
  const prefix = options?.prefix ?? 'scopegate:';
  if (typeof prefix !== 'string') throw new TypeError('"prefix" option must be a string');
  const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('"timeoutMs" option must be a positive finite number');
  }
  return {
    prefix,
    async call(args) {
      if (redis.isReady === false) throw new RedisUnavailableError('Redis is not connected');
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Aborting takes the command out of node-redis's queue if it was not sent yet.
          controller.abort();
          reject(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      const reply = redis.sendCommand(args, { abortSignal: controller.signal });
      try {
        return await Promise.race([reply, deadline]);
      } catch (cause) {
        if (cause instanceof RedisUnavailableError) throw cause;
        throw new RedisUnavailableError('Redis failed', { cause });
      } finally {
        clearTimeout(timer);
        reply.catch(() => {});
      }
    },
  };
}

/** The replay store of `scopegate/redis`, plus a ping for readiness probes. */
export interface RedisReplayStore extends ReplayStore {
  claim(key: string, expiresAt: number): Promise<boolean>;
  ping(): Promise<void>;
}

/**
 * A DPoP replay store shared by a fleet: a proof used on one instance is refused on every other.
 * One atomic `SET key 1 NX PX <ms left>` per proof; the expiry is relative, never an absolute
 * time (Redis's clock is not ours). Rejects with {@link RedisUnavailableError} when Redis is down
 * or slower than `timeoutMs`: the verifier then answers 503, never accepts the proof unchecked.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { redisReplayStore } from 'scopegate/redis';
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on('error', (error) => console.error('redis', error)); // required: see README
 * await client.connect();
 * const verifier = createVerifier({ ..., dpop: { replayStore: redisReplayStore(client) } });
 * ```
 * @throws TypeError for a missing client, a client without an 'error' listener, bad options
 */
export function redisReplayStore(client: RedisClientLike, options?: RedisStoreOptions): RedisReplayStore {
  const redis = connection(client, options, 'redisReplayStore');
  const namespace = `${redis.prefix}dpop:`;
  return {
    async claim(key, expiresAt) {
      const ms = Math.max(1, Math.ceil(expiresAt - Date.now()));
      const reply = await redis.call(['SET', namespace + key, '1', 'NX', 'PX', String(ms)]);
      return reply === 'OK';
    },
    async ping() {
      await redis.call(['PING']);
    },
  };
}

export interface RedisKeyCacheOptions extends RedisStoreOptions {
  /**
   * A secret shared by the fleet (at least 32 bytes): every entry is signed with it (HMAC-SHA256),
   * and an entry that does not verify is ignored. Required: without it, anyone able to write to
   * Redis could publish their own key set and mint tokens.
   */
  readonly secret: string | Uint8Array;
  /** Told about entries that fail their signature (someone else writes there): they are ignored. */
  readonly logger?: Logger;
}

// Deletes a lock only while it is still ours (it may have expired and been taken by another).
const RELEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

const MIN_SECRET_BYTES = 32;

/**
 * Issuer metadata and key sets shared by a fleet (the `keyCache` verifier option): one fetch per
 * issuer and cache period for the whole fleet, one refetch per kid-miss cooldown, and a lock with
 * an expiry so a cold fleet makes one fetch. Entries are signed with `secret`, and what is read
 * back is also checked as a fetched body (size, JSON, public keys only, discovery `issuer`), so
 * write access to Redis cannot mint tokens. Redis down or slow: each instance fetches directly.
 *
 * @example
 * ```ts
 * const keyCache = redisKeyCache(client, { secret: process.env.SCOPEGATE_CACHE_SECRET });
 * const verifier = createVerifier({ domain, audience, keyCache });
 * ```
 * @throws TypeError for a missing client, a client without an 'error' listener, a short secret
 */
export function redisKeyCache(client: RedisClientLike, options: RedisKeyCacheOptions): KeyCache {
  const redis = connection(client, options, 'redisKeyCache');
  const secret = options.secret;
  const secretBytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (!(secretBytes instanceof Uint8Array) || secretBytes.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(
      `"secret" option must be a string or Uint8Array of at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  const hmacKey = createSecretKey(Buffer.from(secretBytes));
  const name = (key: string) => `${redis.prefix}keys:${key}`;
  // The signature covers the key name too: a genuine entry cannot be moved under another issuer.
  const mac = (key: string, issuedAt: string, ttl: string, body: string) =>
    createHmac('sha256', hmacKey)
      .update(`${name(key)}\n${issuedAt}\n${ttl}\n${body}`)
      .digest('base64url');

  const ignore = (key: string, problem: string): null => {
    options.logger?.warn(`scopegate: a key cache entry ${problem}; ignored`, { key: name(key) });
    return null;
  };

  return {
    async get(key): Promise<KeyCacheEntry | null> {
      const [stored, pttl] = await Promise.all([
        redis.call(['GET', name(key)]),
        redis.call(['PTTL', name(key)]),
      ]);
      if (stored === null) return null;
      // v1.<issuedAt>.<ttl>.<mac>.<body>
      const match =
        typeof stored === 'string' ? /^v1\.(\d{1,16})\.(\d{1,16})\.([\w-]{43})\./.exec(stored) : null;
      // A forged or foreign entry counts as missing: the next fetch replaces it.
      if (!match) return ignore(key, 'is not a scopegate entry');
      const [head, issuedAt, ttl, signature] = match as unknown as [string, string, string, string];
      const body = (stored as string).slice(head.length);
      const expected = Buffer.from(mac(key, issuedAt, ttl, body));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        return ignore(key, 'has a wrong signature');
      }
      // The remaining life: the signed one (Redis's own TTL can be extended by whoever writes there).
      const left = Math.min(Number(issuedAt) + Number(ttl) - Date.now(), typeof pttl === 'number' ? pttl : 0);
      if (left <= 0) return null;
      return { value: body, ttlMs: left };
    },
    async set(key, value, ttlMs) {
      const ttl = String(Math.max(1, Math.ceil(ttlMs)));
      const issuedAt = String(Date.now());
      const entry = `v1.${issuedAt}.${ttl}.${mac(key, issuedAt, ttl, value)}.${value}`;
      await redis.call(['SET', name(key), entry, 'PX', ttl]);
    },
    async acquire(key, ttlMs) {
      const token = randomUUID();
      const reply = await redis.call([
        'SET',
        name(key),
        token,
        'NX',
        'PX',
        String(Math.max(1, Math.ceil(ttlMs))),
      ]);
      return reply === 'OK' ? token : null;
    },
    async release(key, token) {
      await redis.call(['EVAL', RELEASE, '1', name(key), token]);
    },
    async isLocked(key) {
      return (await redis.call(['EXISTS', name(key)])) === 1;
    },
    async ping() {
      await redis.call(['PING']);
    },
  };
}
