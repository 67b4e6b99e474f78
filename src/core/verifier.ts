/**
 * The verifier: one per API, shared by every request and by both adapters.
 *
 * Order of work for a token (cheapest refusal first, nothing trusted before the signature):
 * length cap -> strict compact parse -> header policy (alg allow-list, crit, JWE parameters)
 * -> issuer routed by `iss` against the allow-list (no network for an unknown issuer)
 * -> key by (alg, kid) from that issuer only -> signature -> claims -> custom schema.
 */
import { isAlgorithm } from './algorithms.js';
import { isAccessTokenType, validateClaims } from './claims.js';
import { AuthError, type AuthErrorReason, isAuthError } from './errors.js';
import { type Extraction, extractToken, type RequestLike } from './extract.js';
import { parseCompactJws } from './jws.js';
import { type NormalizedOptions, normalizeOptions, type VerifierOptions } from './options.js';
import { type ClaimCheck, checkClaims, checkScopes, grantedScopes, type ScopeRequirement } from './scopes.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { TokenCache } from './token-cache.js';

/** The registered claims of a verified access token (RFC 7519 4.1, RFC 9068 2.2). */
export interface JwtClaims {
  readonly iss: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly sub?: string;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly client_id?: string;
  readonly scope?: unknown;
  readonly scp?: unknown;
  readonly [claim: string]: unknown;
}

/** The claims type of a verifier: registered claims plus the `claims` schema's output. */
export type ClaimsOf<TSchema extends StandardSchemaV1 | undefined> = TSchema extends StandardSchemaV1
  ? JwtClaims & Readonly<StandardSchemaV1.InferOutput<TSchema>>
  : JwtClaims;

/** What an operation requires beyond a valid token. */
export interface AccessPolicy<TClaims = JwtClaims> {
  readonly scopes?: ScopeRequirement;
  readonly claims?: ClaimCheck<TClaims>;
}

/**
 * The auth state of one request, lazy and memoized: nothing is verified until asked, and a
 * request verifies at most once however many times it asks.
 */
export interface RequestAuth<TClaims = JwtClaims> {
  /** The bearer token, or null when the request carries no (well-formed) one. */
  readonly token: string | null;
  /** The verified claims. Rejects with {@link AuthError}, `missing_token` when there is no token. */
  claims(): Promise<TClaims>;
  /** Like `claims()`, but null when there is no token. A bad token still rejects. */
  optional(): Promise<TClaims | null>;
  /** The scopes the verified token grants. */
  scopes(): Promise<ReadonlySet<string>>;
  /** The verified claims once the policy holds; rejects with 401/403 {@link AuthError}s. */
  require(policy?: AccessPolicy<TClaims>): Promise<TClaims>;
  /**
   * Resolves, once the verified token stops being valid (`exp` plus the clock tolerance, or
   * `maxTokenAge`), with the error a verification then gives (`token_expired`...). Rejects like
   * `claims()` when the token is not valid to begin with: such errors resolve too. The timer does
   * not keep the process alive; an aborted `signal` stops the wait (rejects with its reason).
   */
  expired(signal?: AbortSignal): Promise<AuthError>;
  /**
   * True once anything read the request's credentials (`token`, `claims()`...): the response then
   * depends on the Authorization header (`Cache-Control: private`, `Vary: Authorization`).
   */
  readonly consulted: boolean;
}

export interface Verifier<TClaims = JwtClaims> {
  /** Verifies a bare JWT. @throws AuthError */
  verify(token: string): Promise<TClaims>;
  /**
   * The per-request auth state of a fetch `Request`, `Headers`, Node request, header value... or
   * of a function returning one (adapters: reading an exotic request then never throws here).
   * Never throws: a request whose credentials cannot be read rejects when asked.
   */
  authenticate(request: RequestLike | (() => RequestLike)): RequestAuth<TClaims>;
  /** The scopes granted by verified claims, from the configured `scopeClaims`. */
  scopes(claims: TClaims): ReadonlySet<string>;
  /** Checks a policy against verified claims. @throws AuthError 403 */
  authorize(claims: TClaims, policy: AccessPolicy<TClaims>): Promise<void>;
  /** Fetches discovery metadata and keys now, so the first request does not wait. @throws AuthError 503 */
  warmup(): Promise<void>;
}

// Header parameters that only JWE uses: their presence means the token is not ours (SECURITY.md #51).
const JWE_PARAMETERS = ['enc', 'zip', 'epk', 'apu', 'apv', 'iv', 'tag', 'p2s', 'p2c'] as const;

/** Why a protected header is refused, or null. */
function headerProblem(
  header: Readonly<Record<string, unknown>>,
  strict: boolean,
): Exclude<AuthErrorReason, 'invalid_token'> | null {
  // No extension is understood, so any `crit` makes the JWS invalid (RFC 7515 4.1.11).
  if (Object.hasOwn(header, 'crit')) return 'malformed_token';
  for (const name of JWE_PARAMETERS) if (Object.hasOwn(header, name)) return 'malformed_token';
  // Nested JWTs are not supported: never trust an inner token on the outer signature.
  if (typeof header.cty === 'string' && header.cty.toUpperCase() === 'JWT') return 'invalid_token_type';
  if (strict && !isAccessTokenType(header.typ)) return 'invalid_token_type';
  return null;
}

/**
 * Creates a verifier. Options are validated here, once.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'scopegate';
 * const verifier = createVerifier({ domain: 'tenant.us.auth0.com', audience: 'https://api.example.com' });
 * const claims = await verifier.verify(token);
 * ```
 * @throws TypeError naming the first invalid option
 */
export function createVerifier<TSchema extends StandardSchemaV1 | undefined = undefined>(
  options: VerifierOptions<TSchema>,
): Verifier<ClaimsOf<TSchema>> {
  return new TokenVerifier<ClaimsOf<TSchema>>(normalizeOptions(options));
}

class TokenVerifier<TClaims extends object> implements Verifier<TClaims> {
  readonly #options: NormalizedOptions;
  readonly #cache: TokenCache<TClaims> | undefined;
  readonly #scopes = new WeakMap<object, ReadonlySet<string>>();

  constructor(options: NormalizedOptions) {
    this.#options = options;
    this.#cache = options.tokenCacheMax ? new TokenCache(options.tokenCacheMax) : undefined;
  }

  #fail(reason: Exclude<AuthErrorReason, 'invalid_token'>, cause?: unknown): AuthError {
    return new AuthError(reason, { presentation: this.#options.presentation, cause });
  }

  async verify(token: string): Promise<TClaims> {
    const options = this.#options;
    if (typeof token !== 'string' || token === '') throw this.#fail('malformed_token');
    if (token.length > options.maxTokenLength) throw this.#fail('token_too_large');
    const cached = this.#cache?.get(token, Date.now());
    if (cached) return cached;

    const jws = parseCompactJws(token);
    if (!jws) throw this.#fail('malformed_token');
    const { header, payload } = jws;
    const alg = header.alg;
    if (!isAlgorithm(alg) || !options.algorithms.has(alg)) throw this.#fail('unsupported_algorithm');
    const headerProblem = this.#headerProblem(header);
    if (headerProblem) throw this.#fail(headerProblem);

    // Route by the (unverified) iss: an issuer outside the allow-list costs no network call.
    const iss = Object.hasOwn(payload, 'iss') ? payload.iss : undefined;
    const issuer = typeof iss === 'string' ? options.issuers.get(iss) : undefined;
    if (!issuer) throw this.#fail('invalid_issuer');
    if (!issuer.algorithms.has(alg)) throw this.#fail('unsupported_algorithm');

    const kid = Object.hasOwn(header, 'kid') ? header.kid : undefined;
    const keys = issuer.keys.cached(alg, kid) ?? (await issuer.keys.resolve(alg, kid));
    let valid = false;
    for (const key of keys) {
      const result = options.engine.verify(key, jws.signingInput, jws.signature);
      if (typeof result === 'boolean' ? result : await result) {
        valid = true;
        break;
      }
    }
    if (!valid) throw this.#fail('invalid_signature');

    const now = Math.floor(Date.now() / 1000);
    validateClaims(payload, issuer.rules, now, options.presentation);

    let claims: object = payload;
    if (options.schema) {
      let result = options.schema['~standard'].validate(payload);
      if (result instanceof Promise) result = await result;
      if (result.issues) throw this.#fail('invalid_claims', result.issues);
      // Object schemas usually strip unknown keys: the registered claims stay, the schema's
      // output (parsed, defaulted values) wins for the keys it knows.
      claims = { ...payload, ...(result.value as object) };
    }
    // Cached claims are shared between requests, so they must not be writable.
    if (this.#cache) this.#cache.set(token, Object.freeze(claims) as TClaims, this.#expiry(payload));
    return claims as TClaims;
  }

  // Headers are shared objects (see jws.ts), so their verdict is computed once per header.
  readonly #headerVerdicts = new WeakMap<object, Exclude<AuthErrorReason, 'invalid_token'> | null>();

  #headerProblem(
    header: Readonly<Record<string, unknown>>,
  ): Exclude<AuthErrorReason, 'invalid_token'> | null {
    let verdict = this.#headerVerdicts.get(header);
    if (verdict === undefined) {
      verdict = headerProblem(header, this.#options.strict);
      this.#headerVerdicts.set(header, verdict);
    }
    return verdict;
  }

  /**
   * When claims returned by {@link verify} stop being valid (ms since the epoch): the time checks
   * of claims.ts solved for `now` (seconds are floored there). Computed on demand, off the hot path.
   */
  validUntil(claims: Readonly<Record<string, unknown>>): number {
    const { clockTolerance, maxTokenAge } = this.#options;
    let until = Math.ceil((claims.exp as number) + clockTolerance) * 1000;
    if (maxTokenAge !== undefined) {
      until = Math.min(until, (Math.floor((claims.iat as number) + clockTolerance + maxTokenAge) + 1) * 1000);
    }
    return until;
  }

  #expiry(payload: Readonly<Record<string, unknown>>): number {
    const exp = (payload.exp as number) * 1000;
    const { maxTokenAge } = this.#options;
    return maxTokenAge === undefined ? exp : Math.min(exp, ((payload.iat as number) + maxTokenAge) * 1000);
  }

  authenticate(request: RequestLike | (() => RequestLike)): RequestAuth<TClaims> {
    let credentials: Credentials;
    try {
      const source = typeof request === 'function' ? request() : request;
      credentials = extractToken(source, this.#options.maxTokenLength);
    } catch (error) {
      // A hostile or broken request object (a throwing getter): never throw here, reject later.
      credentials = { kind: 'unreadable', error };
    }
    return new LazyRequestAuth(this, credentials, this.#options);
  }

  scopes(claims: TClaims): ReadonlySet<string> {
    let scopes = this.#scopes.get(claims);
    if (!scopes) {
      scopes = grantedScopes(claims, this.#options.scopeClaims);
      this.#scopes.set(claims, scopes);
    }
    return scopes;
  }

  async authorize(claims: TClaims, policy: AccessPolicy<TClaims>): Promise<void> {
    const { presentation } = this.#options;
    if (policy.scopes !== undefined) checkScopes(this.scopes(claims), policy.scopes, presentation);
    if (policy.claims !== undefined) await checkClaims(claims, policy.claims, presentation);
  }

  async warmup(): Promise<void> {
    await Promise.all([...this.#options.issuers.values()].map((issuer) => issuer.keys.warmup()));
  }
}

/** What a request's credentials turned out to be; `unreadable` when reading them threw. */
type Credentials = Extraction | { readonly kind: 'unreadable'; readonly error: unknown };

// setTimeout's largest delay; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;
// If a re-verification still accepts the token at its computed end (clock adjustments), wait this long.
const RECHECK_MS = 1000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
    // Waiting for a token to expire must not keep a process alive on its own.
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

class LazyRequestAuth<TClaims extends object> implements RequestAuth<TClaims> {
  readonly #token: string | null;
  readonly #verifier: TokenVerifier<TClaims>;
  readonly #extraction: Credentials;
  readonly #options: NormalizedOptions;
  #claims: Promise<TClaims> | undefined;
  #validUntil: number | undefined;
  #consulted = false;

  constructor(verifier: TokenVerifier<TClaims>, extraction: Credentials, options: NormalizedOptions) {
    this.#verifier = verifier;
    this.#extraction = extraction;
    this.#options = options;
    this.#token = extraction.kind === 'token' ? extraction.token : null;
  }

  get token(): string | null {
    this.#consulted = true;
    return this.#token;
  }

  get consulted(): boolean {
    return this.#consulted;
  }

  claims(): Promise<TClaims> {
    this.#consulted = true;
    // A context can outlive its token (a WebSocket connection): past its validity the memo is
    // dropped and the token verified again, which then fails with the verifier's own error.
    if (this.#validUntil !== undefined && Date.now() >= this.#validUntil) {
      this.#claims = undefined;
      this.#validUntil = undefined;
    }
    this.#claims ??= this.#resolve().then((claims) => {
      this.#validUntil = this.#verifier.validUntil(claims as Readonly<Record<string, unknown>>);
      return claims;
    });
    return this.#claims;
  }

  #resolve(): Promise<TClaims> {
    const presentation = this.#options.presentation;
    switch (this.#extraction.kind) {
      case 'token':
        return this.#verifier.verify(this.#extraction.token);
      case 'missing':
        return Promise.reject(new AuthError('missing_token', { presentation }));
      case 'invalid_request':
        return Promise.reject(new AuthError('invalid_request', { presentation }));
      case 'too_large':
        return Promise.reject(new AuthError('token_too_large', { presentation }));
      case 'unreadable':
        return Promise.reject(this.#extraction.error);
    }
  }

  async optional(): Promise<TClaims | null> {
    this.#consulted = true;
    return this.#extraction.kind === 'missing' ? null : this.claims();
  }

  async scopes(): Promise<ReadonlySet<string>> {
    return this.#verifier.scopes(await this.claims());
  }

  async require(policy?: AccessPolicy<TClaims>): Promise<TClaims> {
    const claims = await this.claims();
    if (policy) await this.#verifier.authorize(claims, policy);
    return claims;
  }

  async expired(signal?: AbortSignal): Promise<AuthError> {
    for (;;) {
      try {
        await this.claims();
      } catch (error) {
        if (isAuthError(error)) return error;
        throw error;
      }
      const until = this.#validUntil ?? Date.now();
      await sleep(Math.max(until - Date.now(), RECHECK_MS * Number(until <= Date.now())), signal);
    }
  }
}
