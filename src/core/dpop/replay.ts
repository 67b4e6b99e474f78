/**
 * Claims a verified proof's `jti` in a {@link ReplayStore}, last, after every other check of the
 * token and the proof (forged proofs never reach the store). The store gets a hash of the key
 * thumbprint and the `jti`: the same `jti` under another key is another proof.
 */
import { AuthError } from '../errors.js';
import { sha256Base64url } from './digest.js';
import type { ReplayStore } from './replay-store.js';

/** What {@link claimProof} needs of a verified proof (a `VerifiedDpopProof` has it all). */
export interface ClaimableProof {
  readonly thumbprint: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  /** ms since the epoch: how long the store holds the claim. */
  readonly expiresAt: number;
}

export interface ClaimOptions {
  /** How long the store may take to answer, in ms; slower is a 503. @default 1000 */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 1000;
const TIMED_OUT = Symbol('timed out');

/** The store key of a proof: base64url SHA-256 of `thumbprint "." jti` (a thumbprint has no "."). */
export function replayKey(thumbprint: string, jti: string): string | Promise<string> {
  return sha256Base64url(`${thumbprint}.${jti}`);
}

/**
 * Claims the proof's `jti` once.
 * @throws AuthError `invalid_dpop_proof` (detail `jti: replayed`) when the store holds it already,
 *   `replay_store_unavailable` (503) when the store throws, rejects, answers anything but a
 *   boolean, or is slower than `timeoutMs`. Never resolves without an answer from the store.
 */
export async function claimProof(
  store: ReplayStore,
  proof: ClaimableProof,
  options: ClaimOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const unavailable = (detail: string, cause?: unknown) =>
    new AuthError('replay_store_unavailable', {
      detail,
      ...(cause !== undefined && { cause }),
    });

  const key = await replayKey(proof.thumbprint, proof.jti);
  let answer: unknown;
  try {
    const pending = store.claim(key, proof.expiresAt, { thumbprint: proof.thumbprint, iat: proof.iat });
    // A synchronous answer needs no timer; anything else is awaited, bounded.
    answer = typeof pending === 'boolean' ? pending : await withTimeout(Promise.resolve(pending), timeoutMs);
  } catch (error) {
    throw unavailable('replay store: the claim failed', error);
  }
  if (answer === TIMED_OUT) throw unavailable(`replay store: no answer within ${timeoutMs} ms`);
  if (answer === false) {
    throw new AuthError('invalid_dpop_proof', {
      detail: 'jti: replayed (already claimed, or the proof predates the replay store)',
    });
  }
  if (answer !== true) throw unavailable('replay store: the answer is not a boolean');
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  // A store that rejects after the timeout must not become an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
