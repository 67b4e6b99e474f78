/**
 * Where an issuer's verification keys come from: a static JWKS, an HMAC secret, or a remote JWKS
 * (given, or found by discovery). Every source answers `cached()` synchronously when it can, so a
 * verification with known keys never waits on a promise for its key.
 */
import type { Algorithm, VerificationKey } from './algorithms.js';
import type { Engine } from './engine.js';
import { AuthError, type ErrorPresentation } from './errors.js';
import { fetchJson, type HttpLimits, IssuerFetchError, isAllowedUrl } from './http.js';
import { KeyRing, type Logger } from './key-ring.js';

export interface KeySource {
  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined;
  /** @throws AuthError `unknown_key` or `issuer_unavailable` */
  resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]>;
  warmup(): Promise<void>;
}

export class StaticKeySource implements KeySource {
  readonly #ring: KeyRing;
  readonly #presentation: ErrorPresentation;

  constructor(ring: KeyRing, presentation: ErrorPresentation) {
    this.#ring = ring;
    this.#presentation = presentation;
  }

  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined {
    return this.#ring.cached(alg, kid);
  }

  async resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const keys = await this.#ring.resolve(alg, kid);
    if (keys.length === 0) throw new AuthError('unknown_key', { presentation: this.#presentation });
    return keys;
  }

  async warmup(): Promise<void> {}
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
}

export interface RemoteTiming {
  readonly cacheMaxAgeMs: number;
  readonly cooldownMs: number;
  readonly failureBackoffMs: number;
}

/** Finds the JWKS URL: fixed (`jwksUri`, `domain`) or by discovery. */
export type JwksLocator = () => Promise<string>;

/**
 * A remote JWKS with the policy of SECURITY.md D: concurrent misses share one fetch; an unknown
 * kid refetches at most once per cooldown; after a failure, requests are answered 503 at once
 * until the backoff window ends (then one retry); keys past their max age are still served when
 * the refresh fails, and a failure is never cached beyond the backoff.
 */
export class RemoteKeySource implements KeySource {
  readonly #locate: JwksLocator;
  readonly #http: HttpLimits;
  readonly #timing: RemoteTiming;
  readonly #engine: Engine;
  readonly #presentation: ErrorPresentation;
  readonly #logger: Logger | undefined;
  readonly #allowInsecureLoopback: boolean;
  #ring: KeyRing | null = null;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;
  #lastFailure: unknown;
  #pending: Promise<void> | null = null;

  constructor(options: {
    locate: JwksLocator;
    http: HttpLimits;
    timing: RemoteTiming;
    engine: Engine;
    presentation: ErrorPresentation;
    allowInsecureLoopback: boolean;
    logger: Logger | undefined;
  }) {
    this.#locate = options.locate;
    this.#http = options.http;
    this.#timing = options.timing;
    this.#engine = options.engine;
    this.#presentation = options.presentation;
    this.#allowInsecureLoopback = options.allowInsecureLoopback;
    this.#logger = options.logger;
  }

  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined {
    return this.#ring && this.#isFresh(Date.now()) ? this.#ring.cached(alg, kid) : undefined;
  }

  async resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const ring = this.#ring;
    const now = Date.now();
    if (ring && this.#isFresh(now)) {
      const keys = await ring.resolve(alg, kid);
      if (keys.length > 0) return keys;
      if (!this.#pending) {
        if (this.#inBackoff(now)) throw this.#unavailable();
        if (now - this.#attemptedAt < this.#timing.cooldownMs) {
          throw new AuthError('unknown_key', { presentation: this.#presentation });
        }
      }
    } else if (!this.#pending && this.#inBackoff(now)) {
      return this.#fromStale(ring, alg, kid);
    }
    try {
      await this.#refresh();
    } catch {
      return this.#fromStale(ring, alg, kid);
    }
    const keys = await (this.#ring as KeyRing | null)?.resolve(alg, kid);
    if (!keys || keys.length === 0) throw new AuthError('unknown_key', { presentation: this.#presentation });
    return keys;
  }

  async warmup(): Promise<void> {
    if (this.#ring && this.#isFresh(Date.now())) return;
    try {
      await this.#refresh();
    } catch {
      throw this.#unavailable();
    }
  }

  #isFresh(now: number): boolean {
    return now - this.#fetchedAt < this.#timing.cacheMaxAgeMs;
  }

  #inBackoff(now: number): boolean {
    return now - this.#failedAt < this.#timing.failureBackoffMs;
  }

  #unavailable(): AuthError {
    return new AuthError('issuer_unavailable', {
      cause: this.#lastFailure,
      presentation: this.#presentation,
    });
  }

  // Keys past their max age still beat an outage; without a matching key the answer is 503.
  async #fromStale(ring: KeyRing | null, alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const keys = ring ? await ring.resolve(alg, kid) : [];
    if (keys.length > 0) return keys;
    throw this.#unavailable();
  }

  #refresh(): Promise<void> {
    if (!this.#pending) {
      this.#attemptedAt = Date.now();
      this.#pending = this.#load().finally(() => {
        this.#pending = null;
      });
    }
    return this.#pending;
  }

  async #load(): Promise<void> {
    let url = '';
    try {
      url = await this.#locate();
      if (!isAllowedUrl(url, this.#allowInsecureLoopback)) {
        throw new IssuerFetchError('the JWKS URL is not https', url);
      }
      const body = await fetchJson(url, this.#http);
      let ring: KeyRing;
      try {
        ring = new KeyRing(body, this.#engine, this.#logger);
      } catch (cause) {
        throw new IssuerFetchError('the key set is not acceptable', url, { cause });
      }
      this.#ring = ring;
      this.#fetchedAt = Date.now();
      this.#failedAt = Number.NEGATIVE_INFINITY;
    } catch (error) {
      this.#failedAt = Date.now();
      this.#lastFailure = error;
      this.#logger?.warn('scopegate: could not fetch the issuer keys', { url, cause: error });
      throw error;
    }
  }
}

export interface DiscoveryOptions {
  readonly issuer: string;
  readonly http: HttpLimits;
  readonly cacheMaxAgeMs: number;
  readonly allowInsecureLoopback: boolean;
}

/**
 * OIDC discovery, then RFC 8414 metadata. The metadata's `issuer` must be exactly the configured
 * one (RFC 8414 3.3) and its `jwks_uri` https, or the issuer is treated as unavailable.
 */
export function discoveryLocator(options: DiscoveryOptions): JwksLocator {
  let found: { jwksUri: string; at: number } | null = null;
  return async () => {
    if (found && Date.now() - found.at < options.cacheMaxAgeMs) return found.jwksUri;
    const failures: unknown[] = [];
    for (const url of metadataUrls(options.issuer)) {
      let metadata: unknown;
      try {
        metadata = await fetchJson(url, options.http);
      } catch (error) {
        failures.push(error);
        continue;
      }
      const { issuer, jwks_uri: jwksUri } = (metadata ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
      if (issuer !== options.issuer) {
        throw new IssuerFetchError('the metadata "issuer" does not match the configured issuer', url);
      }
      if (typeof jwksUri !== 'string' || !isAllowedUrl(jwksUri, options.allowInsecureLoopback)) {
        throw new IssuerFetchError('the metadata "jwks_uri" is missing or not https', url);
      }
      found = { jwksUri, at: Date.now() };
      return jwksUri;
    }
    throw new IssuerFetchError('no metadata document could be fetched', options.issuer, {
      cause: new AggregateError(failures),
    });
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
