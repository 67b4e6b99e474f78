/**
 * Static keys as issuers hand them out: a PEM SPKI public key (`publicKey`, as Clerk and Supabase
 * show) or a single JWK (`jwk`). Each is checked once at `createVerifier` and bound to its
 * algorithms: the key type must fit every one of them (an RSA key with `ES256` is a setup
 * mistake, not a token that later fails), and private key material is refused outright.
 * Verification then goes through the same KeyRing as a static JWKS.
 */
import type * as NodeCrypto from 'node:crypto';
import type { VerificationKey } from './algorithms.js';
import { ALGORITHMS, type Algorithm, isAlgorithm, isSymmetric, MIN_RSA_BITS } from './algorithms.js';
import { AuthError } from './errors.js';
import type { KeyRing } from './key-ring.js';
import type { KeySource, KeySourceStatus } from './key-sources.js';

// getBuiltinModule keeps core importable where `node:crypto` does not exist (edge runtimes).
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined;

/** A checked static key: the public JWK to verify with, and the algorithms bound to it. */
export interface StaticKey {
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly algorithms: readonly Algorithm[];
}

/** Option names, prefixed for an entry of `issuers`. */
export interface StaticKeyNames {
  readonly key: string;
  readonly algorithms: string;
}

// Members only private or secret keys have (RFC 7518 6.2.2, 6.3.2, 6.4).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const PRIVATE_PEM = /-----BEGIN (?:RSA |EC |ENCRYPTED |OPENSSH )?PRIVATE KEY-----/;
const PUBLIC_PEM = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mustBe(option: string, expected: string): TypeError {
  return new TypeError(`"${option}" option must be ${expected}`);
}

/** The public JWK of a PEM SPKI key. */
function fromPem(value: unknown, option: string): { jwk: Record<string, unknown>; bits: number | undefined } {
  if (typeof value !== 'string') throw mustBe(option, 'a PEM public key string (-----BEGIN PUBLIC KEY-----)');
  const pem = value.trim();
  if (PRIVATE_PEM.test(pem)) {
    throw mustBe(
      option,
      'a public key, not a private key: give its public half (-----BEGIN PUBLIC KEY-----)',
    );
  }
  if (!PUBLIC_PEM.test(pem)) {
    throw mustBe(option, 'a PEM SPKI public key (-----BEGIN PUBLIC KEY-----); certificates are not accepted');
  }
  if (!nodeCrypto) throw mustBe(option, 'given where node:crypto exists; elsewhere give the key as "jwk"');
  let key: NodeCrypto.KeyObject;
  try {
    key = nodeCrypto.createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new TypeError(`"${option}" option is not a readable PEM public key (${(cause as Error).message})`);
  }
  let jwk: Record<string, unknown>;
  try {
    jwk = key.export({ format: 'jwk' }) as Record<string, unknown>;
  } catch {
    throw mustBe(option, `an RSA, EC or Ed25519 public key (got ${key.asymmetricKeyType})`);
  }
  return { jwk, bits: key.asymmetricKeyDetails?.modulusLength };
}

/** A single public JWK, checked; its RSA modulus size when node:crypto can read it. */
function fromJwk(value: unknown, option: string): { jwk: Record<string, unknown>; bits: number | undefined } {
  if (!isPlainObject(value)) throw mustBe(option, 'a public JSON Web Key object');
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(value, member))) {
    throw mustBe(option, 'a public key: it has private or secret members (d, p, q, k...)');
  }
  if (value.use !== undefined && value.use !== 'sig') throw mustBe(option, 'a signature key ("use" "sig")');
  if (
    value.key_ops !== undefined &&
    !(Array.isArray(value.key_ops) && (value.key_ops as unknown[]).includes('verify'))
  ) {
    throw mustBe(option, 'a verification key ("key_ops" with "verify")');
  }
  let bits: number | undefined;
  if (nodeCrypto) {
    try {
      const key = nodeCrypto.createPublicKey({ key: value as NodeCrypto.JsonWebKey, format: 'jwk' });
      bits = key.asymmetricKeyDetails?.modulusLength;
    } catch (cause) {
      throw new TypeError(`"${option}" option is not a usable public JWK (${(cause as Error).message})`);
    }
  }
  return { jwk: { ...value }, bits };
}

/**
 * Checks a `publicKey` or `jwk` option and binds its algorithms: the JWK's `alg`, else the given
 * `algorithms` (required for a PEM). Every algorithm must fit the key type and curve.
 * @throws TypeError naming the option
 */
export function staticKeyOf(
  source: { readonly publicKey?: unknown; readonly jwk?: unknown },
  given: readonly Algorithm[] | undefined,
  names: StaticKeyNames,
): StaticKey {
  const { jwk, bits } =
    source.publicKey !== undefined ? fromPem(source.publicKey, names.key) : fromJwk(source.jwk, names.key);
  let algorithms = given;
  if (jwk.alg !== undefined) {
    const alg = jwk.alg;
    if (!isAlgorithm(alg) || isSymmetric(alg)) {
      throw mustBe(names.key, `a key for an asymmetric JWS algorithm (its "alg" is ${JSON.stringify(alg)})`);
    }
    if (given?.some((other) => other !== alg)) {
      throw mustBe(names.algorithms, `["${alg}"], the "alg" of "${names.key}"`);
    }
    algorithms = [alg];
  }
  if (!algorithms) {
    throw new TypeError(`"${names.algorithms}" option is required with "${names.key}" (the key's algorithm)`);
  }
  for (const alg of algorithms) {
    const spec = ALGORITHMS[alg];
    const fits = spec.kty === jwk.kty && (spec.crv === undefined || spec.crv === jwk.crv);
    if (!fits) {
      const type = jwk.crv === undefined ? String(jwk.kty) : `${String(jwk.kty)} ${String(jwk.crv)}`;
      throw mustBe(
        names.algorithms,
        `algorithms of the key in "${names.key}" (a ${type} key cannot verify ${alg})`,
      );
    }
  }
  if (jwk.kty === 'RSA' && bits !== undefined && bits < MIN_RSA_BITS) {
    throw mustBe(names.key, `an RSA key of at least ${MIN_RSA_BITS} bits (got ${bits})`);
  }
  return Object.freeze({ jwk: Object.freeze(jwk), algorithms: Object.freeze([...algorithms]) });
}

/**
 * The one key of `publicKey` or `jwk`. A token's `kid` only matters when the key has one: a PEM
 * has no kid, and tokens of issuers that show a PEM (Clerk) still carry theirs.
 */
export class SingleKeySource implements KeySource {
  readonly #ring: KeyRing;
  readonly #kid: unknown;

  constructor(ring: KeyRing, kid: unknown) {
    this.#ring = ring;
    this.#kid = kid;
  }

  #kidOf(kid: unknown): unknown {
    return this.#kid === undefined ? undefined : kid;
  }

  cached(alg: Algorithm, kid: unknown): readonly VerificationKey[] | undefined {
    return this.#ring.cached(alg, this.#kidOf(kid));
  }

  async resolve(alg: Algorithm, kid: unknown): Promise<readonly VerificationKey[]> {
    const keys = await this.#ring.resolve(alg, this.#kidOf(kid));
    if (keys.length === 0) throw new AuthError('unknown_key');
    return keys;
  }

  async warmup(): Promise<void> {}

  status(): KeySourceStatus {
    return Object.freeze({ source: 'static', hasKeys: true, keysAgeMs: null, stale: false, lastError: null });
  }
}
