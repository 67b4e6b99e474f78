/**
 * Batches and the tRPC client: per-call results, one verification per HTTP request
 * (SECURITY.md #71), and typed errors on the client through `TRPCClientError<AppRouter>`.
 */
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type VerifierOptions } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { buildApp, type TestRouter } from './support/app.js';
import { type CountingSchema, countingSchema } from './support/counting.js';
import { type RunningServer, rawRequest, startFetch, startStandalone } from './support/servers.js';
import { AUDIENCE, CHALLENGE, MESSAGE } from './support/tokens.js';

let issuer: TestIssuer;
let schema: CountingSchema;
const servers: Record<string, RunningServer> = {};

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  schema = countingSchema();
  const verifier = createVerifier({
    ...issuer.verifierOptions,
    claims: schema,
  } as VerifierOptions<CountingSchema>);
  const { router, createContext } = buildApp(verifier);
  servers.standalone = await startStandalone(router, createContext);
  servers.fetch = await startFetch(router, createContext);
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.close()));
});

function batchClient(url: string, token?: string) {
  return createTRPCClient<TestRouter>({
    links: [httpBatchLink({ url, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
  });
}

describe.each(['standalone', 'fetch'])('%s adapter', (adapterName) => {
  const server = () => servers[adapterName] as RunningServer;

  it('#71 a batch of public, allowed and forbidden calls: one request, one verification, per-call results', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'read:orders', org: 'globex' });
    const client = batchClient(server().url, token);
    const requestsBefore = server().requests();
    const verificationsBefore = schema.verifications();

    const [health, me, orders, acme, maybe, created] = await Promise.allSettled([
      client.health.query(),
      client.me.query(),
      client.orders.query(),
      client.acme.query(),
      client.maybe.query(),
      client.createOrder.mutate({ item: 'book' }),
    ]);

    expect(server().requests() - requestsBefore).toBe(2); // queries in one GET, the mutation in one POST
    expect(schema.verifications() - verificationsBefore).toBe(2); // one per HTTP request, not per call
    expect(health).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(me).toEqual({ status: 'fulfilled', value: { sub: 'alice' } });
    expect(orders).toEqual({ status: 'fulfilled', value: ['order-1'] });
    expect(maybe).toEqual({ status: 'fulfilled', value: 'alice' });
    expect(acme.status).toBe('rejected');
    const acmeError = (acme as PromiseRejectedResult).reason as TRPCClientError<TestRouter>;
    expect(acmeError.data?.auth).toEqual({
      code: 'FORBIDDEN',
      reason: 'claim_check_failed',
      message: MESSAGE.claim_check_failed,
    });
    const createError = (created as PromiseRejectedResult).reason as TRPCClientError<TestRouter>;
    expect(createError.data?.code).toBe('FORBIDDEN');
    expect(createError.data?.auth?.requiredScopes).toEqual(['write:orders']);
  });

  it('#71 a raw batch: 207 with one slot per call, the challenge of the refused call', async () => {
    const token = await issuer.sign({ scope: 'read:orders' });
    const verificationsBefore = schema.verifications();
    const response = await rawRequest(server().port, '/health,me,orders,acme?batch=1', [
      `Authorization: Bearer ${token}`,
    ]);
    expect(schema.verifications() - verificationsBefore).toBe(1);
    expect(response.status).toBe(207);
    expect(response.headers['www-authenticate']).toBe(CHALLENGE.forbidden());
    const slots = response.json() as { result?: { data: unknown }; error?: { data: { code: string } } }[];
    expect(slots.map((slot) => slot.result?.data ?? slot.error?.data.code)).toEqual([
      'ok',
      { sub: 'test-user' },
      ['order-1'],
      'FORBIDDEN',
    ]);
  });

  it('a batch refused as a whole (no token) is 401 with the bare challenge; public calls still answer', async () => {
    const response = await rawRequest(server().port, '/me,orders?batch=1', []);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(CHALLENGE.missing);
    const mixed = await rawRequest(server().port, '/health,me?batch=1', []);
    expect(mixed.status).toBe(207);
    expect(mixed.headers['www-authenticate']).toBe(CHALLENGE.missing);
  });

  it('every protected call of a batch gets the same refusal from the one shared verification', async () => {
    const token = await issuer.sign({ sub: 42 }); // signature fine, claims invalid: the schema never runs
    const response = await rawRequest(server().port, '/me,orders,acme,maybe?batch=1', [
      `Authorization: Bearer ${token}`,
    ]);
    expect(response.status).toBe(401);
    const slots = response.json() as { error: { data: { auth: { reason: string } } } }[];
    expect(slots.map((slot) => slot.error.data.auth.reason)).toEqual([
      'invalid_claims',
      'invalid_claims',
      'invalid_claims',
      'invalid_claims',
    ]);
    expect(response.headers['www-authenticate']).toBe(CHALLENGE.invalidToken);
  });

  it('a streamed batch (httpBatchStreamLink) is marked private before its results are known', async () => {
    const token = await issuer.sign({ scope: 'read:orders' });
    const streamed = await rawRequest(server().port, '/health,orders?batch=1', [
      `Authorization: Bearer ${token}`,
      'trpc-accept: application/jsonl',
    ]);
    expect(streamed.status).toBe(200);
    expect(streamed.headers['cache-control']).toBe('private, no-store');
    expect(streamed.body).toContain('order-1');
    const publicOnly = await rawRequest(server().port, '/health?batch=1', ['trpc-accept: application/jsonl']);
    expect(publicOnly.headers['cache-control']).toBeUndefined();
  });

  it('httpLink: the client switches on error.data.auth.reason, typed', async () => {
    const expired = await issuer.expired();
    const client = createTRPCClient<TestRouter>({
      links: [httpLink({ url: server().url, headers: { authorization: `Bearer ${expired}` } })],
    });
    const error = await client.me.query().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TRPCClientError);
    const typed = error as TRPCClientError<TestRouter>;
    expect(typed.data?.httpStatus).toBe(401);
    expect(typed.message).toBe(MESSAGE.token_expired);
    expect(typed.data?.auth?.reason).toBe('token_expired');
    // The whole serialized error carries no token and no library detail.
    expect(JSON.stringify(typed.shape)).not.toContain(expired.split('.')[1]);
  });
});

describe('presentation options of the verifier reach the client', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const verifier = createVerifier({ ...issuer.verifierOptions, realm: 'orders-api', exposeReasons: false });
    const { router, createContext } = buildApp(verifier);
    server = await startStandalone(router, createContext);
  });
  afterAll(() => server.close());

  it('exposeReasons: false collapses 401 reasons to invalid_token, in data.auth and the message', async () => {
    const token = await issuer.expired();
    const response = await rawRequest(server.port, '/me', [`Authorization: Bearer ${token}`]);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="orders-api", error="invalid_token", error_description="The access token is invalid", DPoP realm="orders-api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
    const body = response.json() as { error: { message: string; data: { auth: unknown } } };
    expect(body.error.message).toBe(MESSAGE.invalid_token);
    expect(body.error.data.auth).toEqual({
      code: 'UNAUTHORIZED',
      reason: 'invalid_token',
      message: MESSAGE.invalid_token,
    });
    expect(response.body).not.toContain('expired');
  });

  it('the realm applies to 403 challenges from requireScopes too', async () => {
    const token = await issuer.sign();
    const response = await rawRequest(server.port, '/orders', [`Authorization: Bearer ${token}`]);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="orders-api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="read:orders", DPoP realm="orders-api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
    );
  });
});
