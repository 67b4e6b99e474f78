/**
 * Server nonces (RFC 9449 8 and 9), stateless: a nonce is the number of a time window and an
 * HMAC of it under a configured secret. Any instance holding the secret checks any other's
 * nonces, so a fleet shares no state for them. A nonce is valid in its window and the next.
 */
import { constantTimeEqual, createHmac } from './digest.js';

/** `dpop.nonce` option. */
export interface DpopNonceOptions {
  /** HMAC key, at least 32 bytes (a string counts its UTF-8 bytes). Share it across a fleet. */
  readonly secret: string | Uint8Array;
  /** Length of a window in seconds; a nonce lives one to two windows. @default 60 */
  readonly window?: number;
}

/** Why a nonce was refused, or `ok`. */
export type NonceCheck = 'ok' | 'missing' | 'malformed' | 'stale' | 'forged';

export interface DpopNonces {
  /** The nonce to send in `DPoP-Nonce` at `now` (seconds since the epoch). */
  issue(now: number): Promise<string>;
  /**
   * The same nonce when it is at hand synchronously (always with `node:crypto`; with Web Crypto
   * once `issue` computed it for this window), else undefined: for headers written synchronously.
   */
  current(now: number): string | undefined;
  /** Checks a proof's `nonce` claim at `now` (seconds). */
  check(nonce: unknown, now: number): Promise<NonceCheck>;
}

const MIN_SECRET_BYTES = 32;
const DEFAULT_WINDOW = 60;
// RFC 9449 4.2: nonce = 1*NQCHAR. Ours: decimal window, ".", 43 base64url characters.
const NONCE = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/;
// Domain separation: this secret's MACs mean "DPoP nonce of window N" and nothing else.
const LABEL = 'scopegate dpop-nonce v1 ';

/** @throws TypeError naming the option when `options` is not usable. */
export function createDpopNonces(options: DpopNonceOptions): DpopNonces {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('"dpop.nonce" option must be an object with a "secret"');
  }
  const { secret } = options;
  const bytes =
    typeof secret === 'string'
      ? new TextEncoder().encode(secret)
      : secret instanceof Uint8Array
        ? secret
        : null;
  if (bytes === null || bytes.length < MIN_SECRET_BYTES) {
    throw new TypeError(
      `"dpop.nonce.secret" option must be a string or Uint8Array of at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  const window = options.window ?? DEFAULT_WINDOW;
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new TypeError('"dpop.nonce.window" option must be a positive integer (seconds)');
  }
  const hmac = createHmac(Uint8Array.from(bytes));
  // The MACs of the two live windows, computed once per window.
  const macs = new Map<number, string | Promise<string>>();
  const macOf = (index: number): string | Promise<string> => {
    let mac = macs.get(index);
    if (mac === undefined) {
      if (macs.size >= 4) macs.clear();
      mac = hmac(`${LABEL}${index}`);
      if (typeof mac !== 'string') {
        // Once computed, the MAC is kept as a string: later reads are synchronous.
        const pending = mac;
        pending.then(
          (value) => {
            if (macs.get(index) === pending) macs.set(index, value);
          },
          () => macs.delete(index),
        );
      }
      macs.set(index, mac);
    }
    return mac;
  };
  const windowOf = (now: number) => Math.floor(now / window);

  return {
    async issue(now) {
      const index = windowOf(now);
      return `${index}.${await macOf(index)}`;
    },
    current(now) {
      const index = windowOf(now);
      const mac = macOf(index);
      return typeof mac === 'string' ? `${index}.${mac}` : undefined;
    },
    async check(nonce, now) {
      if (nonce === undefined) return 'missing';
      if (typeof nonce !== 'string') return 'malformed';
      const match = NONCE.exec(nonce);
      if (!match) return 'malformed';
      const index = Number(match[1]);
      const current = windowOf(now);
      // Only the two live windows are ever hashed: stale or future numbers cost no HMAC.
      if (index !== current && index !== current - 1) {
        return index < current ? 'stale' : 'forged';
      }
      return constantTimeEqual(match[2] as string, await macOf(index)) ? 'ok' : 'forged';
    },
  };
}
