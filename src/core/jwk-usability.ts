/**
 * Whether a public JWK can ever verify a token under the configured algorithms, and why not.
 * The same rules as jose's key selection (kty, crv, `alg` equality, `use`, `key_ops`), checked
 * once per key set: a static set with a key that can never match is a setup mistake (TypeError
 * at createVerifier), a fetched set with no usable key is one too (503, logged once). An Ed25519
 * key of small order is refused everywhere: R = identity, S = 0 "verifies" for it (SECURITY.md #28).
 */
import { ALGORITHMS, type Algorithm, isAlgorithm } from './algorithms.js';
import { shown } from './claims.js';
import { isSmallOrderEd25519 } from './dpop/small-order.js';
import { decodeBase64url } from './jws.js';

/** True when `jwk` is an Ed25519 key whose `x` is a point of small order (or not 32 octets). */
export function isSmallOrderJwk(jwk: Readonly<Record<string, unknown>>): boolean {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return false;
  const x = typeof jwk.x === 'string' ? decodeBase64url(jwk.x) : null;
  return x === null || isSmallOrderEd25519(x);
}

/** Why `jwk` can never verify a token signed with one of `algorithms`, or null when it can. */
export function jwkProblem(
  jwk: Readonly<Record<string, unknown>>,
  algorithms: readonly Algorithm[],
): string | null {
  const list = `[${algorithms.join(', ')}]`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use ${shown(jwk.use)} is not "sig"`;
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify')) {
      return 'key_ops does not include "verify"';
    }
  }
  let candidates: readonly Algorithm[] = algorithms;
  if (jwk.alg !== undefined) {
    if (!isAlgorithm(jwk.alg)) return `alg ${shown(jwk.alg)} is not a JWS algorithm scopegate accepts`;
    if (!algorithms.includes(jwk.alg)) return `alg ${jwk.alg} is not in the configured algorithms ${list}`;
    candidates = [jwk.alg];
  }
  const fits = candidates.some((alg) => {
    const spec = ALGORITHMS[alg];
    return spec.kty === jwk.kty && (spec.crv === undefined || spec.crv === jwk.crv);
  });
  if (!fits) {
    const crv = Object.hasOwn(jwk, 'crv') ? ` crv ${shown(jwk.crv)}` : '';
    return `kty ${shown(jwk.kty)}${crv} fits none of the algorithms ${list}`;
  }
  if (isSmallOrderJwk(jwk)) return 'x is a small-order Ed25519 point (anyone can forge its signatures)';
  return null;
}

/** `jwks.keys[i] (kid "x")`: how a key is named in errors and logs. */
export function keyName(option: string, index: number, jwk: Readonly<Record<string, unknown>>): string {
  const kid = typeof jwk.kid === 'string' ? ` (kid ${shown(jwk.kid)})` : '';
  return `${option}.keys[${index}]${kid}`;
}
