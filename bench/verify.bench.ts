/**
 * Verify throughput, side by side in one run: raw node:crypto (the floor: one crypto.verify with a
 * prepared KeyObject), scopegate (node and webcrypto engines), jose.jwtVerify and fast-jwt, for
 * RS256, PS256, ES256 and EdDSA, on a stream of unique tokens (no result cache anywhere).
 *
 * Run: npm run bench -- verify (or node --expose-gc --import tsx bench/verify.bench.ts --tokens 2000 --rounds 7)
 * Rounds interleave the contenders (in a rotating order, each from a collected heap) so machine
 * noise hits all of them alike; the median round counts. Ratios matter, not absolute numbers.
 * Timed in CPU seconds of this process (see measure()).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createVerifier as createFastJwtVerifier } from 'fast-jwt';
import { jwtVerify } from 'jose';
import { createVerifier } from '../src/core/index.js';
import { createTestIssuer } from '../src/testing/index.js';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '7' },
    algorithms: { type: 'string', default: 'RS256,PS256,ES256,EdDSA' },
  },
});
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const ALGORITHMS = values.algorithms.split(',') as ('RS256' | 'PS256' | 'ES256' | 'EdDSA')[];

type Contender = { name: string; run: (token: string) => unknown };

type RawKey = Parameters<typeof cryptoVerify>[2];
const RAW: Record<string, (key: KeyObject) => [digest: string | null, key: RawKey]> = {
  RS256: (key) => ['sha256', key],
  PS256: (key) => ['sha256', { key, padding: 6, saltLength: 32 }],
  ES256: (key) => ['sha256', { key, dsaEncoding: 'ieee-p1363' }],
  EdDSA: (key) => [null, key],
};

// With --expose-gc (npm run bench sets it), each measurement starts from a collected heap, so one
// contender's garbage is not collected on the next one's time.
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

// The clock is this process's CPU time (all its threads, so WebCrypto's thread pool counts), not
// wall time: on a shared machine, wall time also counts the time other processes hold the cores.
async function measure(contender: Contender, tokens: readonly string[]): Promise<number> {
  collect();
  const start = process.cpuUsage();
  for (const token of tokens) {
    const result = contender.run(token);
    if (result instanceof Promise) await result;
  }
  const cpu = process.cpuUsage(start);
  return tokens.length / ((cpu.user + cpu.system) / 1e6);
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const rows: string[] = [];
for (const algorithm of ALGORITHMS) {
  const issuer = await createTestIssuer({ algorithm, audience: 'https://api.bench' });
  const tokens = await Promise.all(
    Array.from({ length: TOKENS }, (_, i) => issuer.sign({ scope: 'read:data', n: i }, { expiresIn: 3600 })),
  );
  const jwk = issuer.jwks().keys[0] as Record<string, unknown>;
  const keyObject = createPublicKey({ key: jwk as never, format: 'jwk' });
  const cryptoKey = await (await import('jose')).importJWK(jwk as never, algorithm);
  const options = { issuer: issuer.issuer, audience: 'https://api.bench', algorithms: [algorithm] } as const;

  const scopegateNode = createVerifier({ ...options, jwks: issuer.jwks(), crypto: 'node' });
  const scopegateWeb = createVerifier({ ...options, jwks: issuer.jwks(), crypto: 'webcrypto' });
  await scopegateNode.verify(tokens[0] as string);
  await scopegateWeb.verify(tokens[0] as string);
  const fastJwt = createFastJwtVerifier({
    key: keyObject.export({ type: 'spki', format: 'pem' }) as string,
    algorithms: [algorithm],
    allowedIss: issuer.issuer,
    allowedAud: 'https://api.bench',
    cache: false,
  });
  const [digest, prepared] = (RAW[algorithm] as (key: KeyObject) => [string | null, RawKey])(keyObject);

  const contenders: Contender[] = [
    {
      name: 'node:crypto (floor)',
      run: (token) => {
        const dot = token.lastIndexOf('.');
        const ok = cryptoVerify(
          digest,
          Buffer.from(token.slice(0, dot), 'latin1'),
          prepared,
          Buffer.from(token.slice(dot + 1), 'base64url'),
        );
        if (!ok) throw new Error('raw verify failed');
      },
    },
    { name: 'scopegate (node)', run: (token) => scopegateNode.verify(token) },
    { name: 'scopegate (webcrypto)', run: (token) => scopegateWeb.verify(token) },
    {
      name: 'jose.jwtVerify',
      run: (token) =>
        jwtVerify(token, cryptoKey, { ...options, algorithms: [algorithm], requiredClaims: ['exp'] }),
    },
    { name: 'fast-jwt', run: (token) => fastJwt(token) },
  ];

  const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const contender of contenders) await measure(contender, tokens.slice(0, 200)); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round: no contender always runs first, or always after the same one.
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length] as Contender;
      results.get(contender.name)?.push(await measure(contender, tokens));
    }
  }
  const floor = median(results.get('node:crypto (floor)') as number[]);
  for (const contender of contenders) {
    const opsPerSecond = median(results.get(contender.name) as number[]);
    rows.push(
      `| ${algorithm} | ${contender.name} | ${Math.round(opsPerSecond).toLocaleString('en-US')} | ${((opsPerSecond / floor) * 100).toFixed(0)}% |`,
    );
  }
}

console.log(
  `Verify throughput, ${TOKENS} unique tokens, median of ${ROUNDS} interleaved rounds, Node ${process.version}\n`,
);
console.log('| alg | verifier | verifies per CPU-second | of node:crypto |');
console.log('|---|---|---:|---:|');
for (const row of rows) console.log(row);
