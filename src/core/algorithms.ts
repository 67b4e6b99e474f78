/**
 * The JWS algorithms scopegate accepts and how each is checked. Two engines share one table:
 * `node` verifies synchronously with `node:crypto` KeyObjects (the fast path), `webcrypto`
 * uses `crypto.subtle` for runtimes without `node:crypto`.
 */
import type { KeyObject } from 'node:crypto';

export type AsymmetricAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519';
export type SymmetricAlgorithm = 'HS256' | 'HS384' | 'HS512';
export type Algorithm = AsymmetricAlgorithm | SymmetricAlgorithm;

type Family = 'RS' | 'PS' | 'ES' | 'EdDSA' | 'HS';

export interface AlgorithmSpec {
  readonly family: Family;
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** Node digest name, or null for EdDSA (the digest is part of the scheme). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** Bytes of the digest: the HMAC key minimum and the PSS salt length. */
  readonly hashBytes: number;
  /** Exact signature length for fixed-length schemes (ECDSA R||S, Ed25519, HMAC). */
  readonly signatureBytes?: number;
  /** The JWK `crv` and the node:crypto named curve, for EC and OKP keys. */
  readonly crv?: string;
  readonly nodeCurve?: string;
}

const spec = (family: Family, bits: 256 | 384 | 512, extra: Partial<AlgorithmSpec> = {}): AlgorithmSpec => ({
  family,
  kty: family === 'HS' ? 'oct' : family === 'ES' ? 'EC' : family === 'EdDSA' ? 'OKP' : 'RSA',
  hash: family === 'EdDSA' ? null : `sha${bits}`,
  hashBytes: bits / 8,
  ...extra,
});

export const ALGORITHMS: Readonly<Record<Algorithm, AlgorithmSpec>> = Object.freeze({
  RS256: spec('RS', 256),
  RS384: spec('RS', 384),
  RS512: spec('RS', 512),
  PS256: spec('PS', 256),
  PS384: spec('PS', 384),
  PS512: spec('PS', 512),
  ES256: spec('ES', 256, { signatureBytes: 64, crv: 'P-256', nodeCurve: 'prime256v1' }),
  ES384: spec('ES', 384, { signatureBytes: 96, crv: 'P-384', nodeCurve: 'secp384r1' }),
  ES512: spec('ES', 512, { signatureBytes: 132, crv: 'P-521', nodeCurve: 'secp521r1' }),
  EdDSA: spec('EdDSA', 512, { signatureBytes: 64, crv: 'Ed25519', nodeCurve: 'ed25519' }),
  Ed25519: spec('EdDSA', 512, { signatureBytes: 64, crv: 'Ed25519', nodeCurve: 'ed25519' }),
  HS256: spec('HS', 256, { signatureBytes: 32 }),
  HS384: spec('HS', 384, { signatureBytes: 48 }),
  HS512: spec('HS', 512, { signatureBytes: 64 }),
});

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

export function isSymmetric(alg: Algorithm): alg is SymmetricAlgorithm {
  return ALGORITHMS[alg].family === 'HS';
}

/** RFC 7518 3.3: RSA keys below 2048 bits must not be used. */
export const MIN_RSA_BITS = 2048;

/**
 * A key ready to check one algorithm's signatures. `node` holds what `crypto.verify` takes
 * (options prepared once), `webcrypto` a CryptoKey and the `subtle.verify` parameters.
 */
export type VerificationKey =
  | { readonly engine: 'node'; readonly alg: Algorithm; readonly key: NodeVerifyKey }
  | {
      readonly engine: 'webcrypto';
      readonly alg: Algorithm;
      readonly key: CryptoKey;
      readonly params: AlgorithmIdentifier | RsaPssParams | EcdsaParams;
    };

export type NodeVerifyKey =
  | KeyObject
  | { readonly key: KeyObject; readonly padding: number; readonly saltLength: number }
  | { readonly key: KeyObject; readonly dsaEncoding: 'ieee-p1363' };
