/**
 * The `RequestAuth` that `createAuthContext` puts into the context. It delegates to the core's
 * lazy, memoized `RequestAuth`, and adds two things a tRPC context needs:
 * - it records that auth was consulted, so `authResponseMeta` marks the response private;
 * - it forgets verified claims once they expire, because a WebSocket context lives as long as
 *   its connection: a later call then re-verifies and fails with `token_expired`.
 */
import type { AccessPolicy, RequestAuth, RequestLike, Verifier } from '../core/index.js';

const consulted = new WeakSet<object>();

/** True when the request's auth state was read (token, claims, scopes). */
export function authWasConsulted(auth: unknown): boolean {
  return typeof auth === 'object' && auth !== null && consulted.has(auth);
}

/** The instant (ms) verified claims stop being valid, from `exp`; undefined without one. */
export function expiryOf(claims: unknown): number | undefined {
  const exp = (claims as { exp?: unknown } | null)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

export class ContextAuth<TClaims> implements RequestAuth<TClaims> {
  readonly #verifier: Verifier<TClaims>;
  readonly #credentials: () => RequestLike;
  #inner: RequestAuth<TClaims> | undefined;
  #claims: Promise<TClaims> | undefined;
  #expiresAt: number | undefined;

  constructor(verifier: Verifier<TClaims>, credentials: () => RequestLike) {
    this.#verifier = verifier;
    this.#credentials = credentials;
  }

  /** The core RequestAuth, created on first use and again once verified claims have expired. */
  #current(): RequestAuth<TClaims> {
    consulted.add(this);
    if (this.#expiresAt !== undefined && Date.now() >= this.#expiresAt) {
      this.#inner = undefined;
      this.#claims = undefined;
      this.#expiresAt = undefined;
    }
    this.#inner ??= this.#verifier.authenticate(this.#credentials());
    return this.#inner;
  }

  get token(): string | null {
    return this.#current().token;
  }

  claims(): Promise<TClaims> {
    let inner: RequestAuth<TClaims>;
    try {
      inner = this.#current();
    } catch (error) {
      // Reading credentials from an exotic request object failed: reject, never throw.
      return Promise.reject(error);
    }
    this.#claims ??= inner.claims().then((claims) => {
      this.#expiresAt = expiryOf(claims);
      return claims;
    });
    return this.#claims;
  }

  async optional(): Promise<TClaims | null> {
    // The core decides "no credentials" (null) vs "bad credentials" (rejects); the claims then
    // come from this object's memo, which the core's memo backs: one verification either way.
    return (await this.#current().optional()) === null ? null : this.claims();
  }

  async scopes(): Promise<ReadonlySet<string>> {
    return this.#verifier.scopes(await this.claims());
  }

  async require(policy?: AccessPolicy<TClaims>): Promise<TClaims> {
    const claims = await this.claims();
    if (policy) await this.#verifier.authorize(claims, policy);
    return claims;
  }
}
