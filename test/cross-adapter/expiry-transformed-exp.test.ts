/**
 * Issue 8 item 2, end to end: a `claims` schema that transforms a registered claim
 * (`exp: z.number().transform((s) => new Date(s * 1000))`) must not change when a context
 * expires. Validity comes from the signed payload: a tRPC WebSocket subscription and a yoga SSE
 * subscription still end at the token's expiry with `token_expired`, and waiting for the expiry
 * arms a handful of timers, not a 1 ms timer spinning (the NaN validity end of before).
 */
import { createTRPCClient, createWSClient, type TRPCClientError, wsLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type Running, startYoga } from '../graphql/support.js';
import { buildApp, MAX_TICKS, type TestRouter, TICK_MS } from '../trpc/support/app.js';
import { type RunningServer, startStandalone } from '../trpc/support/servers.js';

const claims = z
  .object({
    exp: z.number().transform((seconds) => new Date(seconds * 1000)),
    scope: z.string().optional(),
  })
  .passthrough();

let issuer: TestIssuer;
let verifier: Verifier;
let trpc: RunningServer;
let yoga: Running;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://api.example.test' });
  verifier = createVerifier({ ...issuer.verifierOptions, clockTolerance: 0, claims } as VerifierOptions<
    typeof claims
  >) as unknown as Verifier;
  const { router, createContext } = buildApp(verifier as never);
  trpc = await startStandalone(router, createContext);
  yoga = await startYoga({ verifier });
});

afterAll(async () => {
  await trpc?.close();
  await yoga?.close();
});

it('the schema output really is transformed (the premise of the test)', async () => {
  const verified = (await verifier.verify(await issuer.sign())) as { exp: unknown };
  expect(verified.exp).toBeInstanceOf(Date);
});

describe('tRPC over WebSocket', () => {
  it('a subscription ends with token_expired at the token expiry; later calls are refused', async () => {
    const token = await issuer.sign({}, { expiresIn: 2 });
    const ws = createWSClient({
      url: trpc.wsUrl,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    const client = createTRPCClient<TestRouter>({ links: [wsLink({ client: ws })] });
    try {
      const started = Date.now();
      const outcome = await new Promise<{ values: number[]; error: TRPCClientError<TestRouter> | undefined }>(
        (resolve, reject) => {
          const values: number[] = [];
          const limit = setTimeout(
            () => reject(new Error('no end within the bound')),
            (MAX_TICKS + 20) * TICK_MS,
          );
          const subscription = client.ticks.subscribe(undefined, {
            onData: (value) => values.push(value),
            onError: (error) => {
              clearTimeout(limit);
              subscription.unsubscribe();
              resolve({ values, error: error as TRPCClientError<TestRouter> });
            },
            onComplete: () => {
              clearTimeout(limit);
              resolve({ values, error: undefined });
            },
          });
        },
      );
      expect(outcome.values.length).toBeLessThan(MAX_TICKS);
      expect(outcome.error?.data?.auth).toMatchObject({ code: 'UNAUTHORIZED', reason: 'token_expired' });
      expect(Date.now() - started).toBeLessThan((MAX_TICKS - 10) * TICK_MS);
      await expect(client.me.query()).rejects.toMatchObject({ data: { auth: { reason: 'token_expired' } } });
    } finally {
      await ws.close();
    }
  });
});

describe('yoga over SSE', () => {
  it('a subscription ends with a last token_expired event, then complete', async () => {
    const token = await issuer.sign({ scope: 'read:ticks' }, { expiresIn: 2 });
    const response = await fetch(yoga.url, {
      method: 'POST',
      signal: AbortSignal.timeout(8_000),
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: 'subscription { ticks(max: 500, intervalMs: 100) }' }),
    });
    const text = await response.text(); // the stream completes on its own at the expiry
    const events = [...text.matchAll(/^event: (.*)$/gm)].map((match) => match[1]);
    const data = [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1] ?? '');
    expect(events.at(-1)).toBe('complete');
    expect(events.filter((event) => event === 'next').length).toBeLessThan(100);
    const last = data.filter((line) => line.startsWith('{')).at(-1) as string;
    expect(JSON.parse(last)).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHORIZED', reason: 'token_expired' } }],
    });
  });
});

describe('no spinning timer', () => {
  it('waiting for the expiry (RequestAuth.expired) arms a few timers, then resolves at the expiry', async () => {
    const token = await issuer.sign({}, { expiresIn: 1 });
    const auth = verifier.authenticate(`Bearer ${token}`);
    await auth.claims();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const started = Date.now();
      const error = await auth.expired(AbortSignal.timeout(5_000));
      expect(error.reason).toBe('token_expired');
      expect(Date.now() - started).toBeLessThan(3_000);
      // Before the fix: a NaN end re-armed a 1 ms timer until the token expired (hundreds of them).
      expect(timers.mock.calls.filter(([, ms]) => typeof ms === 'number' && ms < 50).length).toBeLessThan(5);
    } finally {
      timers.mockRestore();
    }
  });
});
