/**
 * `verifier.status()`: what a readiness probe needs to know about the key material.
 */
import type { NormalizedOptions } from './options.js';
import type { IssuerStatus, VerifierStatus } from './types.js';

/** Builds the status; the key cache is pinged (its own timeout bounds the wait). Never rejects. */
export async function verifierStatus(options: NormalizedOptions): Promise<VerifierStatus> {
  const issuers: IssuerStatus[] = [...options.issuers.values()].map((entry) => ({
    issuer: entry.issuer,
    ...entry.keys.status(),
  }));
  const ready = issuers.every((issuer) => issuer.hasKeys);
  if (!options.keyCache) return { ready, issuers };
  let error: string | null = null;
  try {
    await options.keyCache.ping();
  } catch (cause) {
    error = cause instanceof Error ? cause.message : String(cause);
  }
  return { ready, issuers, keyCache: { reachable: error === null, error } };
}
