/**
 * The per-request auth state: lazy (nothing is verified until asked), memoized (one verification
 * per request), aware of time (a context that outlives its token re-verifies and is refused).
 */

import type { AuthScheme, Credentials as Extraction } from './credentials.js';
import { AuthError, isAuthError } from './errors.js';
import type { NormalizedOptions } from './options.js';
import { bindPresentation, type Presentation } from './presentation.js';
import type { AccessPolicy, RequestAuth, Verifier } from './types.js';

/** What the request auth needs of its verifier beyond the public interface. */
export interface VerifierInternals<TClaims> extends Verifier<TClaims> {
  /** When verified claims stop being valid (ms since the epoch). */
  validUntil(claims: object): number;
}

/** What a request's credentials turned out to be; `unreadable` when reading them threw. */
export type Credentials = Extraction | { readonly kind: 'unreadable'; readonly error: unknown };

const REFUSAL_DETAIL = {
  missing_token: 'credentials: no access token in the request',
  invalid_request: 'credentials: more than one credential, or a malformed Authorization header',
  token_too_large: 'credentials: the token is longer than maxTokenLength',
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
  #consulted = false;
  #presentation: Presentation | undefined;
  #reported = false;
  readonly #scheme: AuthScheme | undefined;

  constructor(verifier: VerifierInternals<TClaims>, extraction: Credentials, options: NormalizedOptions) {
    this.#verifier = verifier;
    // Until DPoP verification is integrated, the DPoP scheme stays what it was: a scheme that is
    // not ours, read as no credentials (401 missing_token).
    this.#extraction = 'scheme' in extraction && extraction.scheme === 'DPoP' ? MISSING : extraction;
    this.#options = options;
    this.#token = this.#extraction.kind === 'token' ? this.#extraction.token : null;
    this.#scheme = 'scheme' in this.#extraction ? this.#extraction.scheme : undefined;
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
    this.#claims ??= this.#resolve().then(
      (claims) => {
        this.#validUntil = this.#verifier.validUntil(claims);
        return claims;
      },
      (error: unknown) => {
        // The request knows more than its verifier (the scheme): its presentation wins.
        throw this.#report(isAuthError(error) ? bindPresentation(error, this.presentation, true) : error);
      },
    );
    return this.#claims;
  }

  #resolve(): Promise<TClaims> {
    switch (this.#extraction.kind) {
      case 'token':
        return this.#verifier.verify(this.#extraction.token);
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

  #refuse(reason: 'missing_token' | 'invalid_request' | 'token_too_large'): AuthError {
    return bindPresentation(new AuthError(reason, { detail: REFUSAL_DETAIL[reason] }), this.presentation);
  }

  /** How this request's refusals are presented: the verifier's settings and the request's scheme. */
  get presentation(): Presentation {
    this.#presentation ??= Object.freeze({
      ...this.#options.presentation,
      ...(this.#scheme && { scheme: this.#scheme }),
    });
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
