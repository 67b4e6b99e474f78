/**
 * The per-request auth state: lazy (nothing is verified until asked), memoized (one verification
 * per request), aware of time (a context that outlives its token re-verifies and is refused).
 */

import type { AuthScheme, Credentials as Extraction } from './credentials.js';
import { checkTokenBinding } from './dpop/binding.js';
import { type DpopCredentials, verifyDpopRequest } from './dpop/request.js';
import { AuthError, isAuthError } from './errors.js';
import type { NormalizedOptions } from './options.js';
import { bindPresentation, type Presentation } from './presentation.js';
import { type ScopeAlternatives, scopeRefusal } from './scopes.js';
import type { AccessPolicy, RequestAuth, Verifier, VerifyOptions } from './types.js';

/** What the request auth needs of its verifier beyond the public interface. */
export interface VerifierInternals<TClaims> extends Verifier<TClaims> {
  /** When verified claims stop being valid (ms since the epoch). */
  validUntil(claims: object): number;
  /** Verifies a token without judging its `cnf` (the request's scheme decides). */
  verifyToken(token: string, options?: VerifyOptions): Promise<TClaims>;
}

/** What a request's credentials turned out to be; `unreadable` when reading them threw. */
export type Credentials = Extraction | { readonly kind: 'unreadable'; readonly error: unknown };

const REFUSAL_DETAIL = {
  missing_token: 'credentials: no access token in the request',
  invalid_request: 'credentials: more than one credential, or a malformed Authorization header',
  token_too_large: 'credentials: the token is longer than maxTokenLength',
  dpop_required: 'scheme: a Bearer token, and dpop.mode is "required"',
} as const;

const MISSING: Credentials = Object.freeze({ kind: 'missing' });

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

export class LazyRequestAuth<TClaims extends object> implements RequestAuth<TClaims> {
  readonly #token: string | null;
  readonly #verifier: VerifierInternals<TClaims>;
  readonly #extraction: Credentials;
  readonly #options: NormalizedOptions;
  #claims: Promise<TClaims> | undefined;
  #validUntil: number | undefined;
  // The claims #claims resolved to, and scope decisions on them: adapters' synchronous path.
  #settled: TClaims | undefined;
  #decisions: Map<ScopeAlternatives, AuthError | null> | undefined;
  #consulted = false;
  #presentation: Presentation | undefined;
  #reported = false;
  readonly #scheme: AuthScheme | undefined;
  // The issuers this request accepts (`selectIssuers`), asked only when a token is verified.
  readonly #selection: (() => Promise<readonly string[]>) | undefined;
  // The DPoP key, once this request's proof and binding were verified (never before).
  #thumbprint: string | null = null;
  // The DPoP-Nonce this request's responses carry (nonces on, DPoP scheme).
  #nonce: string | undefined;

  constructor(
    verifier: VerifierInternals<TClaims>,
    extraction: Credentials,
    options: NormalizedOptions,
    selection?: () => Promise<readonly string[]>,
  ) {
    this.#verifier = verifier;
    this.#selection = selection;
    // `dpop.mode: 'disabled'`: the DPoP scheme is not ours, read as no credentials (401 missing_token).
    this.#extraction =
      options.dpop.mode === 'disabled' && 'scheme' in extraction && extraction.scheme === 'DPoP'
        ? MISSING
        : extraction;
    this.#options = options;
    this.#token = this.#extraction.kind === 'token' ? this.#extraction.token : null;
    this.#scheme = 'scheme' in this.#extraction ? this.#extraction.scheme : undefined;
  }

  get token(): string | null {
    this.#consulted = true;
    return this.#token;
  }

  get scheme(): AuthScheme | null {
    return this.#extraction.kind === 'token' ? this.#extraction.scheme : null;
  }

  get thumbprint(): string | null {
    return this.#thumbprint;
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
      this.#settled = undefined;
      this.#decisions = undefined;
    }
    this.#claims ??= this.#resolve().then(
      (claims) => {
        this.#validUntil = this.#verifier.validUntil(claims);
        this.#settled = claims;
        return claims;
      },
      (error: unknown) => {
        // The request knows more than its verifier (the scheme): its presentation wins.
        throw this.#report(isAuthError(error) ? bindPresentation(error, this.presentation, true) : error);
      },
    );
    return this.#claims;
  }

  /**
   * The claims `claims()` resolved to while they are valid, else undefined (`claims()` then
   * verifies, or re-verifies at expiry). Internal: the adapters' synchronous path.
   */
  settled(): TClaims | undefined {
    return this.#settled !== undefined && Date.now() < (this.#validUntil as number)
      ? this.#settled
      : undefined;
  }

  /**
   * A scope requirement decided synchronously on the settled claims: `null` when granted, else the
   * refusal (as `require()` rejects with it), cached per requirement while the claims stay;
   * `undefined` when the claims are not settled (ask `require()`).
   */
  decide(scopes: ScopeAlternatives): AuthError | null | undefined {
    const claims = this.settled();
    if (claims === undefined) return undefined;
    let decision = this.#decisions?.get(scopes);
    if (decision === undefined) {
      decision = scopeRefusal(this.#verifier.scopes(claims), scopes);
      if (decision) bindPresentation(decision, this.presentation, true);
      this.#decisions ??= new Map();
      this.#decisions.set(scopes, decision);
    }
    // A refusal decided here is reported like one from require(): once per request.
    return decision ? this.#report(decision) : decision;
  }

  /** Reports a refusal decided outside `claims()` / `require()` (a synchronous claim check). */
  refused<T>(error: T): T {
    return this.#report(error);
  }

  #resolve(): Promise<TClaims> {
    switch (this.#extraction.kind) {
      case 'token': {
        const credentials = this.#extraction;
        const run = (options?: VerifyOptions) =>
          credentials.scheme === 'DPoP'
            ? this.#dpop(credentials, options)
            : this.#bearer(credentials.token, options);
        // The issuers this request accepts (`selectIssuers`), asked only when a token is verified.
        return this.#selection ? this.#selection().then((issuers) => run({ issuers })) : run();
      }
      case 'missing':
        return Promise.reject(this.#refuse('missing_token'));
      case 'invalid_request':
        return Promise.reject(this.#refuse('invalid_request'));
      case 'too_large':
        return Promise.reject(this.#refuse('token_too_large'));
      case 'unreadable':
        return Promise.reject(this.#extraction.error);
    }
  }

  /**
   * The one place a request's refusal is reported (logger with its detail, `onRefusal`): once per
   * request, however many fields or procedures of it were denied. Returns the error, to rethrow.
   */
  #report<T>(error: T): T {
    if (this.#reported || !isAuthError(error)) return error;
    this.#reported = true;
    const { logger, onRefusal } = this.#options;
    logger?.warn('scopegate: refused a request', {
      status: error.status,
      reason: error.reason,
      ...(error.detail !== undefined && { detail: error.detail }),
    });
    if (onRefusal) {
      // A metrics callback must never change the response: what it throws or rejects is dropped.
      try {
        const result: unknown = onRefusal(error);
        if (result instanceof Promise) result.catch(() => {});
      } catch {}
    }
    return error;
  }

  #refuse(reason: 'missing_token' | 'invalid_request' | 'token_too_large' | 'dpop_required'): AuthError {
    return bindPresentation(new AuthError(reason, { detail: REFUSAL_DETAIL[reason] }), this.presentation);
  }

  /** Bearer (RFC 6750): refused in `required` mode; a sender-constrained token is refused (RFC 9449 7.2). */
  async #bearer(token: string, options?: VerifyOptions): Promise<TClaims> {
    // verify() refuses any `cnf` with invalid_token_binding, whatever the mode (RFC 9449 7.2).
    const claims = await this.#verifier.verify(token, options);
    if (this.#options.dpop.mode === 'required') throw this.#refuse('dpop_required');
    return claims;
  }

  /**
   * DPoP (RFC 9449): the token, the proof, the binding, the nonce, the `jti` (dpop/request.ts),
   * once per request. A context that outlives its token (a WebSocket) re-verifies the token and
   * its binding to the key proven at connect, not the proof: that proof was claimed already.
   */
  async #dpop(credentials: DpopCredentials, options?: VerifyOptions): Promise<TClaims> {
    try {
      const proven = this.#thumbprint;
      if (proven !== null) {
        const claims = await this.#verifier.verifyToken(credentials.token, options);
        checkTokenBinding(claims as Readonly<Record<string, unknown>>, proven);
        return claims;
      }
      const { claims, thumbprint } = await verifyDpopRequest(
        credentials,
        (token) => this.#verifier.verifyToken(token, options),
        this.#options.dpop,
      );
      this.#thumbprint = thumbprint;
      return claims;
    } finally {
      // Every DPoP response carries a nonce once nonces are on: make sure one is at hand.
      await this.#issueNonce();
    }
  }

  async #issueNonce(): Promise<void> {
    const nonces = this.#options.dpop.nonces;
    if (nonces === undefined || this.#nonce !== undefined) return;
    this.#nonce = await nonces.issue(Math.floor(Date.now() / 1000));
    this.#presentation = undefined;
  }

  /**
   * How this request's refusals and responses are presented: the verifier's settings, the
   * request's scheme, and for DPoP requests with nonces on, the `DPoP-Nonce` to send.
   */
  get presentation(): Presentation {
    if (this.#presentation === undefined) {
      const nonces = this.#scheme === 'DPoP' ? this.#options.dpop.nonces : undefined;
      if (nonces && this.#nonce === undefined) this.#nonce = nonces.current(Math.floor(Date.now() / 1000));
      const dpopNonce = nonces ? this.#nonce : undefined;
      this.#presentation = Object.freeze({
        ...this.#options.presentation,
        ...(this.#scheme && { scheme: this.#scheme }),
        ...(dpopNonce !== undefined && { dpopNonce }),
      });
    }
    return this.#presentation;
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
    if (policy) {
      try {
        await this.#verifier.authorize(claims, policy);
      } catch (error) {
        throw this.#report(isAuthError(error) ? bindPresentation(error, this.presentation, true) : error);
      }
    }
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

/**
 * Binds the presentation of the request behind `auth` (a context's `auth`) to an AuthError that
 * has none yet: one the application threw itself (`checkScopes` in a procedure or resolver). A
 * foreign `auth` leaves the error as it is (default presentation).
 */
export function bindToRequest<T>(error: T, auth: unknown): T {
  return auth instanceof LazyRequestAuth ? bindPresentation(error, auth.presentation) : error;
}

/**
 * The presentation of the request behind `auth` (a context's `auth`), for the headers of a
 * response that was not refused (`Vary`, `DPoP-Nonce`); undefined for a foreign `auth`.
 */
export function presentationOfRequest(auth: unknown): Presentation | undefined {
  return auth instanceof LazyRequestAuth ? auth.presentation : undefined;
}
