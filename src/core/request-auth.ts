/**
 * The per-request auth state: lazy (nothing is verified until asked), memoized (one verification
 * per request), aware of time (a context that outlives its token re-verifies and is refused).
 */

import type { Credentials as Extraction } from './credentials.js';
import { AuthError, isAuthError } from './errors.js';
import type { NormalizedOptions } from './options.js';
import type { AccessPolicy, RequestAuth, Verifier } from './types.js';

/** What the request auth needs of its verifier beyond the public interface. */
export interface VerifierInternals<TClaims> extends Verifier<TClaims> {
  /** When verified claims stop being valid (ms since the epoch). */
  validUntil(claims: Readonly<Record<string, unknown>>): number;
}

/** What a request's credentials turned out to be; `unreadable` when reading them threw. */
export type Credentials = Extraction | { readonly kind: 'unreadable'; readonly error: unknown };

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

  constructor(verifier: VerifierInternals<TClaims>, extraction: Credentials, options: NormalizedOptions) {
    this.#verifier = verifier;
    // Until DPoP verification is integrated, the DPoP scheme stays what it was: a scheme that is
    // not ours, read as no credentials (401 missing_token).
    this.#extraction = 'scheme' in extraction && extraction.scheme === 'DPoP' ? MISSING : extraction;
    this.#options = options;
    this.#token = this.#extraction.kind === 'token' ? this.#extraction.token : null;
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
