/**
 * The public types of the verifier and of the per-request auth state.
 */

import type { AuthScheme, RequestLike } from './credentials.js';
import type { AuthError } from './errors.js';
import type { KeySourceStatus } from './key-sources.js';
import type { ClaimCheck, ScopeRequirement } from './scopes.js';
import type { StandardSchemaV1 } from './standard-schema.js';

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
  /** The access token (Bearer or DPoP), or null when the request carries no (well-formed) one. */
  readonly token: string | null;
  /** The scheme the token came with, or null without one (also `DPoP` in `dpop.mode: 'disabled'`). */
  readonly scheme: AuthScheme | null;
  /**
   * The RFC 7638 thumbprint of the DPoP key, once the request's proof and binding were verified
   * (`claims()` resolved); null before that and for Bearer requests: an unverified proof names
   * whatever key its sender chose. For audit logs and per-key rate limits.
   */
  readonly thumbprint: string | null;
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
  /**
   * Health of the key material, for readiness probes: per issuer the keys' age and the last fetch
   * error, and whether the key cache answers (pinged, within its timeout). Never rejects.
   */
  status(): Promise<VerifierStatus>;
  /**
   * Stops background work (key refreshes in flight are abandoned, none starts again); cached keys
   * keep verifying, a verification that needs a fetch gets 503. Does not close a Redis client.
   */
  close(): Promise<void>;
}

/** What `verifier.status()` reports. */
export interface VerifierStatus {
  /** Every issuer has keys (fetched at least once, possibly stale). */
  readonly ready: boolean;
  readonly issuers: readonly IssuerStatus[];
  /** Present when a `keyCache` is configured. */
  readonly keyCache?: { readonly reachable: boolean; readonly error: string | null };
  /** Present when the DPoP replay store has a `ping()` (`scopegate/redis`'s has) and DPoP is enabled. */
  readonly replayStore?: { readonly reachable: boolean; readonly error: string | null };
}

export interface IssuerStatus extends KeySourceStatus {
  readonly issuer: string;
}
