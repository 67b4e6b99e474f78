/**
 * Where an issuer's verification keys come from: a static JWKS, an HMAC secret, or a remote JWKS
 * (given, or found by discovery). Every source answers `cached()` synchronously when it can, so a
 * verification with known keys never waits on a promise for its key.
 */
import type { Algorithm, VerificationKey } from './algorithms.js';
import { shown } from './claims.js';
import type { Engine } from './engine.js';
import { AuthError } from './errors.js';
import { fetchBody, type HttpLimits, IssuerFetchError, isAllowedUrl, parseJsonBody } from './http.js';
import { jwkProblem } from './jwk-usability.js';
import { type KeyCache, type Loaded, loadShared } from './key-cache.js';
import { KeyRing, type Logger } from './key-ring.js';

export interface KeySource {
  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined;
  /** @throws AuthError `unknown_key` or `issuer_unavailable` */
  resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]>;
  warmup(): Promise<void>;
  status(): KeySourceStatus;
  /** Stops background work. */
  close?(): Promise<void>;
}

export class StaticKeySource implements KeySource {
  readonly #ring: KeyRing;

  constructor(ring: KeyRing) {
    this.#ring = ring;
  }

  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined {
    return this.#ring.cached(alg, kid);
  }

  async resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const keys = await this.#ring.resolve(alg, kid);
    if (keys.length === 0) throw new AuthError('unknown_key', { detail: noKeyDetail('static', alg, kid) });
    return keys;
  }

  async warmup(): Promise<void> {}

  status(): KeySourceStatus {
    return STATIC_STATUS('static');
  }
}

/** An HMAC secret. A `kid` in the token is ignored: there is exactly one key. */
export class SecretKeySource implements KeySource {
  readonly #keys = new Map<Algorithm, readonly VerificationKey[]>();
  readonly #secret: Uint8Array;
  readonly #algorithms: readonly Algorithm[];
  readonly #engine: Engine;

  constructor(secret: Uint8Array, algorithms: readonly Algorithm[], engine: Engine) {
    this.#secret = secret;
    this.#algorithms = algorithms;
    this.#engine = engine;
    for (const alg of algorithms) {
      const key = engine.fromSecret(secret, alg);
      if (!(key instanceof Promise)) this.#keys.set(alg, [key]);
    }
  }

  cached(alg: Algorithm): readonly VerificationKey[] | undefined {
    return this.#keys.get(alg);
  }

  async resolve(alg: Algorithm): Promise<readonly VerificationKey[]> {
    let keys = this.#keys.get(alg);
    if (!keys) {
      keys = [await this.#engine.fromSecret(this.#secret, alg)];
      this.#keys.set(alg, keys);
    }
    return keys;
  }

  async warmup(): Promise<void> {
    await Promise.all(this.#algorithms.map((alg) => this.resolve(alg)));
  }

  status(): KeySourceStatus {
    return STATIC_STATUS('secret');
  }
}

/** `unknown_key` detail: which key was looked for, in which set. */
function noKeyDetail(set: 'static' | 'fetched', alg: Algorithm, kid: unknown): string {
  const wanted = kid === undefined ? 'no kid' : `kid ${JSON.stringify(kid)?.slice(0, 80)}`;
  return `key: no usable ${alg} key with ${wanted} in the ${set} key set`;
}

/** True when a fetch failure is a configuration mistake that retrying will not heal. */
function isSetupMistake(error: unknown): boolean {
  return error instanceof IssuerFetchError && error.setupMistake;
}

/** A fetch failure and its causes in one line, for details and logs (URLs, never tokens). */
export function describeFailure(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof AggregateError) {
      parts.push(current.errors.map((inner) => describeFailure(inner)).join('; '));
      break;
    }
    const message = current instanceof Error ? current.message : String(current);
    const url = (current as { url?: unknown }).url;
    parts.push(typeof url === 'string' && url && !message.includes(url) ? `${message} (${url})` : message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}

export interface RemoteTiming {
  readonly cacheMaxAgeMs: number;
  readonly cooldownMs: number;
  readonly failureBackoffMs: number;
}

/** Finds the JWKS URL: fixed (`jwksUri`, `domain`) or by discovery. */
export type JwksLocator = (signal: AbortSignal) => Promise<string>;

/** What `verifier.status()` reports of one issuer's keys. */
export interface KeySourceStatus {
  /** Where the keys come from. */
  readonly source: 'remote' | 'static' | 'secret';
  /** Whether keys are loaded (remote: fetched at least once; always true otherwise). */
  readonly hasKeys: boolean;
  /** Age of the loaded key set in ms (null: static, secret, or never fetched). */
  readonly keysAgeMs: number | null;
  /** True once the keys passed `cacheMaxAgeMs` (they still serve while the refresh runs). */
  readonly stale: boolean;
  /** The last failed fetch, if the latest attempt failed (server-side text: URLs, causes). */
  readonly lastError: { readonly message: string; readonly at: number } | null;
}

const STATIC_STATUS = (source: 'static' | 'secret'): KeySourceStatus =>
  Object.freeze({ source, hasKeys: true, keysAgeMs: null, stale: false, lastError: null });

// Extra lifetime of a shared fetch lock beyond the fetch deadline (the share itself, a slow store).
const LOCK_MARGIN_MS = 2000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A remote JWKS with the policy of SECURITY.md D: concurrent misses share one fetch (fleet-wide
 * with a key cache); an unknown kid refetches at most once per cooldown (fleet-wide with a key
 * cache); after a failure, requests needing a fetch are answered 503 at once until the backoff
 * window ends (then one retry); keys past their max age keep serving while a background refresh
 * runs (stale while revalidate: only an unknown kid waits for it) and when the refresh fails.
 */
export class RemoteKeySource implements KeySource {
  readonly #locate: JwksLocator;
  readonly #http: HttpLimits;
  readonly #timing: RemoteTiming;
  readonly #engine: Engine;
  readonly #logger: Logger | undefined;
  readonly #setupLogger: Logger | undefined;
  readonly #algorithms: readonly Algorithm[] | undefined;
  readonly #issuer: string | undefined;
  // Setup mistakes already reported (by message): each is logged once per issuer and cause.
  readonly #reported = new Set<string>();
  readonly #allowInsecureLoopback: boolean;
  readonly #cache: KeyCache | undefined;
  readonly #closer = new AbortController();
  #ring: KeyRing | null = null;
  #text: string | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #freshUntil = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;
  #lastFailure: unknown;
  #pending: Promise<void> | null = null;

  constructor(options: {
    locate: JwksLocator;
    http: HttpLimits;
    timing: RemoteTiming;
    engine: Engine;
    allowInsecureLoopback: boolean;
    logger: Logger | undefined;
    /** Receives setup mistakes that never heal, once each. */
    setupLogger?: Logger | undefined;
    /** The issuer's algorithms: a key set with no key usable with them is a setup mistake. */
    algorithms?: readonly Algorithm[];
    issuer?: string;
    keyCache?: KeyCache | undefined;
  }) {
    this.#locate = options.locate;
    this.#http = options.http;
    this.#timing = options.timing;
    this.#engine = options.engine;
    this.#allowInsecureLoopback = options.allowInsecureLoopback;
    this.#logger = options.logger;
    this.#setupLogger = options.setupLogger;
    this.#algorithms = options.algorithms;
    this.#issuer = options.issuer;
    this.#cache = options.keyCache;
  }

  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined {
    const keys = this.#ring?.cached(alg, kid);
    if (keys && Date.now() >= this.#freshUntil) this.#revalidate();
    return keys;
  }

  async resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const ring = this.#ring;
    const now = Date.now();
    const fresh = now < this.#freshUntil;
    if (ring) {
      const keys = await ring.resolve(alg, kid);
      if (keys.length > 0) {
        if (!fresh) this.#revalidate();
        return keys;
      }
    }
    // An unknown kid (or no keys yet): this request has to wait for a fetch.
    if (!this.#pending) {
      if (this.#inBackoff(now) || this.#closer.signal.aborted) throw this.#unavailable();
      if (ring && fresh && now - this.#attemptedAt < this.#timing.cooldownMs) {
        throw new AuthError('unknown_key', {
          detail: `${noKeyDetail('fetched', alg, kid)} (no refetch: cooldownMs ${this.#timing.cooldownMs} since the last fetch)`,
        });
      }
    }
    try {
      await this.#refresh(ring && fresh ? 'unknown-kid' : 'expired');
    } catch {
      throw this.#unavailable();
    }
    const keys = await (this.#ring as KeyRing | null)?.resolve(alg, kid);
    if (!keys || keys.length === 0) {
      throw new AuthError('unknown_key', { detail: `${noKeyDetail('fetched', alg, kid)}, after a refetch` });
    }
    return keys;
  }

  async warmup(): Promise<void> {
    if (this.#ring && Date.now() < this.#freshUntil) return;
    try {
      await this.#refresh('expired');
    } catch {
      throw this.#unavailable();
    }
  }

  status(): KeySourceStatus {
    const now = Date.now();
    const failed = this.#failedAt >= this.#fetchedAt;
    return {
      source: 'remote',
      hasKeys: this.#ring !== null,
      keysAgeMs: this.#ring ? Math.max(0, now - this.#fetchedAt) : null,
      stale: this.#ring !== null && now >= this.#freshUntil,
      lastError:
        failed && this.#lastFailure !== undefined
          ? {
              message: String((this.#lastFailure as Error)?.message ?? this.#lastFailure),
              at: this.#failedAt,
            }
          : null,
    };
  }

  /** Stops background work: in-flight fetches are abandoned, no refresh starts again. */
  async close(): Promise<void> {
    this.#closer.abort();
    await this.#pending?.catch(() => {});
  }

  #inBackoff(now: number): boolean {
    return now - this.#failedAt < this.#timing.failureBackoffMs;
  }

  #unavailable(): AuthError {
    const failure = this.#lastFailure;
    return new AuthError('issuer_unavailable', {
      cause: failure,
      detail: `keys: ${this.#closer.signal.aborted ? 'the verifier is closed' : `fetch failed: ${describeFailure(failure)}`}`,
    });
  }

  // Stale while revalidate: the keys at hand keep serving, the refresh runs in the background.
  #revalidate(): void {
    if (this.#pending || this.#closer.signal.aborted || this.#inBackoff(Date.now())) return;
    this.#refresh('expired').catch(() => {});
  }

  #refresh(reason: 'expired' | 'unknown-kid'): Promise<void> {
    if (!this.#pending) {
      this.#attemptedAt = Date.now();
      this.#pending = this.#load(reason).finally(() => {
        this.#pending = null;
      });
    }
    return this.#pending;
  }

  #onCacheError = (error: unknown): void => {
    this.#logger?.warn('scopegate: the key cache failed; fetching directly', { cause: error });
  };

  async #load(reason: 'expired' | 'unknown-kid'): Promise<void> {
    let url = '';
    const signal = this.#closer.signal;
    try {
      if (signal.aborted) throw new IssuerFetchError('the verifier was closed', url);
      url = await this.#locate(signal);
      if (!isAllowedUrl(url, this.#allowInsecureLoopback)) {
        throw new IssuerFetchError('the JWKS URL is not https', url, { setupMistake: true });
      }
      const cache = this.#cache;
      const key = `jwks:${url}`;
      let mayFetch = true;
      if (reason === 'unknown-kid' && cache) {
        // The kid-miss cooldown is fleet-wide: one instance refetches, the others take its copy.
        try {
          mayFetch = (await cache.acquire(`cooldown:${key}`, this.#timing.cooldownMs)) !== null;
        } catch (error) {
          this.#onCacheError(error);
        }
      }
      const current = this.#text;
      const loaded = await loadShared(cache, {
        key,
        maxAgeMs: this.#timing.cacheMaxAgeMs,
        lockMs: this.#http.timeoutMs + LOCK_MARGIN_MS,
        accept: reason === 'unknown-kid' ? (text) => text !== current : () => true,
        fetch: async () => {
          const bytes = await fetchBody(url, this.#http, signal);
          try {
            return utf8.decode(bytes);
          } catch (cause) {
            throw new IssuerFetchError('response is not JSON', url, { cause, setupMistake: true });
          }
        },
        parse: (text) => this.#parse(text, url),
        mayFetch,
        onCacheError: this.#onCacheError,
        signal,
      });
      if (!loaded) return;
      const now = Date.now();
      this.#ring = loaded.value;
      this.#text = loaded.text;
      this.#freshUntil = now + loaded.ttlMs;
      this.#fetchedAt = now - (this.#timing.cacheMaxAgeMs - loaded.ttlMs);
      this.#failedAt = Number.NEGATIVE_INFINITY;
    } catch (error) {
      this.#failedAt = Date.now();
      this.#lastFailure = error;
      if (!signal.aborted) this.#reportFailure(error, url);
      throw error;
    }
  }

  // A setup mistake is logged once per cause, even without a logger (console unless `logger: false`);
  // an outage goes to the logger at each failed fetch.
  #reportFailure(error: unknown, url: string): void {
    const issuer = this.#issuer;
    if (isSetupMistake(error)) {
      const detail = describeFailure(error);
      if (this.#reported.has(detail)) return;
      this.#reported.add(detail);
      this.#setupLogger?.warn(
        `scopegate: the keys of ${issuer ?? url} cannot be loaded, a setup mistake that will not heal: ${detail}`,
        { ...(issuer !== undefined && { issuer }), url, cause: error },
      );
      return;
    }
    this.#logger?.warn('scopegate: could not fetch the issuer keys', { url, cause: error });
  }

  // The checks of every key set, fetched or read from the key cache.
  #parse(text: string, url: string): KeyRing {
    const body = parseJsonBody(text, this.#http.maxBytes, url);
    let ring: KeyRing;
    try {
      ring = new KeyRing(body, this.#engine, this.#logger);
    } catch (cause) {
      throw new IssuerFetchError('the key set is not acceptable', url, { cause, setupMistake: true });
    }
    const algorithms = this.#algorithms;
    const keys = (body as { keys: Readonly<Record<string, unknown>>[] }).keys;
    if (algorithms && !keys.some((jwk) => jwkProblem(jwk, algorithms) === null)) {
      throw new IssuerFetchError(
        `the key set has no key usable with the configured algorithms [${algorithms.join(', ')}] (${keys.length} key(s))`,
        url,
        { setupMistake: true },
      );
    }
    return ring;
  }
}

export interface DiscoveryOptions {
  readonly issuer: string;
  readonly http: HttpLimits;
  readonly cacheMaxAgeMs: number;
  readonly allowInsecureLoopback: boolean;
  readonly keyCache?: KeyCache | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * OIDC discovery, then RFC 8414 metadata. The metadata's `issuer` must be exactly the configured
 * one (RFC 8414 3.3) and its `jwks_uri` https, or the issuer is treated as unavailable. The same
 * checks apply to metadata read from a key cache.
 */
export function discoveryLocator(options: DiscoveryOptions): JwksLocator {
  let found: { jwksUri: string; until: number } | null = null;
  const check = (text: string, url: string): string => {
    const metadata = parseJsonBody(text, options.http.maxBytes, url);
    const { issuer, jwks_uri: jwksUri } = (metadata ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    if (issuer !== options.issuer) {
      throw new IssuerFetchError(
        `the metadata "issuer" does not match the configured issuer: expected ${shown(options.issuer)}, the metadata says ${shown(issuer)}`,
        url,
        { setupMistake: true },
      );
    }
    if (typeof jwksUri !== 'string' || !isAllowedUrl(jwksUri, options.allowInsecureLoopback)) {
      throw new IssuerFetchError('the metadata "jwks_uri" is missing or not https', url, {
        setupMistake: true,
      });
    }
    return jwksUri;
  };
  return async (signal) => {
    if (found && Date.now() < found.until) return found.jwksUri;
    let source = options.issuer;
    const loaded = await loadShared(options.keyCache, {
      key: `metadata:${options.issuer}`,
      maxAgeMs: options.cacheMaxAgeMs,
      lockMs: options.http.timeoutMs * 2 + LOCK_MARGIN_MS,
      accept: () => true,
      fetch: async () => {
        const failures: unknown[] = [];
        for (const url of metadataUrls(options.issuer)) {
          try {
            const bytes = await fetchBody(url, options.http, signal);
            const text = utf8.decode(bytes);
            parseJsonBody(text, options.http.maxBytes, url);
            source = url;
            return text;
          } catch (error) {
            failures.push(error);
          }
        }
        throw new IssuerFetchError('no metadata document could be fetched', options.issuer, {
          cause: new AggregateError(failures),
          setupMistake: failures.every((failure) => (failure as IssuerFetchError).setupMistake === true),
        });
      },
      parse: (text) => check(text, source),
      mayFetch: true,
      onCacheError: (error) =>
        options.logger?.warn('scopegate: the key cache failed; fetching directly', { cause: error }),
      signal,
    });
    const jwksUri = (loaded as Loaded<string>).value;
    found = { jwksUri, until: Date.now() + (loaded as Loaded<string>).ttlMs };
    return jwksUri;
  };
}

/** OIDC Discovery 1.0 section 4, then RFC 8414 section 3 (the well-known segment goes first). */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}
