/**
 * One generation of an issuer's public keys. jose does the JWK work (key selection by
 * kty/alg/crv/use/key_ops, import); this wrapper refuses sets that publish secrets, prepares each
 * key once per algorithm for the engine, and answers cached lookups synchronously.
 */
import { createLocalJWKSet, errors as joseErrors } from 'jose';
import type { Algorithm, VerificationKey } from './algorithms.js';
import type { Engine } from './engine.js';
import { isSmallOrderJwk } from './jwk-usability.js';

/** Where scopegate reports what an operator should know (never a token). */
export interface Logger {
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
}

/** At most this many keys in one set (SECURITY.md defaults: <= 50). */
export const MAX_JWKS_KEYS = 50;

// Members that only private or secret keys have: a set that publishes one is misconfigured.
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Returns why `value` is not an acceptable public JWKS, or null. */
export function jwksProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return '"keys" is not an array';
  if (keys.length > MAX_JWKS_KEYS) return `more than ${MAX_JWKS_KEYS} keys`;
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) return 'a key is not an object';
    if (SECRET_MEMBERS.some((member) => Object.hasOwn(key, member))) {
      return 'the set contains private or secret key material';
    }
  }
  return null;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class KeyRing {
  readonly #local: LocalSet;
  readonly #engine: Engine;
  readonly #logger: Logger | undefined;
  // Only successful lookups are kept, so random kids cannot grow it.
  readonly #resolved = new Map<string, readonly VerificationKey[]>();

  /** @throws TypeError when `jwks` is not an acceptable public key set. */
  constructor(jwks: unknown, engine: Engine, logger?: Logger) {
    const problem = jwksProblem(jwks);
    if (problem) throw new TypeError(`invalid JSON Web Key Set: ${problem}`);
    // A small-order Ed25519 point verifies the forged signature R = identity, S = 0: never a key.
    const all = (jwks as { keys: Readonly<Record<string, unknown>>[] }).keys;
    const keys = all.filter((jwk) => !isSmallOrderJwk(jwk));
    if (keys.length !== all.length) {
      logger?.warn('scopegate: a key of the set is refused: a small-order Ed25519 point', {
        kids: all.filter((jwk) => isSmallOrderJwk(jwk)).map((jwk) => jwk.kid),
      });
    }
    this.#local = createLocalJWKSet({ keys } as unknown as Parameters<typeof createLocalJWKSet>[0]);
    this.#engine = engine;
    this.#logger = logger;
    const kids = (jwks as { keys: { kid?: unknown }[] }).keys.map((key) => key.kid).filter((kid) => kid);
    if (new Set(kids).size !== kids.length) logger?.warn('scopegate: the key set has duplicate "kid" values');
  }

  /** Keys cached for this algorithm and kid, without waiting. */
  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined {
    return typeof kid === 'string' || kid === undefined ? this.#resolved.get(cacheKey(alg, kid)) : undefined;
  }

  /** Every usable key for this algorithm and kid (several when the token names no kid). */
  async resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const cached = this.cached(alg, kid);
    if (cached) return cached;
    const candidates: CryptoKey[] = [];
    try {
      candidates.push((await this.#local({ alg, kid } as { alg: string; kid?: string })) as CryptoKey);
    } catch (error) {
      if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
        for await (const key of error) candidates.push(key as CryptoKey);
      } else if (!(error instanceof joseErrors.JWKSNoMatchingKey)) {
        // A key jose cannot import is unusable; the token then fails as signed by an unknown key.
        this.#logger?.warn('scopegate: a key of the set could not be imported', { alg, cause: error });
      }
    }
    const keys: VerificationKey[] = [];
    for (const candidate of candidates) {
      const prepared = this.#engine.fromCryptoKey(candidate, alg);
      if (typeof prepared === 'string') {
        this.#logger?.warn('scopegate: a key of the set is unusable', { alg, problem: prepared });
      } else {
        keys.push(prepared);
      }
    }
    if (keys.length > 0 && (typeof kid === 'string' || kid === undefined)) {
      this.#resolved.set(cacheKey(alg, kid), keys);
    }
    return keys;
  }
}

function cacheKey(alg: Algorithm, kid: string | undefined): string {
  return kid === undefined ? alg : `${alg}\u0000${kid}`;
}
