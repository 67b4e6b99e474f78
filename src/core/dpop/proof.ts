/**
 * DPoP proof verification (RFC 9449 4.3), every check but `jti` uniqueness (claimed last, by
 * replay.ts, once the token and its binding are verified too: forged proofs never reach the
 * store). Each failure is an `invalid_dpop_proof` (or `use_dpop_nonce`) AuthError whose
 * server-only `detail` names the check; no detail repeats proof contents (SECURITY.md #96).
 */
import { importJWK, type JWK } from 'jose';
import {
  ALGORITHMS,
  type AsymmetricAlgorithm,
  isAlgorithm,
  isSymmetric,
  type VerificationKey,
} from '../algorithms.js';
import {
  DEFAULT_ENGINE,
  type Engine,
  type EngineName,
  engineAvailable,
  getEngine,
  type KeyProblem,
} from '../engine.js';
import { AuthError } from '../errors.js';
import { decodeBase64url, parseCompactJws } from '../jws.js';
import { jwkThumbprint } from './binding.js';
import { sha256Base64url } from './digest.js';
import { normalizeHtu } from './htu.js';
import { createDpopNonces, type DpopNonceOptions, type DpopNonces } from './nonce.js';
import { isSmallOrderEd25519 } from './small-order.js';

/** The proof settings of the `dpop` verifier option. */
export interface DpopProofOptions {
  /** Accepted proof algorithms, asymmetric only. @default ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] */
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  /** Oldest proof `iat` accepted, in seconds before now. @default 300 */
  readonly maxAge?: number;
  /** Seconds a proof `iat` may be in the future (and added to `maxAge`). @default 30 */
  readonly clockTolerance?: number;
  /** Server nonces (RFC 9449 8): when set, every proof must carry a live one. */
  readonly nonce?: DpopNonceOptions;
  /** Largest proof accepted, in characters, checked before any parsing. @default 8192 */
  readonly maxLength?: number;
  /** Signature engine, as the verifier's `crypto` option. @default 'node' where available */
  readonly engine?: EngineName;
}

/** Normalized, validated proof settings; build them once with {@link dpopProofSettings}. */
export interface DpopProofSettings {
  readonly algorithms: readonly AsymmetricAlgorithm[];
  readonly maxAge: number;
  readonly clockTolerance: number;
  readonly maxLength: number;
  readonly nonces: DpopNonces | undefined;
  readonly engine: Engine;
}

/** What a verified proof tells: who signed it (the key thumbprint) and what to claim. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key: must equal the token's `cnf.jkt`. */
  readonly thumbprint: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  /** When the proof leaves the acceptance window (ms since the epoch): how long to hold its `jti`. */
  readonly expiresAt: number;
  readonly alg: AsymmetricAlgorithm;
  /** The proof key's required public members (kty and crv/x/y, or n/e). */
  readonly jwk: Readonly<JWK>;
}

/** The request a proof must match. */
export interface DpopProofRequest {
  /** The HTTP method, as received (`htm` is compared case-sensitively). */
  readonly method: string;
  /** The request URI as the client addressed it (`ws:`/`wss:` written as `http:`/`https:`). */
  readonly url: string | URL;
  /** The access token of the `Authorization: DPoP` header, for `ath`. */
  readonly accessToken: string;
  /** Seconds since the epoch. */
  readonly now: number;
}

export const DEFAULT_DPOP_ALGORITHMS: readonly AsymmetricAlgorithm[] = Object.freeze([
  'ES256',
  'EdDSA',
  'Ed25519',
  'PS256',
  'RS256',
]);
const DEFAULT_MAX_AGE = 300;
const DEFAULT_CLOCK_TOLERANCE = 30;
const DEFAULT_MAX_LENGTH = 8192;
/** RFC 9449 4.2 asks for enough entropy; 256 characters bounds what a replay store holds per proof. */
export const MAX_JTI_LENGTH = 256;

// Members that only private or secret keys have (RFC 7518 6.2.2, 6.3.2, 6.4; RFC 8037 2).
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function seconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`"dpop.${name}" option must be a non-negative number of seconds`);
  }
  return value;
}

/** Validates and defaults the proof settings. @throws TypeError naming the option. */
export function dpopProofSettings(options: DpopProofOptions = {}): DpopProofSettings {
  const algorithms = options.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    !algorithms.every((alg: unknown) => isAlgorithm(alg) && !isSymmetric(alg))
  ) {
    throw new TypeError('"dpop.algorithms" option must be a non-empty array of asymmetric JWS algorithms');
  }
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new TypeError('"dpop.maxLength" option must be a positive integer');
  }
  const engine = options.engine ?? DEFAULT_ENGINE;
  if ((engine !== 'node' && engine !== 'webcrypto') || !engineAvailable(engine)) {
    throw new TypeError('"crypto" option must be "node" or "webcrypto", available in this runtime');
  }
  return Object.freeze({
    algorithms: Object.freeze([...algorithms]),
    maxAge: seconds('maxAge', options.maxAge, DEFAULT_MAX_AGE),
    clockTolerance: seconds('clockTolerance', options.clockTolerance, DEFAULT_CLOCK_TOLERANCE),
    maxLength,
    nonces: options.nonce === undefined ? undefined : createDpopNonces(options.nonce),
    engine: getEngine(engine),
  });
}

interface PreparedKey {
  readonly key: VerificationKey;
  readonly thumbprint: string;
}

// Clients sign many proofs with one key: its import and thumbprint are done once. Only keys that
// imported cleanly are kept (a forged signature does not matter here: the key itself is public),
// and the map is bounded, so random keys only cost their own import.
const KEY_CACHE_MAX = 256;
const keyCache = new Map<string, PreparedKey>();

async function prepare(
  jwk: JWK,
  alg: AsymmetricAlgorithm,
  engine: Engine,
): Promise<VerificationKey | KeyProblem> {
  const imported = await importJWK(jwk, alg);
  if (imported instanceof Uint8Array) return 'unsupported_key';
  return engine.fromCryptoKey(imported, alg);
}

/** The members of the public key (RFC 7638's required members), or a reason to refuse it. */
function publicMembers(jwk: unknown, alg: AsymmetricAlgorithm): JWK | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'jwk: missing or not an object';
  const record = jwk as Record<string, unknown>;
  if (SECRET_MEMBERS.some((member) => Object.hasOwn(record, member))) {
    return 'jwk: holds private or secret key members';
  }
  const spec = ALGORITHMS[alg];
  if (record.kty !== spec.kty) return 'jwk: kty does not match alg';
  if (record.alg !== undefined && record.alg !== alg) return 'jwk: its alg is not the header alg';
  const members =
    spec.kty === 'RSA'
      ? (['n', 'e'] as const)
      : spec.kty === 'EC'
        ? (['crv', 'x', 'y'] as const)
        : (['crv', 'x'] as const);
  const out: Record<string, string> = { kty: spec.kty };
  for (const member of members) {
    const value = record[member];
    if (typeof value !== 'string' || value.length === 0) return `jwk: "${member}" missing or not a string`;
    out[member] = value;
  }
  if (spec.crv !== undefined && out.crv !== spec.crv) return 'jwk: crv does not match alg';
  if (spec.kty === 'OKP') {
    const x = decodeBase64url(out.x as string);
    if (x === null || isSmallOrderEd25519(x)) return 'jwk: Ed25519 key of small order (or not 32 bytes)';
  }
  return out as JWK;
}

/**
 * Verifies a DPoP proof against the request and the access token: every check of RFC 9449 4.3
 * except `jti` uniqueness and the token binding (`checkTokenBinding`, then `claimProof`).
 * @throws AuthError `invalid_dpop_proof` (detail: `size`, `jws`, `typ`, `alg`, `crit`, `jwk`,
 *   `signature`, `htm`, `htu`, `iat`, `jti`, `ath`) or `use_dpop_nonce` (detail: `nonce`).
 */
export async function verifyDpopProof(
  proof: string,
  request: DpopProofRequest,
  settings: DpopProofSettings,
): Promise<VerifiedDpopProof> {
  const fail = (detail: string, reason: 'invalid_dpop_proof' | 'use_dpop_nonce' = 'invalid_dpop_proof') =>
    new AuthError(reason, { detail });

  if (typeof proof !== 'string' || proof.length === 0) throw fail('jws: no proof');
  if (proof.length > settings.maxLength) {
    throw fail(`size: the proof is over ${settings.maxLength} characters`);
  }
  const jws = parseCompactJws(proof);
  if (jws === null) throw fail('jws: not a well-formed compact JWS');
  const { header, payload } = jws;

  if (header.typ !== 'dpop+jwt') throw fail('typ: not "dpop+jwt"');
  const alg = header.alg;
  if (!isAlgorithm(alg) || isSymmetric(alg) || !settings.algorithms.includes(alg as AsymmetricAlgorithm)) {
    throw fail(`alg: not one of ${settings.algorithms.join(', ')}`);
  }
  const asymmetric = alg as AsymmetricAlgorithm;
  // No extension is understood here, so any critical one is refused (RFC 7515 4.1.11).
  if (header.crit !== undefined) throw fail('crit: critical header parameters are not supported');

  const jwk = publicMembers(header.jwk, asymmetric);
  if (typeof jwk === 'string') throw fail(jwk);
  const prepared = await preparedKey(jwk, asymmetric, settings.engine);
  if (typeof prepared === 'string') throw fail(`jwk: ${prepared}`);
  if (!(await settings.engine.verify(prepared.key, jws.signingInput, jws.signature))) {
    throw fail('signature: not made by the jwk of the header');
  }

  if (payload.htm !== request.method) throw fail('htm: not the request method');
  const expected = normalizeHtu(request.url);
  if (expected === null) throw fail('htu: the request URL is not an http(s) URL');
  if (typeof payload.htu !== 'string' || normalizeHtu(payload.htu) !== expected) {
    throw fail('htu: not the request URI');
  }

  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw fail('iat: missing or not a number');
  if (iat > request.now + settings.clockTolerance) throw fail('iat: in the future');
  if (iat < request.now - settings.maxAge - settings.clockTolerance) throw fail('iat: older than maxAge');

  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0) throw fail('jti: missing or empty');
  if (jti.length > MAX_JTI_LENGTH) throw fail(`jti: over ${MAX_JTI_LENGTH} characters`);

  if (typeof payload.ath !== 'string') throw fail('ath: missing');
  if (payload.ath !== (await sha256Base64url(request.accessToken))) {
    throw fail('ath: not the SHA-256 of the access token');
  }

  if (settings.nonces) {
    const result = await settings.nonces.check(payload.nonce, request.now);
    if (result !== 'ok') throw fail(`nonce: ${result}`, 'use_dpop_nonce');
  }

  return {
    thumbprint: prepared.thumbprint,
    jti,
    iat,
    expiresAt: Math.ceil((iat + settings.maxAge + settings.clockTolerance) * 1000),
    alg: asymmetric,
    jwk,
  };
}

async function preparedKey(
  jwk: JWK,
  alg: AsymmetricAlgorithm,
  engine: Engine,
): Promise<PreparedKey | string> {
  const cacheKey = `${engine.name}|${alg}|${jwk.kty}|${jwk.crv}|${jwk.x}|${jwk.y}|${jwk.n}|${jwk.e}`;
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  let key: VerificationKey | KeyProblem;
  try {
    key = await prepare(jwk, alg, engine);
  } catch {
    return 'not a usable public key';
  }
  if (typeof key === 'string') return key.replace(/_/g, ' ');
  const thumbprint = await jwkThumbprint(jwk);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  const entry = { key, thumbprint };
  keyCache.set(cacheKey, entry);
  return entry;
}
