/**
 * The Redis round trip a DPoP request pays for its replay claim: `redisReplayStore().claim()`
 * (one `SET key 1 NX PX`) against a real redis-server on 127.0.0.1 (loopback), started and
 * stopped by this script. Sequential claims give the latency one request sees; claims kept
 * in flight concurrently show what node-redis's pipelining gives a busy instance.
 *
 * Run: node --import tsx bench/redis.bench.ts [-- --claims 20000 --concurrency 64]
 * (needs /usr/bin/redis-server, or REDIS_SERVER=<path>)
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { redisReplayStore } from '../src/redis/index.js';
import { connectClient, startRedisServer } from '../test/helpers/redis-server.js';

const { values } = parseArgs({
  options: {
    claims: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
  },
});
const CLAIMS = Number(values.claims);
const CONCURRENCY = Number(values.concurrency);

const server = await startRedisServer();
const { client } = await connectClient(server.url);
try {
  const store = redisReplayStore(client);
  const key = () => randomUUID();
  const expiresAt = () => Date.now() + 300_000;

  for (let i = 0; i < 2000; i++) await store.claim(key(), expiresAt()); // warm-up

  const samples: number[] = [];
  for (let i = 0; i < CLAIMS; i++) {
    const started = performance.now();
    await store.claim(key(), expiresAt());
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number) * 1000;
  const mean = (samples.reduce((sum, x) => sum + x, 0) / samples.length) * 1000;

  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CLAIMS) await store.claim(key(), expiresAt());
    }),
  );
  const perSecond = CLAIMS / ((performance.now() - started) / 1000);

  console.log(`node ${process.version}, redis-server on 127.0.0.1, ${CLAIMS} claims`);
  console.log(
    `sequential: mean ${mean.toFixed(0)} µs, p50 ${at(0.5).toFixed(0)} µs, p99 ${at(0.99).toFixed(0)} µs per claim`,
  );
  console.log(`${CONCURRENCY} in flight: ${Math.round(perSecond)} claims/s`);
} finally {
  client.destroy();
  await server.close();
}
