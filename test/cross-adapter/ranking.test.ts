/**
 * One rule for which refusal answers a response (src/core/policy.ts `answeringRefusal`): 400, then
 * 401, then 403; 503 only when every refusal is a 503. The same on a real tRPC batch and a real
 * graphql-yoga response (yoga used to pick the highest status).
 */
import { createServer } from 'node:http';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, answeringRefusal, createVerifier, type Verifier } from '../../src/core/index.js';
import { toGraphQLError, useAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { authErrorFormatter, authResponseMeta, createAuthContext } from '../../src/trpc/index.js';
import { serverPool } from './support.js';

const BAD_REQUEST_CHALLENGE =
  'Bearer realm="api", error="invalid_request", error_description="The request is malformed", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';

let issuer: TestIssuer;
let verifier: Verifier;
const pool = serverPool();

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions);
});

afterAll(() => pool.closeAll());

describe('answeringRefusal', () => {
  const e = (reason: ConstructorParameters<typeof AuthError>[0]) => new AuthError(reason);
  it.each([
    [
      '400 before 401 and 403',
      [e('claim_check_failed'), e('token_expired'), e('invalid_request')],
      'invalid_request',
    ],
    ['401 before 403', [e('insufficient_scope'), e('token_expired')], 'token_expired'],
    ['503 loses to any other', [e('issuer_unavailable'), e('insufficient_scope')], 'insufficient_scope'],
    ['503 when every refusal is 503', [e('issuer_unavailable'), undefined], 'issuer_unavailable'],
    ['the first among equals', [e('token_expired'), e('invalid_signature')], 'token_expired'],
  ] as const)('%s', (_name, refusals, reason) => {
    expect(answeringRefusal(refusals)?.reason).toBe(reason);
  });

  it('nothing refused: undefined', () => {
    expect(answeringRefusal([undefined])).toBeUndefined();
  });
});

describe('both adapters answer a 400 and a 403 with the 400', () => {
  it('tRPC: a batch whose calls were refused with 403 and 400', async () => {
    const createContext = createAuthContext(verifier);
    const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
    const router = t.router({
      forbidden: t.procedure.query(() => {
        throw new AuthError('claim_check_failed');
      }),
      malformed: t.procedure.query(() => {
        throw new AuthError('invalid_request');
      }),
    });
    const url = await pool.listen(
      createHTTPServer({ router, createContext, responseMeta: authResponseMeta }),
    );
    const response = await fetch(`${url}/forbidden,malformed?batch=1&input=${encodeURIComponent('{}')}`);
    await response.text();
    expect(response.headers.get('www-authenticate')).toBe(BAD_REQUEST_CHALLENGE);
  });

  it('graphql-yoga: a result without data refused with 403 and 400', async () => {
    // Refusals of several fields before execution (as the precheck gives them), in one result.
    const refuseBoth: Plugin = {
      onExecute({ setResultAndStopExecution }) {
        setResultAndStopExecution({
          errors: [
            toGraphQLError(new AuthError('claim_check_failed')),
            toGraphQLError(new AuthError('invalid_request')),
          ],
        });
      },
    };
    const yoga = createYoga({
      logging: false,
      schema: createSchema({ typeDefs: 'type Query { a: String }', resolvers: { Query: { a: () => 'a' } } }),
      plugins: [useAuth({ verifier }), refuseBoth],
    });
    const url = await pool.listen(createServer(yoga));
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ a }' }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { reason?: string } }[] };
    expect(body.errors?.map((error) => error.extensions?.reason)).toEqual([
      'claim_check_failed',
      'invalid_request',
    ]);
    expect(response.status).toBe(400);
    expect(response.headers.get('www-authenticate')).toBe(BAD_REQUEST_CHALLENGE);
  });
});
