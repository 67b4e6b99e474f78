/**
 * The default replay store: in memory, for one instance. Bounded in entries overall and per key
 * thumbprint, entries expire with their proof's window, and proofs issued before the store
 * started are refused (their `jti` may have been used before a restart, which this store forgot).
 */
import type { ReplayClaimInfo, ReplayStore } from './replay-store.js';

export interface MemoryReplayStoreOptions {
  /** Most identifiers held at once (~150 bytes each); a full store answers 503. @default 100_000 */
  readonly maxEntries?: number;
  /** Most identifiers held for one key thumbprint, so one client cannot fill the store. @default maxEntries / 10 */
  readonly maxEntriesPerKey?: number;
  /** Clock in ms since the epoch (tests). @default Date.now */
  readonly now?: () => number;
}

/** Thrown by the memory store when a bound is reached: the verifier answers 503, never accepts. */
export class ReplayStoreFullError extends Error {
  override readonly name = 'ReplayStoreFullError';
}

export interface MemoryReplayStore extends ReplayStore {
  /** Identifiers held now (expired ones may linger until the next claim sweeps them). */
  readonly size: number;
  /** When the store started, ms since the epoch: proofs with an `iat` before its second are refused. */
  readonly startedAt: number;
}

interface Entry {
  readonly expiresAt: number;
  readonly thumbprint: string | undefined;
}

const DEFAULT_MAX_ENTRIES = 100_000;
// A full scan of a full store happens at most this often; between scans a full store is full.
const FULL_SWEEP_INTERVAL_MS = 1000;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`"${name}" option must be a positive integer`);
  }
  return value;
}

/** @throws TypeError naming the option when a bound is not a positive integer. */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): MemoryReplayStore {
  const maxEntries = positiveInteger('maxEntries', options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  const maxPerKey = positiveInteger(
    'maxEntriesPerKey',
    options.maxEntriesPerKey ?? Math.max(1, Math.floor(maxEntries / 10)),
  );
  const now = options.now ?? Date.now;
  const startedAt = now();
  const startSecond = Math.floor(startedAt / 1000);
  // Insertion order is close to expiry order (every entry lives one window): sweeping from the
  // head finds the expired ones without scanning the live ones.
  const entries = new Map<string, Entry>();
  const perKey = new Map<string, number>();
  let lastFullSweep = Number.NEGATIVE_INFINITY;

  const remove = (key: string, entry: Entry) => {
    entries.delete(key);
    if (entry.thumbprint === undefined) return;
    const count = (perKey.get(entry.thumbprint) ?? 1) - 1;
    if (count <= 0) perKey.delete(entry.thumbprint);
    else perKey.set(entry.thumbprint, count);
  };

  const sweep = (at: number, full: boolean) => {
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= at) remove(key, entry);
      else if (!full) return;
    }
  };

  return {
    get size() {
      return entries.size;
    },
    startedAt,
    claim(key: string, expiresAt: number, info?: ReplayClaimInfo) {
      const at = now();
      sweep(at, false);
      // A proof from before the start may have been accepted by this process's predecessor.
      // `iat` has whole seconds: the start's own second is accepted (a restart outlasts it).
      if (info !== undefined && info.iat < startSecond) return false;
      const held = entries.get(key);
      if (held !== undefined) {
        if (held.expiresAt > at) return false;
        remove(key, held);
      }
      if (entries.size >= maxEntries && at - lastFullSweep >= FULL_SWEEP_INTERVAL_MS) {
        lastFullSweep = at;
        sweep(at, true);
      }
      if (entries.size >= maxEntries)
        throw new ReplayStoreFullError(`replay store full (${maxEntries} entries)`);
      const thumbprint = info?.thumbprint;
      if (thumbprint !== undefined) {
        const count = perKey.get(thumbprint) ?? 0;
        if (count >= maxPerKey) {
          throw new ReplayStoreFullError(`replay store: ${maxPerKey} entries for one key thumbprint`);
        }
        perKey.set(thumbprint, count + 1);
      }
      entries.set(key, { expiresAt, thumbprint });
      return true;
    },
  };
}
