/**
 * A fleet: three API processes (tRPC, graphql-yoga, tRPC) behind one real redis-server, against
 * one JWKS server on 127.0.0.1 that counts its hits, driven over HTTP. A cold start with
 * concurrent requests on every instance makes one JWKS fetch in total; with Redis killed, Bearer
 * requests keep answering 200 (keys fetched directly); once Redis is back, the fleet shares again.
 * DPoP: every instance claims proofs in the same Redis (`redisReplayStore`): a proof used on one
 * instance is refused on the others; with Redis down DPoP requests get 503
 * `replay_store_unavailable` while Bearer requests stay 200; after a restart DPoP works again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifierStatus } from '../../src/core/index.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../src/testing/index.js';
import { DPOP_CHALLENGES, dpopHeaders, graphqlAuthError, seen } from '../helpers/dpop.js';
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const AUDIENCE = 'https://api.example.test';
/** The load balancer's origin, which DPoP proofs name (every instance's `publicOrigin`). */
const PUBLIC_ORIGIN = 'https://api.example.test';
const INSTANCE = fileURLToPath(new URL('./fleet/instance.ts', import.meta.url));
const KINDS = ['trpc', 'yoga', 'trpc'] as const;

interface Instance {
  readonly kind: (typeof KINDS)[number];
  readonly origin: string;
  readonly child: ChildProcess;
}

let redis: RedisServer;
let jwks: JwksServer;
let issuer: TestIssuer;
let dpopKey: TestDpopKey;
const fleet: Instance[] = [];
const children: ChildProcess[] = [];
// Starting three tsx processes on a busy CI machine can take a while; the test itself is quick.
const START_LIMIT_MS = 45_000;

async function startInstance(kind: (typeof KINDS)[number]): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE], {
    env: {
      ...process.env,
      KIND: kind,
      REDIS_URL: redis.url,
      ISSUER: issuer.issuer,
      AUDIENCE,
      JWKS_URI: jwks.jwksUri,
      PREFIX: `fleet-${process.pid}:`,
      CACHE_SECRET: 'the fleet-wide key cache secret, 32+ bytes',
      COOLDOWN_MS: '200',
      PUBLIC_ORIGIN,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${kind} instance did not start in time`)),
      START_LIMIT_MS,
    );
    child.once('exit', (code) => reject(new Error(`${kind} instance exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { kind, origin: `http://127.0.0.1:${port}`, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  redis = await startRedisServer();
  const keys: { current?: TestIssuer } = {};
  jwks = await startJwksServer({ jwks: () => (keys.current as TestIssuer).jwks() });
  issuer = await createTestIssuer({ issuer: jwks.issuer, audience: AUDIENCE, algorithm: 'ES256' });
  keys.current = issuer;
  dpopKey = await issuer.dpopKey();
  fleet.push(...(await Promise.all(KINDS.map(startInstance))));
}, START_LIMIT_MS + 5000);

afterAll(async () => {
  await Promise.all(children.splice(0).map(stop));
  await jwks?.close();
  await redis?.close();
});

/** One authenticated request to an instance: its HTTP status and who it says the caller is. */
async function call(instance: Instance, token: string): Promise<{ status: number; sub: unknown }> {
  const headers = { authorization: `Bearer ${token}` };
  if (instance.kind === 'trpc') {
    const response = await fetch(`${instance.origin}/me`, { headers });
    const body = (await response.json()) as { result?: { data?: { sub?: unknown } } };
    return { status: response.status, sub: body.result?.data?.sub };
  }
  const response = await fetch(`${instance.origin}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: '{ me }' }),
  });
  const body = (await response.json()) as { data?: { me?: unknown } };
  return { status: response.status, sub: body.data?.me };
}

async function status(instance: Instance): Promise<VerifierStatus> {
  return (await (await fetch(`${instance.origin}/status`)).json()) as VerifierStatus;
}

/** One DPoP request (proof given or made here) to an instance: what the client sees. */
async function callDpop(instance: Instance, token: string, headers?: Record<string, string>) {
  const trpc = instance.kind === 'trpc';
  const path = trpc ? '/me' : '/graphql';
  const method = trpc ? 'GET' : 'POST';
  const sent = headers ?? (await dpopHeaders(dpopKey, { method, url: PUBLIC_ORIGIN + path, token }));
  const response = await fetch(instance.origin + path, {
    method,
    // graphql-response+json: refusals keep their HTTP status (with application/json yoga answers 200).
    headers: trpc
      ? sent
      : { ...sent, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    ...(!trpc && { body: JSON.stringify({ query: '{ me }' }) }),
  });
  const reply = await seen(response);
  const body = reply.body as { error?: { data?: { auth?: { reason?: unknown } } } };
  const reason = trpc ? body.error?.data?.auth?.reason : graphqlAuthError(reply.body)?.reason;
  return { status: reply.status, reason, challenge: reply.challenge };
}

/** Polls until every instance reports the key cache `reachable` (bounded). */
async function untilCache(reachable: boolean, limitMs = 8000): Promise<void> {
  const end = Date.now() + limitMs;
  for (;;) {
    const all = await Promise.all(fleet.map(status));
    if (all.every((s) => s.keyCache?.reachable === reachable)) return;
    if (Date.now() > end) throw new Error(`key cache not reachable=${reachable} within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a fleet of three instances behind one Redis', () => {
  it('a cold start with concurrent requests on every instance makes one JWKS fetch in total', async () => {
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => issuer.sign({ sub: `user-${i}` })));
    const replies = await Promise.all(tokens.map((token, i) => call(fleet[i % 3] as Instance, token)));
    expect(replies.map((reply) => reply.status)).toEqual(Array(30).fill(200));
    expect(replies.map((reply) => reply.sub)).toEqual(tokens.map((_, i) => `user-${i}`));
    expect(jwks.hits()).toBe(1);
    for (const instance of fleet) {
      expect(await status(instance)).toMatchObject({ ready: true, keyCache: { reachable: true } });
    }
  });

  it('#86 fleet: a proof used on one instance is refused on every other', async () => {
    const token = await dpopKey.sign({ sub: 'dpop-user' });
    const [first, yoga, third] = fleet as [Instance, Instance, Instance];
    const headers = await dpopHeaders(dpopKey, { method: 'GET', url: `${PUBLIC_ORIGIN}/me`, token });
    expect(await callDpop(first, token, headers)).toMatchObject({ status: 200, challenge: null });
    // The same proof, replayed through the load balancer to another instance.
    expect(await callDpop(third, token, headers)).toEqual({
      status: 401,
      reason: 'invalid_dpop_proof',
      challenge: DPOP_CHALLENGES.invalidProof,
    });
    // Control: fresh proofs are accepted by every instance.
    for (const instance of [first, yoga, third]) expect((await callDpop(instance, token)).status).toBe(200);
  });

  it('#94 Redis killed: Bearer requests still 200 (DPoP 503 replay_store_unavailable), new keys fetched directly; Redis back: shared again', async () => {
    await redis.kill();
    try {
      await untilCache(false);
      const token = await issuer.sign({ sub: 'during-outage' });
      for (const instance of fleet)
        expect(await call(instance, token)).toEqual({ status: 200, sub: 'during-outage' });
      // The replay store cannot answer: DPoP fails closed (no challenge: the token was not judged).
      const bound = await dpopKey.sign({ sub: 'dpop-during-outage' });
      for (const instance of fleet) {
        expect(await callDpop(instance, bound)).toEqual({
          status: 503,
          reason: 'replay_store_unavailable',
          challenge: null,
        });
      }
      // A rotation during the outage: each instance fetches for itself (no store to share through).
      await new Promise((resolve) => setTimeout(resolve, 250));
      await issuer.rotateKeys();
      const rotated = await issuer.sign({ sub: 'rotated' });
      const before = jwks.hits();
      for (const instance of fleet)
        expect(await call(instance, rotated)).toEqual({ status: 200, sub: 'rotated' });
      expect(jwks.hits() - before).toBe(3);
    } finally {
      await redis.restart();
    }
    await untilCache(true);
    // DPoP is back: proofs are claimed in the restarted Redis.
    const restored = await dpopKey.sign({ sub: 'dpop-after-restart' });
    for (const instance of fleet) expect((await callDpop(instance, restored)).status).toBe(200);
    // Recovery: the next rotation is fetched once and shared through the (empty, restarted) Redis.
    await new Promise((resolve) => setTimeout(resolve, 250));
    await issuer.rotateKeys();
    const again = await issuer.sign({ sub: 'after-recovery' });
    const before = jwks.hits();
    for (const instance of fleet)
      expect(await call(instance, again)).toEqual({ status: 200, sub: 'after-recovery' });
    expect(jwks.hits() - before).toBe(1);
  });
});
