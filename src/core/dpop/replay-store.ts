/**
 * Where DPoP proof identifiers are claimed, so a proof is accepted once (RFC 9449 11.1).
 */

/** What the verifier knows of the proof being claimed; stores may use it to bound themselves. */
export interface ReplayClaimInfo {
  /** RFC 7638 thumbprint of the proof key (base64url SHA-256: 43 characters). */
  readonly thumbprint: string;
  /** The proof's `iat`, seconds since the epoch. */
  readonly iat: number;
}

/**
 * A store of used proof identifiers. `claim` answers true when `key` was free and is now held
 * until `expiresAt` (ms since the epoch), false when it is already held. It throws or rejects
 * when it cannot answer: the verifier then refuses the request with 503
 * `replay_store_unavailable`, never accepts it unchecked. The verifier builds `key` (a hash of
 * the key thumbprint and the proof's `jti`), so stores never see attacker-chosen strings.
 * `info` is optional to use: a store that only needs `key` and `expiresAt` ignores it.
 */
export interface ReplayStore {
  claim(key: string, expiresAt: number, info?: ReplayClaimInfo): boolean | Promise<boolean>;
}
