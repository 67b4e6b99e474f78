/**
 * Issue 8, "say why": `onRefusal(error)` and the logger see each refused request ONCE, at one
 * choke point in core (request-auth), whatever the adapter: a GraphQL request with five denied
 * fields, a tRPC batch with several refused calls. A throwing callback never changes the response,
 * and `detail` never reaches the client (body, extensions, tRPC data, challenge).
 */
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthError, createVerifier, type VerifierOptions } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { gql, type Running, startYoga } from '../graphql/support.js';
import { buildApp, type TestRouter } from '../trpc/support/app.js';
import { type RunningServer, rawRequest, startStandalone } from '../trpc/support/servers.js';

let issuer: TestIssuer;
const refusals: AuthError[] = [];
const logged: { message: string; details: Readonly<Record<string, unknown>> | undefined }[] = [];
let throwing = false;
let yoga: Running;
let trpc: RunningServer;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://api.example.test' });
  const verifier = createVerifier({
    ...issuer.verifierOptions,
    logger: { warn: (message, details) => logged.push({ message, details }) },
    onRefusal: (error) => {
      refusals.push(error);
      if (throwing) throw new Error('metrics backend down');
    },
  } as VerifierOptions);
  yoga = await startYoga({ verifier });
  const { router, createContext } = buildApp(verifier as never);
  trpc = await startStandalone(router, createContext);
});

afterAll(async () => {
  await yoga?.close();
  await trpc?.close();
});

function reset(): void {
  refusals.length = 0;
  logged.length = 0;
  throwing = false;
}

const FIVE_DENIED =
  '{ publicInfo a: orders { id } b: orders { id } c: orders { id } d: orders { id } e: orders { id } }';
('{ publicInfo a: requiredSecret b: requiredSecret c: requiredSecret d: requiredSecret e: requiredSecret }');

describe('yoga', () => {
  it('a request with five denied fields calls onRefusal once, and logs the refusal with its detail once', async () => {
    reset();
    const token = await issuer.sign({ scope: 'read:email' });
    const reply = await gql(yoga.url, FIVE_DENIED, { token });
    expect(reply.body.errors).toHaveLength(5);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ reason: 'insufficient_scope', status: 403 });
    const refusedLogs = logged.filter((entry) => entry.message === 'scopegate: refused a request');
    expect(refusedLogs).toEqual([
      { message: 'scopegate: refused a request', details: { status: 403, reason: 'insufficient_scope' } },
    ]);
  });

  it('an invalid token: once, with the detail logged and never in the response', async () => {
    reset();
    const reply = await gql(yoga.url, FIVE_DENIED, { token: await issuer.expired() });
    expect(reply.body.errors).toHaveLength(5); // partial data: public field served, status 200
    expect(refusals).toHaveLength(1);
    const detail = refusals[0]?.detail as string;
    expect(detail).toMatch(/^exp: \d+ \(.*\) is past/);
    expect(logged).toContainEqual({
      message: 'scopegate: refused a request',
      details: { status: 401, reason: 'token_expired', detail },
    });
    expect(JSON.stringify(reply.body)).not.toContain('exp:');
    expect(reply.headers.get('www-authenticate') ?? '').not.toContain('exp:');
  });

  it('a throwing onRefusal does not change the response', async () => {
    reset();
    const token = await issuer.sign({ scope: 'read:email' });
    const quiet = await gql(yoga.url, FIVE_DENIED, { token });
    throwing = true;
    const loud = await gql(yoga.url, FIVE_DENIED, { token });
    expect(refusals).toHaveLength(2);
    expect(loud.status).toBe(quiet.status);
    expect(loud.body).toEqual(quiet.body);
    expect(loud.headers.get('www-authenticate')).toBe(quiet.headers.get('www-authenticate'));
  });

  it('an accepted request calls nothing', async () => {
    reset();
    const reply = await gql(yoga.url, '{ publicInfo requiredSecret }', {
      token: await issuer.sign({ scope: 'read:orders' }),
    });
    expect(reply.body.data).toEqual({ publicInfo: expect.any(String), requiredSecret: expect.any(String) });
    expect(refusals).toHaveLength(0);
  });
});

describe('tRPC', () => {
  it('a batch with several refused calls calls onRefusal once', async () => {
    reset();
    const token = await issuer.sign({ scope: 'read:email' });
    const client = createTRPCClient<TestRouter>({
      links: [httpBatchLink({ url: trpc.url, headers: () => ({ authorization: `Bearer ${token}` }) })],
    });
    const results = await Promise.allSettled([
      client.health.query(),
      client.orders.query(),
      client.reports.query(),
      client.acme.query(),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.status).toBe(403);
  });

  it('an invalid token in a batch: once; detail not in tRPC data; a throwing callback changes nothing', async () => {
    reset();
    const token = await issuer.wrongAudience();
    const quiet = await rawRequest(trpc.port, '/me,orders?batch=1&input={}', [
      `Authorization: Bearer ${token}`,
    ]);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.detail).toMatch(/^aud: expected \["https:\/\/api\.example\.test"\]/);
    expect(quiet.body).not.toContain('aud:');
    throwing = true;
    const loud = await rawRequest(trpc.port, '/me,orders?batch=1&input={}', [
      `Authorization: Bearer ${token}`,
    ]);
    expect(refusals).toHaveLength(2);
    expect(loud.status).toBe(quiet.status);
    expect(loud.body).toBe(quiet.body);
  });
});

describe('CFG', () => {
  it('onRefusal must be a function', () => {
    expect(() => createVerifier({ ...issuer.verifierOptions, onRefusal: 'metrics' } as never)).toThrow(
      '"onRefusal" option must be a function (error) => void',
    );
  });
});
