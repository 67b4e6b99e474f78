/**
 * DPoP (RFC 9449) end to end on Apollo Server 5 (`scopegate/apollo`, startStandaloneServer on
 * 127.0.0.1) with the example app: accepted, Bearer-with-cnf refused, `required` mode, a replayed
 * proof, the nonce flow, and DPoP-Nonce on every DPoP response.
 */
import { startStandaloneServer } from '@apollo/server/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/apollo/app.js';
import { createVerifier, type DpopOptions, type VerifierOptions } from '../../src/core/index.js';
import { createTestIssuer, type TestDpopKey, type TestIssuer } from '../../src/testing/index.js';
import {
  DPOP_CHALLENGES,
  dpopHeaders,
  graphqlAuthError,
  NONCE_PATTERN,
  NONCE_SECRET,
  seen,
} from '../helpers/dpop.js';

let issuer: TestIssuer;
let key: TestDpopKey;
const closers: (() => Promise<void>)[] = [];

async function serve(dpop?: DpopOptions): Promise<string> {
  const options: VerifierOptions = { ...issuer.verifierOptions, ...(dpop && { dpop }) };
  const app = createApp(createVerifier(options));
  const { url } = await startStandaloneServer(app.server, {
    context: app.context,
    listen: { port: 0, host: '127.0.0.1' },
  });
  closers.push(() => app.server.stop());
  return url;
}

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://notes.example.test' });
  key = await issuer.dpopKey();
});
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function post(url: string, headers: Record<string, string>) {
  return seen(
    await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ notes { id } }' }),
    }),
  );
}

describe('Apollo Server, allowed mode', () => {
  let url: string;
  beforeAll(async () => {
    url = await serve();
  });

  it('accepts a DPoP-bound token with a valid proof', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const reply = await post(url, await dpopHeaders(key, { method: 'POST', url, token }));
    expect(reply).toMatchObject({ status: 200, challenge: null, body: { data: { notes: [] } } });
  });

  it('#63 Apollo: refuses a cnf.jkt token under Bearer (invalid_token_binding)', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const reply = await post(url, { authorization: `Bearer ${token}` });
    expect(reply.status).toBe(401);
    expect(graphqlAuthError(reply.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'invalid_token_binding' });
    expect(reply.challenge).toBe(DPOP_CHALLENGES.bindingUnderBearer);
  });

  it('#86 Apollo: refuses a replayed proof (invalid_dpop_proof)', async () => {
    const token = await key.sign({ scope: 'notes:read' });
    const headers = await dpopHeaders(key, { method: 'POST', url, token });
    expect((await post(url, headers)).status).toBe(200);
    const replayed = await post(url, headers);
    expect(replayed.status).toBe(401);
    expect(graphqlAuthError(replayed.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'invalid_dpop_proof' });
    expect(replayed.challenge).toBe(DPOP_CHALLENGES.invalidProof);
  });
});

describe('Apollo Server, required mode', () => {
  it('#91 Apollo: refuses a Bearer token (dpop_required, the bare DPoP challenge) and accepts DPoP', async () => {
    const url = await serve({ mode: 'required' });
    const bearer = await issuer.sign({ scope: 'notes:read' });
    const reply = await post(url, { authorization: `Bearer ${bearer}` });
    expect(reply.status).toBe(401);
    expect(graphqlAuthError(reply.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'dpop_required' });
    expect(reply.challenge).toBe(DPOP_CHALLENGES.required);
    const token = await key.sign({ scope: 'notes:read' });
    expect((await post(url, await dpopHeaders(key, { method: 'POST', url, token }))).status).toBe(200);
  });
});

describe('Apollo Server with server nonces', () => {
  it('#92 Apollo: use_dpop_nonce 401 with a DPoP-Nonce, then success; DPoP-Nonce on every DPoP response', async () => {
    const url = await serve({ nonce: { secret: NONCE_SECRET } });
    const token = await key.sign({ scope: 'notes:read' });
    const first = await post(url, await dpopHeaders(key, { method: 'POST', url, token }));
    expect(first.status).toBe(401);
    expect(graphqlAuthError(first.body)).toEqual({ code: 'UNAUTHORIZED', reason: 'use_dpop_nonce' });
    expect(first.challenge).toBe(DPOP_CHALLENGES.useNonce);
    expect(first.nonce).toMatch(NONCE_PATTERN);
    const second = await post(
      url,
      await dpopHeaders(key, { method: 'POST', url, token, nonce: first.nonce as string }),
    );
    expect(second).toMatchObject({ status: 200, challenge: null, body: { data: { notes: [] } } });
    expect(second.nonce).toMatch(NONCE_PATTERN);
    // A refusal after the nonce check (the token lacks the scope: 200 with a field error) still carries one.
    const unscoped = await key.sign({ scope: 'profile:email' });
    const third = await post(
      url,
      await dpopHeaders(key, { method: 'POST', url, token: unscoped, nonce: second.nonce as string }),
    );
    expect(third.status).toBe(403);
    expect(third.nonce).toMatch(NONCE_PATTERN);
  });
});
