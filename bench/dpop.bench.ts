/**
 * Per-proof cost of DPoP verification (ES256), in microseconds: `verifyDpopProof` on unique
 * proofs of one client key (the common case: the key's import and thumbprint are cached), on
 * proofs each by a new key (cold: jose import + RFC 7638 thumbprint every time), and the `jti`
 * claim in the in-memory store. The floor is one raw `crypto.verify`.
 *
 * Run: node --import tsx bench/dpop.bench.ts [--proofs 2000 --rounds 5]
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createMemoryReplayStore } from '../src/core/dpop/memory-replay-store.js';
import { dpopProofSettings, verifyDpopProof } from '../src/core/dpop/proof.js';
import { claimProof } from '../src/core/dpop/replay.js';
import { createTestIssuer } from '../src/testing/index.js';

const { values } = parseArgs({
  options: { proofs: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } },
});
const PROOFS = Number(values.proofs);
const ROUNDS = Number(values.rounds);
const URL_ = 'https://api.example.test/trpc/post.create';

// Stores made before the proofs: a store refuses proofs issued before it started.
const stores = Array.from({ length: ROUNDS }, () => createMemoryReplayStore());
const issuer = await createTestIssuer({ algorithm: 'ES256' });
const key = await issuer.dpopKey();
const token = await key.sign({ scope: 'read' });
const warm = await Promise.all(
  Array.from({ length: PROOFS }, () => key.proof({ method: 'POST', url: URL_, accessToken: token })),
);
const coldCount = Math.min(PROOFS, 500);
const cold = await Promise.all(
  Array.from({ length: coldCount }, async () =>
    (await issuer.dpopKey()).proof({ method: 'POST', url: URL_, accessToken: token }),
  ),
);
const settings = dpopProofSettings();
const request = () => ({ method: 'POST', url: URL_, accessToken: token, now: Math.floor(Date.now() / 1000) });

// The floor: the signature check alone, with a prepared KeyObject.
const publicKey = createPublicKey({ key: key.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
const raw = warm.map((proof) => {
  const dot = proof.lastIndexOf('.');
  return [Buffer.from(proof.slice(0, dot)), Buffer.from(proof.slice(dot + 1), 'base64url')] as const;
});

async function measure(name: string, count: number, run: (i: number) => unknown): Promise<void> {
  const perProof: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < count; i++) await run(i);
    perProof.push(((performance.now() - start) * 1000) / count);
  }
  perProof.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} ${(perProof[Math.floor(ROUNDS / 2)] as number).toFixed(1).padStart(7)} µs/proof (median of ${ROUNDS})`,
  );
}

await measure('raw crypto.verify ES256 (floor)', PROOFS, (i) => {
  const [data, signature] = raw[i] as readonly [Buffer, Buffer];
  return cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
});
await measure('verifyDpopProof, one client key (cached)', PROOFS, (i) =>
  verifyDpopProof(warm[i] as string, request(), settings),
);
await measure('verifyDpopProof, a new key per proof (cold)', coldCount, (i) =>
  verifyDpopProof(cold[i] as string, request(), settings),
);
const verified = await Promise.all(warm.map((proof) => verifyDpopProof(proof, request(), settings)));
let round = -1;
await measure('claimProof, memory store', PROOFS, (i) => {
  if (i === 0) round++;
  return claimProof(stores[round] as (typeof stores)[number], verified[i] as (typeof verified)[number]);
});
