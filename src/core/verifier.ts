/**
 * The verifier: one per API, shared by every request and by both adapters.
 *
 * Order of work for a token (cheapest refusal first, nothing trusted before the signature):
 * length cap -> strict compact parse -> header policy (alg allow-list, crit, JWE parameters)
 * -> issuer routed by `iss` against the allow-list (no network for an unknown issuer), and
 *    against the request's `selectIssuers` choice
 * -> key by (alg, kid) from that issuer only -> signature -> claims -> custom schema.
 */
import { isAlgorithm } from './algorithms.js';
import { isAccessTokenType, shown, validateClaims } from './claims.js';
import { type RequestLike, readCredentials } from './credentials.js';
import { AuthError, type AuthRefusalReason } from './errors.js';
import { issuersOption, runSelector, selectionProblem } from './issuer-selection.js';
import { parseCompactJws } from './jws.js';
import { diagnoseMalformed } from './malformed.js';
import { type NormalizedOptions, normalizeOptions, type VerifierOptions } from './options.js';
import { bindPresentation, type PresentationSettings } from './presentation.js';
import { type Credentials, LazyRequestAuth, type VerifierInternals } from './request-auth.js';
import { checkClaims, checkScopes, grantedScopes } from './scopes.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { verifierStatus } from './status.js';
import { TokenCache } from './token-cache.js';
import type {
  AccessPolicy,
  ClaimsOf,
  RequestAuth,
  Verifier,
  VerifierStatus,
  VerifyOptions,
} from './types.js';
import { type ValidityWindow, validityOf } from './validity.js';

// Header parameters that only JWE uses: their presence means the token is not ours (SECURITY.md #51).
const JWE_PARAMETERS = ['enc', 'zip', 'epk', 'apu', 'apv', 'iv', 'tag', 'p2s', 'p2c'] as const;

/** A refused header: the reason, and the rule for `AuthError.detail`. */
interface HeaderProblem {
  readonly reason: AuthRefusalReason;
  readonly detail: string;
}

/** Why a protected header is refused, or null. */
function headerProblem(header: Readonly<Record<string, unknown>>, strict: boolean): HeaderProblem | null {
  // No extension is understood, so any `crit` makes the JWS invalid (RFC 7515 4.1.11).
  if (Object.hasOwn(header, 'crit')) {
    return { reason: 'malformed_token', detail: 'header: "crit" is present (no extension is understood)' };
  }
  for (const name of JWE_PARAMETERS) {
    if (Object.hasOwn(header, name)) {
      return { reason: 'malformed_token', detail: `header: "${name}" is a JWE parameter (not a JWS)` };
    }
  }
  // Nested JWTs are not supported: never trust an inner token on the outer signature.
  if (typeof header.cty === 'string' && header.cty.toUpperCase() === 'JWT') {
    return { reason: 'invalid_token_type', detail: 'header: cty "JWT" (nested JWTs are refused)' };
  }
  if (strict && !isAccessTokenType(header.typ)) {
    return {
      reason: 'invalid_token_type',
      detail: `header: typ expected "at+jwt" (strict), got ${shown(header.typ)}`,
    };
  }
  return null;
}

/** Why an `alg` is refused, for `AuthError.detail`. */
function algorithmDetail(alg: unknown, accepted: ReadonlySet<string>, issuer?: string): string {
  return `header: alg ${shown(alg)} is not accepted${issuer === undefined ? '' : ` for issuer ${issuer}`} (algorithms: ${[...accepted].join(', ')})`;
}

/**
 * The claims schema's issues in a few words: how many, and the claim paths (never the messages,
 * which may quote token values).
 */
function schemaDetail(issues: readonly StandardSchemaV1.Issue[]): string {
  const paths = issues.slice(0, 5).map((issue) => {
    const path = (issue.path ?? []).map((segment) =>
      String(typeof segment === 'object' && segment !== null ? segment.key : segment),
    );
    return path.length > 0 ? path.join('.') : '(root)';
  });
  const more = issues.length > 5 ? `, and ${issues.length - 5} more` : '';
  return `claims schema: ${issues.length} issue(s) at ${paths.join(', ')}${more}`;
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
  const settings = normalizeOptions(options);
  const verifier = new TokenVerifier<ClaimsOf<TSchema>>(settings);
  settingsByVerifier.set(verifier, settings);
  return verifier;
}

// The normalized options of each verifier, for core modules that derive from the configuration
// (resource metadata). Internal: not exported from the package.
const settingsByVerifier = new WeakMap<object, NormalizedOptions>();

/** The normalized options of a verifier made by {@link createVerifier}, or undefined. */
export function settingsOf(verifier: unknown): NormalizedOptions | undefined {
  return typeof verifier === 'object' && verifier !== null ? settingsByVerifier.get(verifier) : undefined;
}

class TokenVerifier<TClaims extends object> implements VerifierInternals<TClaims> {
  readonly #options: NormalizedOptions;
  readonly #cache: TokenCache<TClaims> | undefined;
  readonly #scopes = new WeakMap<object, ReadonlySet<string>>();
  // Validity windows of the claims objects verify() returned (cached ones included: same object).
  readonly #windows = new WeakMap<object, ValidityWindow>();

  constructor(options: NormalizedOptions) {
    this.#options = options;
    this.#cache = options.tokenCacheMax ? new TokenCache(options.tokenCacheMax) : undefined;
  }

  #fail(reason: AuthRefusalReason, detail: string, cause?: unknown): AuthError {
    return new AuthError(reason, { detail, ...(cause !== undefined && { cause }) });
  }

  /** Its presentation settings, bound to every refusal it gives (see presentation.ts). */
  get presentation(): PresentationSettings {
    return this.#options.presentation;
  }

  async verify(token: string, verifyOptions?: VerifyOptions): Promise<TClaims> {
    const claims = await this.verifyToken(token, verifyOptions);
    // A bare token is a bearer token: a sender-constrained one (any `cnf`: DPoP `jkt`, mTLS
    // `x5t#S256`) proves nothing without its key (RFC 9449 7.2, RFC 8705 3).
    if (Object.hasOwn(claims, 'cnf')) {
      throw bindPresentation(
        new AuthError('invalid_token_binding', {
          detail: 'binding: a token with cnf (sender-constrained) presented as a bearer token',
        }),
        this.#options.presentation,
      );
    }
    return claims;
  }

  /** Verifies a token without judging its `cnf`: the request flow judges it by the scheme. */
  async verifyToken(token: string, verifyOptions?: VerifyOptions): Promise<TClaims> {
    try {
      return await this.#verify(token, issuersOption(verifyOptions?.issuers));
    } catch (error) {
      throw bindPresentation(error, this.#options.presentation);
    }
  }

  /** Why a token of `iss` is refused under the request's issuer selection (server-side detail). */
  #checkSelection(iss: string, selected: readonly string[] | undefined): void {
    const problem = selected && selectionProblem(iss, selected, this.#options.issuers);
    if (problem) throw new AuthError('invalid_issuer', { detail: problem });
  }

  async #verify(token: string, selected: readonly string[] | undefined): Promise<TClaims> {
    const options = this.#options;
    if (typeof token !== 'string' || token === '') throw this.#fail('malformed_token', 'token: empty');
    if (token.length > options.maxTokenLength) {
      throw this.#fail(
        'token_too_large',
        `token: ${token.length} characters, more than maxTokenLength ${options.maxTokenLength}`,
      );
    }
    const cached = this.#cache?.get(token, Date.now());
    if (cached) {
      // A cached token was verified for some request: this one's selection still applies.
      this.#checkSelection((cached as { iss: string }).iss, selected);
      return cached;
    }

    const jws = parseCompactJws(token);
    if (!jws) {
      // `alg: none` with its empty signature is an algorithm refusal, like any other alg outside the list.
      const { detail, header } = diagnoseMalformed(token);
      const alg = header?.alg;
      if (header && !(isAlgorithm(alg) && options.algorithms.has(alg))) {
        throw this.#fail('unsupported_algorithm', `${algorithmDetail(alg, options.algorithms)}; ${detail}`);
      }
      throw this.#fail('malformed_token', detail);
    }
    const { header, payload } = jws;
    const alg = header.alg;
    if (!isAlgorithm(alg) || !options.algorithms.has(alg)) {
      throw this.#fail('unsupported_algorithm', algorithmDetail(alg, options.algorithms));
    }
    const headerProblem = this.#headerProblem(header);
    if (headerProblem) throw this.#fail(headerProblem.reason, headerProblem.detail);

    // Route by the (unverified) iss: an issuer outside the allow-list costs no network call.
    const iss = Object.hasOwn(payload, 'iss') ? payload.iss : undefined;
    const issuer = typeof iss === 'string' ? options.issuers.get(iss) : undefined;
    if (!issuer) {
      throw this.#fail(
        'invalid_issuer',
        `iss: expected ${shown([...options.issuers.keys()])}, got ${shown(iss)}`,
      );
    }
    // Before any key is looked up: a token of another tenant costs no fetch.
    this.#checkSelection(issuer.issuer, selected);
    if (!issuer.algorithms.has(alg)) {
      throw this.#fail('unsupported_algorithm', algorithmDetail(alg, issuer.algorithms, issuer.issuer));
    }

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
    if (!valid) {
      throw this.#fail(
        'invalid_signature',
        `signature: does not verify with the ${keys.length} ${alg} key(s) of ${issuer.issuer} matching kid ${shown(kid)}`,
      );
    }

    const now = Math.floor(Date.now() / 1000);
    validateClaims(payload, issuer.rules, now);

    let claims: object = payload;
    if (options.schema) {
      let result = options.schema['~standard'].validate(payload);
      if (result instanceof Promise) result = await result;
      if (result.issues) throw this.#fail('invalid_claims', schemaDetail(result.issues), result.issues);
      // Object schemas usually strip unknown keys: the registered claims stay, the schema's
      // output (parsed, defaulted values) wins for the keys it knows.
      claims = { ...payload, ...(result.value as object) };
    }
    const window = validityOf(payload, options);
    // Cached claims are shared between requests, so they must not be writable.
    if (this.#cache) this.#cache.set(token, Object.freeze(claims) as TClaims, window.strictUntil);
    this.#windows.set(claims, window);
    return claims as TClaims;
  }

  // Headers are shared objects (see jws.ts), so their verdict is computed once per header.
  readonly #headerVerdicts = new WeakMap<object, HeaderProblem | null>();

  #headerProblem(header: Readonly<Record<string, unknown>>): HeaderProblem | null {
    let verdict = this.#headerVerdicts.get(header);
    if (verdict === undefined) {
      verdict = headerProblem(header, this.#options.strict);
      this.#headerVerdicts.set(header, verdict);
    }
    return verdict;
  }

  /**
   * When claims returned by {@link verify} stop being valid (ms since the epoch): the window
   * computed once from their signed payload. Unknown claims are past their validity (re-verify).
   */
  validUntil(claims: object): number {
    return this.#windows.get(claims)?.until ?? Date.now();
  }

  authenticate(request: RequestLike | (() => RequestLike)): RequestAuth<TClaims> {
    let credentials: Credentials;
    let source: RequestLike;
    try {
      source = typeof request === 'function' ? request() : request;
      credentials = readCredentials(source, this.#options);
    } catch (error) {
      // A hostile or broken request object (a throwing getter): never throw here, reject later.
      credentials = { kind: 'unreadable', error };
    }
    const select = this.#options.selectIssuers;
    // Run only when a token is verified, once per request (the claims are memoized).
    const selection = select && credentials.kind === 'token' ? () => runSelector(select, source) : undefined;
    return new LazyRequestAuth(this, credentials, this.#options, selection);
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
    try {
      if (policy.scopes !== undefined) checkScopes(this.scopes(claims), policy.scopes);
      if (policy.claims !== undefined) await checkClaims(claims, policy.claims);
    } catch (error) {
      throw bindPresentation(error, this.#options.presentation);
    }
  }

  async warmup(): Promise<void> {
    await Promise.all([...this.#options.issuers.values()].map((issuer) => issuer.keys.warmup()));
  }

  status(): Promise<VerifierStatus> {
    return verifierStatus(this.#options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#options.issuers.values()].map((issuer) => issuer.keys.close?.()));
  }
}
