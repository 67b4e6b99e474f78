/**
 * Verifier options: the public shapes, and their one-time validation into a fully defaulted,
 * frozen form. A bad option throws a TypeError that names it; the input is never mutated and
 * nothing is read from the environment.
 */
import {
  ALGORITHMS,
  type Algorithm,
  type AsymmetricAlgorithm,
  isAlgorithm,
  isSymmetric,
} from './algorithms.js';
import type { ClaimRules } from './claims.js';
import { type PublicOrigin, validatePublicOrigin } from './credentials.js';
import { createMemoryReplayStore } from './dpop/memory-replay-store.js';
import { createDpopNonces, type DpopNonceOptions, type DpopNonces } from './dpop/nonce.js';
import { type DpopProofSettings, dpopProofSettings } from './dpop/proof.js';
import type { ReplayStore } from './dpop/replay-store.js';
import { DEFAULT_ENGINE, type Engine, type EngineName, engineAvailable, getEngine } from './engine.js';
import type { AuthError } from './errors.js';
import { type FetchLike, type HttpLimits, isAllowedUrl } from './http.js';
import { buildKeySource, type GraphSettings, type KeySpec } from './issuer-graph.js';
import type { IssuerSelector } from './issuer-selection.js';
import { type KeyCache, keyCacheOption } from './key-cache.js';
import type { Logger } from './key-ring.js';
import type { KeySource } from './key-sources.js';
import type { DpopMode, PresentationSettings } from './presentation.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { type StaticKey, staticKeyOf } from './static-keys.js';

/** A JSON Web Key Set (RFC 7517 5), public keys only. */
export interface JsonWebKeySet {
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/** A single public JSON Web Key (RFC 7517 4). Its `alg`, when present, is the one it verifies. */
export type JsonWebKey = Readonly<Record<string, unknown>>;

interface KeySourceMembers {
  /** The issuer's JWKS URL (no discovery). */
  readonly jwksUri: string;
  /** A static public key set. */
  readonly jwks: JsonWebKeySet;
  /** A shared HMAC secret (HS*), at least 32 random bytes. */
  readonly secret: string | Uint8Array;
  /**
   * A PEM SPKI public key (`-----BEGIN PUBLIC KEY-----`), as Clerk, Supabase and many IdPs show
   * for networkless verification. Needs `algorithms`, which must fit the key type.
   */
  readonly publicKey: string;
  /** A single public JWK; its `alg` (else `algorithms`) is the algorithm it verifies. */
  readonly jwk: JsonWebKey;
}

/** One member of {@link KeySourceMembers}, the others excluded. */
type OnlyKeySource<K extends keyof KeySourceMembers> = { readonly [P in K]: KeySourceMembers[P] } & {
  readonly [P in Exclude<keyof KeySourceMembers, K>]?: never;
};

/** Exactly one key source. None of them means OIDC discovery from the issuer. */
export type KeySourceOptions =
  | OnlyKeySource<'jwksUri'>
  | OnlyKeySource<'jwks'>
  | OnlyKeySource<'secret'>
  | OnlyKeySource<'publicKey'>
  | OnlyKeySource<'jwk'>
  | { readonly [P in keyof KeySourceMembers]?: never };

/** One accepted issuer of a multi-issuer verifier. Its keys are never shared with another. */
export type IssuerOptions = {
  /** The exact expected `iss`. */
  readonly issuer: string;
  /** Overrides the verifier's `audience` for this issuer. */
  readonly audience?: string | readonly string[];
  /** Overrides the verifier's `algorithms` for this issuer. */
  readonly algorithms?: readonly Algorithm[];
} & KeySourceOptions;

type NoIssuerOptions = {
  readonly issuer?: never;
  readonly issuers?: never;
} & { readonly [P in keyof KeySourceMembers]?: never };

/** Where tokens come from: an Auth0 `domain`, an `issuer` with a key source, or `issuers`. */
export type IssuerSelection =
  | ({
      /** Auth0 shorthand: issuer `https://<domain>/`, JWKS `https://<domain>/.well-known/jwks.json`. */
      readonly domain: string;
      readonly audience: string | readonly string[];
    } & NoIssuerOptions)
  | ({
      /** The exact expected `iss`; several values accept each (each with its own key cache). */
      readonly issuer: string | readonly string[];
      readonly audience: string | readonly string[];
      readonly domain?: never;
      readonly issuers?: never;
    } & KeySourceOptions)
  | ({
      readonly issuers: readonly IssuerOptions[];
      /** Default audience of the issuers that have none of their own. */
      readonly audience?: string | readonly string[];
      readonly domain?: never;
      readonly issuer?: never;
    } & { readonly [P in keyof KeySourceMembers]?: never });

export interface CommonOptions<TSchema extends StandardSchemaV1 | undefined = undefined> {
  /** Accepted `alg` values. Never `none`; never symmetric and asymmetric together. @default ['RS256'] (['HS256'] with `secret`) */
  readonly algorithms?: readonly Algorithm[];
  /** Seconds of leeway on `exp`, `nbf` and `iat`. At most 300. @default 5 */
  readonly clockTolerance?: number;
  /** Maximum age in seconds since `iat` (then required). @default undefined (no limit) */
  readonly maxTokenAge?: number;
  /** Maximum `exp - iat` in seconds (both then required). @default undefined (no limit) */
  readonly maxTokenLifetime?: number;
  /** Claims that must be present, in addition to `exp`, `iss` and `aud`. @default [] */
  readonly requiredClaims?: readonly string[];
  /** RFC 9068 profile: `typ` `at+jwt`, and `sub`, `client_id`, `iat`, `jti` required. @default false */
  readonly strict?: boolean;
  /** Longest token accepted, checked before any decoding. @default 8192 */
  readonly maxTokenLength?: number;
  /** Claims that grant scopes (space-delimited string or string array). @default ['scope', 'scp'] */
  readonly scopeClaims?: readonly string[];
  /** A Standard Schema (zod, valibot...) for custom claims, run after the signature. */
  readonly claims?: TSchema;
  /** `fetch` used for discovery and JWKS. @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** Deadline of one metadata or JWKS request, body included. @default 5000 */
  readonly timeoutMs?: number;
  /** How long fetched keys and metadata are fresh. @default 600000 */
  readonly cacheMaxAgeMs?: number;
  /** Least time between two JWKS fetches caused by unknown `kid`s. @default 30000 */
  readonly cooldownMs?: number;
  /** After a failed fetch, how long requests get 503 at once before one retry. @default 30000 */
  readonly failureBackoffMs?: number;
  /** Largest metadata or JWKS response body. @default 65536 */
  readonly maxJwksBytes?: number;
  /** Opt-in LRU of verified tokens; entries never outlive `exp`. @default undefined (off) */
  readonly tokenCache?: { readonly max: number };
  /** Allow `http://127.0.0.1`, `http://localhost`, `http://[::1]` issuer and JWKS URLs. For tests only. @default false */
  readonly allowInsecureLoopback?: boolean;
  /** `realm` of the `WWW-Authenticate` challenge. @default 'api' */
  readonly realm?: string;
  /** When false, clients see `invalid_token` for every 401 but `missing_token`. @default true */
  readonly exposeReasons?: boolean;
  /**
   * RFC 9728 protected resource metadata URL (`https://api.example.com/.well-known/oauth-protected-resource`):
   * every 401 challenge then carries `resource_metadata="..."` (RFC 9728 5.1). An https URL (http on
   * loopback only with `allowInsecureLoopback`). @default undefined
   */
  readonly resourceMetadata?: string;
  /** Signature engine: `node` (node:crypto, fast) or `webcrypto`. @default 'node' where available */
  readonly crypto?: EngineName;
  /**
   * Receives operator warnings (unusable keys, JWKS failures) and each refused request with its
   * `detail`. Never receives tokens. Without one, setup mistakes that never heal (a discovery
   * `issuer` mismatch, a JWKS 404 or non-JSON body, no usable key) still reach `console.warn`,
   * once per issuer and cause; `false` silences even those. @default undefined
   */
  readonly logger?: Logger | false;
  /**
   * Called once per refused request (not per denied field or procedure) with the refusal, e.g.
   * for metrics. Its `detail` is server-only. What it throws or rejects with is ignored.
   */
  readonly onRefusal?: (error: AuthError) => void;
  /** Issuer metadata and key sets shared by a fleet, e.g. `redisKeyCache(client)` from `scopegate/redis`. @default undefined (per instance) */
  readonly keyCache?: KeyCache;
  /**
   * Per request, which configured issuers are acceptable (e.g. by a tenant header your gateway
   * sets): exact `iss` values. A name that is not configured, or none, refuses the token (401
   * `invalid_issuer`); a throw is a 503. `verify(token)` without a request accepts every issuer.
   * @default undefined (every configured issuer, on every request)
   */
  readonly selectIssuers?: IssuerSelector;
  /** Sender-constrained tokens (RFC 9449). @default { mode: 'allowed' } */
  readonly dpop?: DpopOptions;
  /**
   * The origin(s) clients address (`https://api.example.com`), or a function of the request
   * returning them: the DPoP `htu` is checked against it behind a reverse proxy. Forwarded
   * headers are never read. @default the request's own URL (Host, TLS from the socket)
   */
  readonly publicOrigin?: PublicOrigin;
}

/** The `dpop` option: DPoP (RFC 9449) proofs and sender-constrained tokens. */
export interface DpopOptions {
  /** `allowed`: Bearer and DPoP; `required`: DPoP only; `disabled`: Bearer only. @default 'allowed' */
  readonly mode?: DpopMode;
  /** Accepted proof algorithms, asymmetric only. @default ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] */
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  /** Oldest proof `iat` accepted, in seconds before now. @default 300 */
  readonly maxAge?: number;
  /** Seconds a proof `iat` may be in the future (also added to `maxAge`). @default 30 */
  readonly clockTolerance?: number;
  /** Server nonces (RFC 9449 8), stateless: every proof must then carry a live `DPoP-Nonce`. @default undefined (off) */
  readonly nonce?: DpopNonceOptions;
  /** Where proof identifiers are claimed. @default an in-memory store for this instance (`createMemoryReplayStore()`) */
  readonly replayStore?: ReplayStore;
  /** How long the replay store may take to answer, in ms; slower is a 503. @default 1000 */
  readonly replayTimeoutMs?: number;
}

/** The validated `dpop` option. */
export interface DpopSettings {
  readonly mode: DpopMode;
  readonly algorithms: readonly AsymmetricAlgorithm[];
  /** Proof checks without the nonce (checked after the binding, by the request flow). */
  readonly proof: DpopProofSettings;
  readonly nonces: DpopNonces | undefined;
  readonly replayStore: ReplayStore;
  readonly replayTimeoutMs: number;
}

export type VerifierOptions<TSchema extends StandardSchemaV1 | undefined = undefined> =
  CommonOptions<TSchema> & IssuerSelection;

export interface IssuerEntry {
  readonly issuer: string;
  readonly algorithms: ReadonlySet<Algorithm>;
  readonly keys: KeySource;
  readonly rules: ClaimRules;
}

export interface NormalizedOptions {
  readonly issuers: ReadonlyMap<string, IssuerEntry>;
  readonly algorithms: ReadonlySet<Algorithm>;
  readonly maxTokenLength: number;
  readonly strict: boolean;
  readonly maxTokenAge: number | undefined;
  readonly clockTolerance: number;
  readonly scopeClaims: readonly string[];
  readonly schema: StandardSchemaV1 | undefined;
  readonly tokenCacheMax: number | undefined;
  readonly presentation: PresentationSettings;
  readonly engine: Engine;
  readonly keyCache: KeyCache | undefined;
  readonly selectIssuers: IssuerSelector | undefined;
  readonly dpop: DpopSettings;
  readonly publicOrigin: PublicOrigin | undefined;
  /** The `logger` option (undefined when absent or false). */
  readonly logger: Logger | undefined;
  readonly onRefusal: ((error: AuthError) => void) | undefined;
}

const DEFAULTS = {
  clockTolerance: 5,
  maxTokenLength: 8192,
  timeoutMs: 5000,
  cacheMaxAgeMs: 600_000,
  cooldownMs: 30_000,
  failureBackoffMs: 30_000,
  maxJwksBytes: 65_536,
} as const;

const MAX_CLOCK_TOLERANCE = 300;

const CONSOLE_LOGGER: Logger = Object.freeze({
  warn: (message: string, details?: Readonly<Record<string, unknown>>) =>
    console.warn(message, details ?? ''),
});
const MIN_SECRET_BYTES = 32;

function invalid(option: string, expected: string): TypeError {
  return new TypeError(`"${option}" option must be ${expected}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positive(value: unknown, option: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(option, 'a positive finite number');
  }
  return value;
}

function positiveInteger(value: unknown, option: string, fallback: number | undefined): number | undefined {
  const number = positive(value, option, fallback);
  if (number !== undefined && !Number.isSafeInteger(number)) throw invalid(option, 'a positive integer');
  return number;
}

function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(option, 'a boolean');
  return value;
}

function stringList(value: unknown, option: string): readonly string[] {
  const list = typeof value === 'string' ? [value] : value;
  // RegExps are refused by type: stateful /g patterns broke fast-jwt (CVE-2026-35040).
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && item)) {
    throw invalid(option, 'a non-empty string or a non-empty array of non-empty strings');
  }
  return Object.freeze([...new Set(list as string[])]);
}

function algorithmList(value: unknown, option: string, fallback: readonly Algorithm[]): readonly Algorithm[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0) throw invalid(option, 'a non-empty array of algorithms');
  for (const alg of value) {
    if (!isAlgorithm(alg)) {
      throw invalid(option, `a list of ${Object.keys(ALGORITHMS).join(', ')} (got ${JSON.stringify(alg)})`);
    }
  }
  return Object.freeze([...new Set(value as Algorithm[])]);
}

function secretBytes(value: unknown, algorithms: readonly Algorithm[], option: string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = new TextEncoder().encode(value);
  else if (value instanceof Uint8Array) bytes = new Uint8Array(value);
  else throw invalid(option, 'a string or a Uint8Array');
  // RFC 7518 3.2: a key at least as long as the hash output; 32 bytes at the very least.
  const needed = Math.max(MIN_SECRET_BYTES, ...algorithms.map((alg) => ALGORITHMS[alg].hashBytes));
  if (bytes.length < needed) {
    throw invalid(option, `at least ${needed} bytes of random data for ${algorithms.join(', ')}`);
  }
  return bytes;
}

function normalizeDomain(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw invalid('domain', 'a host name such as tenant.us.auth0.com');
  const host = value.replace(/^https:\/\//i, '').replace(/\/$/, '');
  let url: URL | undefined;
  try {
    url = new URL(`https://${host}`);
  } catch {}
  if (!url || url.host !== host.toLowerCase() || /[/?#@]/.test(host)) {
    throw invalid('domain', 'a host name such as tenant.us.auth0.com');
  }
  return url.host;
}

/** Every key of every member of a union (`keyof` of a union gives only the shared ones). */
type KeysOfUnion<T> = T extends unknown ? keyof T : never;

// Derived from the option types: a name missing here, or one the types do not have, fails to
// compile, so the list of accepted names cannot drift from the documented options.
const ISSUER_OPTION_NAMES: Readonly<Record<KeysOfUnion<IssuerOptions>, true>> = {
  issuer: true,
  audience: true,
  algorithms: true,
  jwksUri: true,
  jwks: true,
  secret: true,
  publicKey: true,
  jwk: true,
};
const OPTION_NAMES: Readonly<Record<KeysOfUnion<VerifierOptions<StandardSchemaV1>>, true>> = {
  ...ISSUER_OPTION_NAMES,
  domain: true,
  issuers: true,
  clockTolerance: true,
  maxTokenAge: true,
  maxTokenLifetime: true,
  requiredClaims: true,
  strict: true,
  maxTokenLength: true,
  scopeClaims: true,
  claims: true,
  fetch: true,
  timeoutMs: true,
  cacheMaxAgeMs: true,
  cooldownMs: true,
  failureBackoffMs: true,
  maxJwksBytes: true,
  tokenCache: true,
  allowInsecureLoopback: true,
  realm: true,
  exposeReasons: true,
  resourceMetadata: true,
  crypto: true,
  logger: true,
  onRefusal: true,
  keyCache: true,
  selectIssuers: true,
  dpop: true,
  publicOrigin: true,
};
const DPOP_OPTION_NAMES: Readonly<Record<keyof DpopOptions, true>> = {
  mode: true,
  algorithms: true,
  maxAge: true,
  clockTolerance: true,
  nonce: true,
  replayStore: true,
  replayTimeoutMs: true,
};
const KNOWN_DPOP_OPTIONS: ReadonlySet<string> = new Set(Object.keys(DPOP_OPTION_NAMES));
const DPOP_MODES: readonly DpopMode[] = ['disabled', 'allowed', 'required'];
const DEFAULT_REPLAY_TIMEOUT_MS = 1000;

/** Validates and defaults the `dpop` option. @throws TypeError naming `dpop.<option>` */
function dpopOption(value: unknown, engine: EngineName, maxTokenLength: number): DpopSettings {
  if (value !== undefined && !isPlainObject(value)) throw invalid('dpop', 'an object');
  const o = (value ?? {}) as Record<string, unknown>;
  rejectUnknownOptions(o, KNOWN_DPOP_OPTIONS, 'dpop.');
  const mode = o.mode === undefined ? 'allowed' : o.mode;
  if (!DPOP_MODES.includes(mode as DpopMode))
    throw invalid('dpop.mode', '"disabled", "allowed" or "required"');
  const proof = dpopProofSettings({
    ...(o.algorithms !== undefined && { algorithms: o.algorithms as readonly AsymmetricAlgorithm[] }),
    ...(o.maxAge !== undefined && { maxAge: o.maxAge as number }),
    ...(o.clockTolerance !== undefined && { clockTolerance: o.clockTolerance as number }),
    // A proof is held to the token's cap (#93): both travel in request headers.
    maxLength: maxTokenLength,
    engine,
  });
  const nonces = o.nonce === undefined ? undefined : createDpopNonces(o.nonce as DpopNonceOptions);
  const store = o.replayStore;
  if (store !== undefined && (!isPlainObject(store) || typeof store.claim !== 'function')) {
    throw invalid('dpop.replayStore', 'an object with a claim(key, expiresAt) method (a ReplayStore)');
  }
  const replayTimeoutMs = positive(
    o.replayTimeoutMs,
    'dpop.replayTimeoutMs',
    DEFAULT_REPLAY_TIMEOUT_MS,
  ) as number;
  return Object.freeze({
    mode: mode as DpopMode,
    algorithms: proof.algorithms,
    proof,
    nonces,
    replayStore: (store as ReplayStore | undefined) ?? createMemoryReplayStore(),
    replayTimeoutMs,
  });
}
const KEY_SOURCES = ['jwksUri', 'jwks', 'secret', 'publicKey', 'jwk'] as const;
const KNOWN_ISSUER_OPTIONS: ReadonlySet<string> = new Set(Object.keys(ISSUER_OPTION_NAMES));
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(Object.keys(OPTION_NAMES));

// A misspelt security option (`clockTolerence`, `audiance`) must not silently fall back to a default.
function rejectUnknownOptions(
  record: Record<string, unknown>,
  known: ReadonlySet<string>,
  prefix: string,
): void {
  for (const key of Object.keys(record)) {
    if (!known.has(key)) throw new TypeError(`"${prefix}${key}" is not a scopegate option`);
  }
}

/** Validates and defaults the options once, at `createVerifier`. */
export function normalizeOptions(input: unknown): NormalizedOptions {
  // Only `undefined` means "use the default": an explicit null is a mistake worth reporting.
  if (!isPlainObject(input)) throw new TypeError('createVerifier() expects an options object');
  const o = input as Record<string, unknown>;
  rejectUnknownOptions(o, KNOWN_OPTIONS, '');

  const engineName = o.crypto === undefined ? DEFAULT_ENGINE : o.crypto;
  if ((engineName !== 'node' && engineName !== 'webcrypto') || !engineAvailable(engineName)) {
    throw invalid('crypto', `"node" or "webcrypto", available in this runtime`);
  }
  const engine = getEngine(engineName);

  const clockTolerance = o.clockTolerance === undefined ? DEFAULTS.clockTolerance : o.clockTolerance;
  if (
    typeof clockTolerance !== 'number' ||
    !Number.isFinite(clockTolerance) ||
    clockTolerance < 0 ||
    clockTolerance > MAX_CLOCK_TOLERANCE
  ) {
    throw invalid('clockTolerance', `a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE}`);
  }
  const maxTokenAge = positive(o.maxTokenAge, 'maxTokenAge', undefined);
  const maxTokenLifetime = positive(o.maxTokenLifetime, 'maxTokenLifetime', undefined);
  const maxTokenLength = positiveInteger(
    o.maxTokenLength,
    'maxTokenLength',
    DEFAULTS.maxTokenLength,
  ) as number;
  const strict = booleanOption(o.strict, 'strict', false);
  const allowInsecureLoopback = booleanOption(o.allowInsecureLoopback, 'allowInsecureLoopback', false);
  const exposeReasons = booleanOption(o.exposeReasons, 'exposeReasons', true);
  // An empty list is a natural "nothing beyond the defaults", unlike an empty scopeClaims.
  const requiredClaims =
    o.requiredClaims === undefined || (Array.isArray(o.requiredClaims) && o.requiredClaims.length === 0)
      ? []
      : stringList(o.requiredClaims, 'requiredClaims');
  const scopeClaims =
    o.scopeClaims === undefined ? Object.freeze(['scope', 'scp']) : stringList(o.scopeClaims, 'scopeClaims');

  const realm = o.realm === undefined ? 'api' : o.realm;
  if (typeof realm !== 'string' || realm === '') throw invalid('realm', 'a non-empty string');
  const resourceMetadata = o.resourceMetadata;
  if (
    resourceMetadata !== undefined &&
    (typeof resourceMetadata !== 'string' || !isAllowedUrl(resourceMetadata, allowInsecureLoopback))
  ) {
    throw invalid('resourceMetadata', 'an https URL (http on loopback only with "allowInsecureLoopback")');
  }
  const dpop = dpopOption(o.dpop, engineName, maxTokenLength);
  const publicOrigin = validatePublicOrigin(o.publicOrigin);
  const presentation: PresentationSettings = Object.freeze({
    realm,
    exposeReasons,
    ...(resourceMetadata !== undefined && { resourceMetadata }),
    dpop: Object.freeze({ mode: dpop.mode, algorithms: dpop.algorithms }),
  });

  let schema: StandardSchemaV1 | undefined;
  if (o.claims !== undefined) {
    const standard =
      isPlainObject(o.claims) || typeof o.claims === 'function'
        ? (o.claims as Record<string, unknown>)['~standard']
        : undefined;
    if (!isPlainObject(standard) || typeof standard.validate !== 'function') {
      throw invalid('claims', 'a Standard Schema (zod, valibot, arktype...)');
    }
    schema = o.claims as StandardSchemaV1;
  }

  let tokenCacheMax: number | undefined;
  if (o.tokenCache !== undefined) {
    if (!isPlainObject(o.tokenCache)) throw invalid('tokenCache', 'an object { max }');
    tokenCacheMax = positiveInteger(o.tokenCache.max, 'tokenCache.max', undefined);
    if (tokenCacheMax === undefined) throw invalid('tokenCache.max', 'a positive integer');
  }

  const fetchImpl = o.fetch === undefined ? globalThis.fetch?.bind(globalThis) : o.fetch;
  if (typeof fetchImpl !== 'function') throw invalid('fetch', 'a fetch function');
  const http: HttpLimits = Object.freeze({
    fetch: fetchImpl as FetchLike,
    timeoutMs: positive(o.timeoutMs, 'timeoutMs', DEFAULTS.timeoutMs) as number,
    maxBytes: positiveInteger(o.maxJwksBytes, 'maxJwksBytes', DEFAULTS.maxJwksBytes) as number,
  });
  const timing = Object.freeze({
    cacheMaxAgeMs: positive(o.cacheMaxAgeMs, 'cacheMaxAgeMs', DEFAULTS.cacheMaxAgeMs) as number,
    cooldownMs: positive(o.cooldownMs, 'cooldownMs', DEFAULTS.cooldownMs) as number,
    failureBackoffMs: positive(o.failureBackoffMs, 'failureBackoffMs', DEFAULTS.failureBackoffMs) as number,
  });
  if (
    o.logger !== undefined &&
    o.logger !== false &&
    (!isPlainObject(o.logger) || typeof o.logger.warn !== 'function')
  ) {
    throw invalid('logger', 'an object with a warn(message, details) method, or false');
  }
  const logger = o.logger === false ? undefined : (o.logger as Logger | undefined);
  // Setup mistakes that never heal are worth a console line even when no logger was given.
  const setupLogger = o.logger === false ? undefined : (logger ?? CONSOLE_LOGGER);
  if (o.onRefusal !== undefined && typeof o.onRefusal !== 'function') {
    throw invalid('onRefusal', 'a function (error) => void');
  }
  const onRefusal = o.onRefusal as ((error: AuthError) => void) | undefined;

  const keyCache = keyCacheOption(o.keyCache);
  const selectIssuers = o.selectIssuers;
  if (selectIssuers !== undefined && typeof selectIssuers !== 'function') {
    throw invalid('selectIssuers', 'a function (request) => issuer | issuers');
  }

  // Collect the issuers, each with its own key source options.
  const selections = ['domain', 'issuer', 'issuers'].filter((name) => o[name] !== undefined);
  if (selections.length !== 1) {
    throw new TypeError('exactly one of the "domain", "issuer" or "issuers" options is required');
  }
  const defaultAudience = o.audience === undefined ? undefined : stringList(o.audience, 'audience');
  const sources: Record<string, unknown>[] = [];
  if (o.domain !== undefined) {
    for (const key of KEY_SOURCES) {
      if (o[key] !== undefined) throw new TypeError(`"${key}" option cannot be combined with "domain"`);
    }
    const host = normalizeDomain(o.domain);
    sources.push({
      issuer: `https://${host}/`,
      jwksUri: `https://${host}/.well-known/jwks.json`,
      algorithms: o.algorithms,
    });
  } else if (o.issuer !== undefined) {
    for (const issuer of stringList(o.issuer, 'issuer')) {
      sources.push({
        issuer,
        jwksUri: o.jwksUri,
        jwks: o.jwks,
        secret: o.secret,
        publicKey: o.publicKey,
        jwk: o.jwk,
        algorithms: o.algorithms,
      });
    }
  } else {
    if (!Array.isArray(o.issuers) || o.issuers.length === 0) {
      throw invalid('issuers', 'a non-empty array of { issuer, ...key source }');
    }
    for (const key of KEY_SOURCES) {
      if (o[key] !== undefined) throw new TypeError(`"${key}" option belongs inside each entry of "issuers"`);
    }
    o.issuers.forEach((entry, index) => {
      if (!isPlainObject(entry)) throw invalid(`issuers[${index}]`, 'an object { issuer, ...key source }');
      rejectUnknownOptions(entry, KNOWN_ISSUER_OPTIONS, `issuers[${index}].`);
      sources.push({ ...entry, label: `issuers[${index}]` });
    });
  }

  const graph: GraphSettings = {
    engine,
    logger,
    setupLogger,
    http,
    timing,
    allowInsecureLoopback,
    presentation,
    keyCache,
  };
  const issuers = new Map<string, IssuerEntry>();
  const allAlgorithms = new Set<Algorithm>();
  for (const source of sources) {
    const label = (source.label as string | undefined) ?? '';
    const name = (option: string) => (label ? `${label}.${option}` : option);
    const issuer = source.issuer;
    if (typeof issuer !== 'string' || issuer === '') throw invalid(name('issuer'), 'a non-empty string');
    if (issuers.has(issuer)) throw invalid(name('issuer'), `unique (${issuer} is listed twice)`);
    const given = KEY_SOURCES.filter((key) => source[key] !== undefined);
    if (given.length > 1)
      throw new TypeError(
        `"${name(given[0] as string)}" and "${name(given[1] as string)}" options are exclusive`,
      );
    const audienceOption = label && source.audience !== undefined ? name('audience') : 'audience';
    const audience =
      source.audience !== undefined ? stringList(source.audience, audienceOption) : defaultAudience;
    if (!audience) throw invalid(audienceOption, 'a non-empty string or array of strings (it is required)');

    const symmetric = source.secret !== undefined;
    const algorithmsOption = label && source.algorithms !== undefined ? name('algorithms') : 'algorithms';
    let staticKey: StaticKey | undefined;
    if (source.publicKey !== undefined || source.jwk !== undefined) {
      // A JWK's own `alg` wins over the verifier-wide default of an `issuers` entry; a PEM takes it.
      const inherited = label && source.publicKey !== undefined ? o.algorithms : undefined;
      const given = source.algorithms !== undefined ? source.algorithms : inherited;
      const option = label && inherited === undefined ? name('algorithms') : algorithmsOption;
      staticKey = staticKeyOf(source, given === undefined ? undefined : algorithmList(given, option, []), {
        key: name(source.publicKey !== undefined ? 'publicKey' : 'jwk'),
        algorithms: option,
      });
    }
    const algorithms =
      staticKey?.algorithms ??
      algorithmList(
        source.algorithms !== undefined ? source.algorithms : label ? o.algorithms : undefined,
        algorithmsOption,
        symmetric ? ['HS256'] : ['RS256'],
      );
    for (const alg of algorithms) {
      if (isSymmetric(alg) !== symmetric) {
        throw invalid(
          label && source.algorithms !== undefined ? name('algorithms') : 'algorithms',
          symmetric ? 'HS256, HS384 or HS512 with "secret"' : 'asymmetric (HS* needs "secret")',
        );
      }
      allAlgorithms.add(alg);
    }

    let key: KeySpec;
    if (symmetric) {
      key = { kind: 'secret', bytes: secretBytes(source.secret, algorithms, name('secret')) };
    } else if (staticKey) {
      key = { kind: 'key', jwk: staticKey.jwk };
    } else if (source.jwks !== undefined) {
      key = { kind: 'jwks', jwks: source.jwks as JsonWebKeySet, option: name('jwks') };
    } else if (source.jwksUri !== undefined) {
      const jwksUri = source.jwksUri;
      if (typeof jwksUri !== 'string' || !isAllowedUrl(jwksUri, allowInsecureLoopback)) {
        throw invalid(name('jwksUri'), 'an https URL (http on loopback only with "allowInsecureLoopback")');
      }
      key = { kind: 'jwksUri', url: jwksUri };
    } else {
      if (!isAllowedUrl(issuer, allowInsecureLoopback)) {
        throw invalid(name('issuer'), 'an https URL for discovery (or give "jwksUri", "jwks" or "secret")');
      }
      key = { kind: 'discovery' };
    }
    const keys = buildKeySource({ issuer, algorithms, key }, graph);

    issuers.set(issuer, {
      issuer,
      algorithms: new Set(algorithms),
      keys,
      rules: Object.freeze({
        audience: new Set(audience),
        clockTolerance,
        maxTokenAge,
        maxTokenLifetime,
        requiredClaims: Object.freeze(['exp', ...requiredClaims]),
        strict,
      }),
    });
  }
  const kinds = new Set([...allAlgorithms].map(isSymmetric));
  if (kinds.size > 1) throw invalid('algorithms', 'all symmetric or all asymmetric within one verifier');

  return Object.freeze({
    issuers,
    algorithms: allAlgorithms,
    maxTokenLength,
    strict,
    maxTokenAge,
    clockTolerance,
    scopeClaims,
    schema,
    tokenCacheMax,
    presentation,
    engine,
    keyCache,
    selectIssuers: selectIssuers as IssuerSelector | undefined,
    dpop,
    publicOrigin,
    logger,
    onRefusal,
  });
}
