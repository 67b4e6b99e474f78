/**
 * `verifier.status()`: what a readiness probe needs to know about the key material.
 */
import type { NormalizedOptions } from './options.js';
import type { IssuerStatus, VerifierStatus } from './types.js';

/** What a ping answered: reachable, or the error's message. */
interface Reachability {
  readonly reachable: boolean;
  readonly error: string | null;
}

/** Runs a ping, bounded by `timeoutMs` when given (the key cache bounds its own). */
async function ping(run: () => Promise<unknown>, timeoutMs?: number): Promise<Reachability> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = run();
    if (timeoutMs === undefined) await answer;
    else {
      answer.catch(() => undefined);
      await Promise.race([
        answer,
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    }
    return { reachable: true, error: null };
  } catch (cause) {
    return { reachable: false, error: cause instanceof Error ? cause.message : String(cause) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the status; the key cache is pinged (its own timeout bounds the wait), and the DPoP
 * replay store when it has a `ping()` (bounded by `dpop.replayTimeoutMs`). Never rejects.
 */
export async function verifierStatus(options: NormalizedOptions): Promise<VerifierStatus> {
  const issuers: IssuerStatus[] = [...options.issuers.values()].map((entry) => ({
    issuer: entry.issuer,
    ...entry.keys.status(),
  }));
  const ready = issuers.every((issuer) => issuer.hasKeys);
  const { keyCache, dpop } = options;
  const store = dpop.replayStore as { ping?: unknown; claim: unknown };
  const storePing =
    dpop.mode !== 'disabled' && typeof store.ping === 'function'
      ? () => (store.ping as () => Promise<unknown>).call(store)
      : undefined;
  const [cache, replay] = await Promise.all([
    keyCache ? ping(() => keyCache.ping()) : undefined,
    storePing ? ping(storePing, dpop.replayTimeoutMs) : undefined,
  ]);
  return {
    ready,
    issuers,
    ...(cache && { keyCache: cache }),
    ...(replay && { replayStore: replay }),
  };
}
