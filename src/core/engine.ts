/**
 * Signature engines. `node` is the fast path: keys become `KeyObject`s once, and every check is
 * one synchronous `crypto.verify` (or HMAC + `timingSafeEqual`). `webcrypto` serves runtimes
 * without `node:crypto`; it is also selectable on Node so both paths are tested.
 */
import type * as NodeCrypto from 'node:crypto';
import {
  ALGORITHMS,
  type Algorithm,
  MIN_RSA_BITS,
  type NodeVerifyKey,
  type VerificationKey,
} from './algorithms.js';

// getBuiltinModule keeps core importable where `node:crypto` does not exist (edge runtimes).
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined;

export type EngineName = 'node' | 'webcrypto';

export const DEFAULT_ENGINE: EngineName = nodeCrypto ? 'node' : 'webcrypto';

export function engineAvailable(name: EngineName): boolean {
  return name === 'node' ? nodeCrypto !== undefined : typeof globalThis.crypto?.subtle === 'object';
}

/** Why a key cannot be used, or null when it can. Weak RSA keys are refused (RFC 7518 3.3). */
export type KeyProblem = 'weak_rsa_modulus' | 'weak_rsa_exponent' | 'wrong_curve' | 'unsupported_key';

export interface Engine {
  readonly name: EngineName;
  /** Prepares a public key (a CryptoKey from jose's JWK handling) for one algorithm. */
  fromCryptoKey(key: CryptoKey, alg: Algorithm): VerificationKey | KeyProblem;
  /** Prepares an HMAC secret for one algorithm. */
  fromSecret(secret: Uint8Array, alg: Algorithm): VerificationKey | Promise<VerificationKey>;
  /** Checks a signature. The node engine answers synchronously. */
  verify(key: VerificationKey, data: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>;
}

function rsaProblem(modulusLength: number | undefined, exponent: bigint | undefined): KeyProblem | null {
  if (modulusLength === undefined || modulusLength < MIN_RSA_BITS) return 'weak_rsa_modulus';
  // e = 1 makes the signature equal the padded digest; even exponents are not RSA.
  if (exponent === undefined || exponent < 3n || exponent % 2n === 0n) return 'weak_rsa_exponent';
  return null;
}

function createNodeEngine(crypto: typeof NodeCrypto): Engine {
  const { constants } = crypto;
  return {
    name: 'node',
    fromCryptoKey(cryptoKey, alg) {
      const spec = ALGORITHMS[alg];
      const key = crypto.KeyObject.from(cryptoKey);
      const details = key.asymmetricKeyDetails ?? {};
      let prepared: NodeVerifyKey;
      switch (spec.family) {
        case 'RS':
        case 'PS': {
          if (key.asymmetricKeyType !== 'rsa') return 'unsupported_key';
          const problem = rsaProblem(details.modulusLength, details.publicExponent);
          if (problem) return problem;
          prepared =
            spec.family === 'RS'
              ? key
              : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.hashBytes };
          break;
        }
        case 'ES':
          if (key.asymmetricKeyType !== 'ec') return 'unsupported_key';
          if (details.namedCurve !== spec.nodeCurve) return 'wrong_curve';
          prepared = { key, dsaEncoding: 'ieee-p1363' };
          break;
        case 'EdDSA':
          if (key.asymmetricKeyType !== 'ed25519') return 'unsupported_key';
          prepared = key;
          break;
        default:
          return 'unsupported_key';
      }
      return { engine: 'node', alg, key: prepared };
    },
    fromSecret(secret, alg) {
      return { engine: 'node', alg, key: crypto.createSecretKey(secret) };
    },
    verify(key, data, signature) {
      if (key.engine !== 'node') return false;
      const spec = ALGORITHMS[key.alg];
      // Fixed-length schemes: ES256 is exactly 64 octets of R||S, never DER (RFC 7518 3.4).
      if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return false;
      try {
        if (spec.family === 'HS') {
          const mac = crypto
            .createHmac(spec.hash as string, key.key as NodeCrypto.KeyObject)
            .update(data)
            .digest();
          return crypto.timingSafeEqual(mac, signature);
        }
        return crypto.verify(spec.hash, data, key.key, signature);
      } catch {
        return false;
      }
    },
  };
}

const HASH_NAME = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

function webParams(alg: Algorithm): AlgorithmIdentifier | RsaPssParams | EcdsaParams {
  const spec = ALGORITHMS[alg];
  switch (spec.family) {
    case 'RS':
      return { name: 'RSASSA-PKCS1-v1_5' };
    case 'PS':
      return { name: 'RSA-PSS', saltLength: spec.hashBytes };
    case 'ES':
      return { name: 'ECDSA', hash: HASH_NAME[spec.hash as keyof typeof HASH_NAME] };
    case 'EdDSA':
      return { name: 'Ed25519' };
    case 'HS':
      return { name: 'HMAC' };
  }
}

function bigintOf(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function createWebCryptoEngine(): Engine {
  const { subtle } = globalThis.crypto;
  return {
    name: 'webcrypto',
    fromCryptoKey(key, alg) {
      const spec = ALGORITHMS[alg];
      const algorithm = key.algorithm as Partial<RsaHashedKeyAlgorithm & EcKeyAlgorithm>;
      if (spec.family === 'RS' || spec.family === 'PS') {
        const problem = rsaProblem(
          algorithm.modulusLength,
          algorithm.publicExponent ? bigintOf(algorithm.publicExponent) : undefined,
        );
        if (problem) return problem;
      } else if (spec.family === 'ES' && algorithm.namedCurve !== spec.crv) {
        return 'wrong_curve';
      }
      return { engine: 'webcrypto', alg, key, params: webParams(alg) };
    },
    async fromSecret(secret, alg) {
      const hash = HASH_NAME[ALGORITHMS[alg].hash as keyof typeof HASH_NAME];
      const key = await subtle.importKey('raw', secret as BufferSource, { name: 'HMAC', hash }, false, [
        'verify',
      ]);
      return { engine: 'webcrypto', alg, key, params: webParams(alg) };
    },
    async verify(key, data, signature) {
      if (key.engine !== 'webcrypto') return false;
      const spec = ALGORITHMS[key.alg];
      if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return false;
      try {
        return await subtle.verify(key.params, key.key, signature as BufferSource, data as BufferSource);
      } catch {
        return false;
      }
    },
  };
}

const engines = new Map<EngineName, Engine>();

export function getEngine(name: EngineName): Engine {
  let engine = engines.get(name);
  if (!engine) {
    if (name === 'node') {
      if (!nodeCrypto) throw new TypeError('"crypto" option: node:crypto is not available in this runtime');
      engine = createNodeEngine(nodeCrypto);
    } else {
      engine = createWebCryptoEngine();
    }
    engines.set(name, engine);
  }
  return engine;
}
