/**
 * A key cache shared by the instances of a fleet (`scopegate/redis` implements it): issuer
 * metadata and key sets fetched once per cache period for the whole fleet, not once per instance.
 *
 * The cache is an optimization, never a source of trust: what it returns goes through the checks
 * of a fetched body (size, JSON, public keys only, discovery `issuer`), so write access to the
 * store cannot mint tokens. When it fails or is slow, keys are fetched directly, as without it.
 */

/** A cached body and how long it has left to live. */
export interface KeyCacheEntry {
  readonly value: string;
  /** Remaining lifetime in ms (relative: never an absolute time from another clock). */
  readonly ttlMs: number;
}

/**
 * Shared storage for issuer metadata and key sets, with expiring locks. Every method may reject
 * (the store is down or slower than its own timeout): the verifier then fetches directly.
 * Implementations bound every call in time.
 */
export interface KeyCache {
  /** The entry under `key`, or null. */
  get(key: string): Promise<KeyCacheEntry | null>;
  /** Stores `value` under `key` for `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Takes the lock `key` for `ttlMs` when free: a token to release it with, or null when held. */
  acquire(key: string, ttlMs: number): Promise<string | null>;
  /** Releases a lock taken with `acquire`, only if `token` still holds it. */
  release(key: string, token: string): Promise<void>;
  /** Whether the lock `key` is held. */
  isLocked(key: string): Promise<boolean>;
  /** Resolves when the store answers (readiness probes). */
  ping(): Promise<void>;
}

/** Validates the `keyCache` option. @throws TypeError naming it */
export function keyCacheOption(value: unknown): KeyCache | undefined {
  if (value === undefined) return undefined;
  const cache = value as Partial<Record<keyof KeyCache, unknown>> | null;
  const methods = ['get', 'set', 'acquire', 'release', 'isLocked', 'ping'] as const;
  if (
    typeof cache !== 'object' ||
    cache === null ||
    methods.some((name) => typeof cache[name] !== 'function')
  ) {
    throw new TypeError(
      '"keyCache" option must be a key cache such as redisKeyCache(client) from scopegate/redis',
    );
  }
  return value as KeyCache;
}

/** A body obtained through the cache (or directly), already validated by `parse`. */
export interface Loaded<T> {
  readonly value: T;
  readonly text: string;
  /** How long it stays fresh from now. */
  readonly ttlMs: number;
}

export interface SharedLoad<T> {
  readonly key: string;
  readonly maxAgeMs: number;
  /** How long a lock holder may take (its fetch deadline plus a margin); waiters wait as long. */
  readonly lockMs: number;
  /** Whether a shared copy is worth taking (e.g. not the copy an unknown `kid` was missing from). */
  readonly accept: (text: string) => boolean;
  /** Fetches the body from the issuer. */
  readonly fetch: () => Promise<string>;
  /** The checks of a fetched body: throws when `text` is not acceptable. */
  readonly parse: (text: string) => T;
  /** False: only wait for another instance's fetch (a fleet-wide cooldown is running). */
  readonly mayFetch: boolean;
  /** The cache failed: reported, then the load goes on without it. */
  readonly onCacheError: (error: unknown) => void;
  readonly signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/**
 * Loads a body through the shared cache with a fleet-wide single flight: a fresh shared copy is
 * used; otherwise the instance that takes the lock fetches and shares, and the others wait for
 * its copy (up to `lockMs`). Without a cache, or when it fails, the body is fetched directly.
 * Answers null only when `mayFetch` is false and no new copy appeared.
 */
export async function loadShared<T>(
  cache: KeyCache | undefined,
  load: SharedLoad<T>,
): Promise<Loaded<T> | null> {
  const direct = async (): Promise<Loaded<T>> => {
    const text = await load.fetch();
    return { value: load.parse(text), text, ttlMs: load.maxAgeMs };
  };
  if (!cache) return load.mayFetch ? direct() : null;

  const lockKey = `lock:${load.key}`;
  // A shared copy that fails the checks is ignored (and replaced by the next fetch): it never verifies.
  const take = (entry: KeyCacheEntry | null): Loaded<T> | null => {
    if (!entry || !load.accept(entry.value)) return null;
    const value = load.parse(entry.value);
    return { value, text: entry.value, ttlMs: Math.min(entry.ttlMs, load.maxAgeMs) };
  };
  const takeOrNull = (entry: KeyCacheEntry | null): Loaded<T> | null => {
    try {
      return take(entry);
    } catch (error) {
      load.onCacheError(error);
      return null;
    }
  };

  let token: string | null;
  try {
    const shared = takeOrNull(await cache.get(load.key));
    if (shared) return shared;
    token = load.mayFetch ? await cache.acquire(lockKey, load.lockMs) : null;
  } catch (error) {
    load.onCacheError(error);
    return load.mayFetch ? direct() : null;
  }

  if (token !== null) {
    const held = token;
    try {
      // Double-checked: another instance may have shared its copy (and released its lock) between
      // our read and our lock; fetching again would cost the issuer a second request.
      const shared = takeOrNull(
        await cache.get(load.key).catch((error: unknown) => {
          load.onCacheError(error);
          return null;
        }),
      );
      if (shared) return shared;
      const loaded = await direct();
      await cache.set(load.key, loaded.text, load.maxAgeMs).catch(load.onCacheError);
      return loaded;
    } finally {
      cache.release(lockKey, held).catch(load.onCacheError);
    }
  }

  // Another instance is fetching: wait for its copy while its lock lives.
  const deadline = Date.now() + load.lockMs;
  for (let attempt = 0; Date.now() < deadline && !load.signal.aborted; attempt++) {
    await sleep(Math.min(200, 10 * 2 ** attempt, Math.max(0, deadline - Date.now())), load.signal);
    let entry: KeyCacheEntry | null;
    let locked: boolean;
    try {
      // The lock first, then the copy: the holder writes its copy before it releases the lock,
      // so a released lock and no copy means its fetch failed (read in parallel, a copy written
      // between the two reads would be missed and fetched a second time).
      locked = await cache.isLocked(lockKey);
      entry = await cache.get(load.key);
    } catch (error) {
      load.onCacheError(error);
      break;
    }
    const shared = takeOrNull(entry);
    if (shared) return shared;
    if (!locked) break;
  }
  return load.mayFetch ? direct() : null;
}
