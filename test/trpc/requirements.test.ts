/**
 * requireScopes / requireClaims: compiled once where declared (TypeError on bad input), checked
 * through ctx.auth so that they hold even when misused from JavaScript.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthError, createVerifier, type Verifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  createAuthContext,
  createAuthProcedures,
  requireClaims,
  requireScopes,
} from '../../src/trpc/index.js';
import { AUDIENCE } from './support/tokens.js';

let issuer: TestIssuer;
let verifier: Verifier;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  verifier = createVerifier(issuer.verifierOptions);
});

describe('definition-time validation', () => {
  it.each<[string, unknown]>([
    ['an empty string', ''],
    ['an empty list', []],
    ['an empty anyOf', { anyOf: [] }],
    ['a scope with a quote', 'read:"x"'],
    ['a scope with a backslash', ['a\\b']],
    ['a number', 5],
    ['null', null],
  ])('requireScopes rejects %s with a TypeError', (_name, requirement) => {
    expect(() => requireScopes(requirement as string)).toThrow(TypeError);
  });

  it.each<[string, unknown]>([
    ['an empty object', {}],
    ['an array', ['org']],
    ['a nested object', { org: { id: 1 } }],
    ['an empty expected list', { roles: [] }],
    ['null', null],
  ])('requireClaims rejects %s with a TypeError', (_name, check) => {
    expect(() => requireClaims(check as never)).toThrow(TypeError);
  });

  it('does not keep a reference to the caller-owned check object', async () => {
    const check: Record<string, string> = { org: 'acme' };
    const middleware = requireClaims(check);
    check.org = 'globex';
    const createContext = createAuthContext(verifier);
    const t = initTRPC.context<typeof createContext>().create();
    const { protectedProcedure } = createAuthProcedures(t);
    const caller = t.router({ acme: protectedProcedure.use(middleware).query(() => 'in') }).createCaller(
      createContext({
        req: new Request('http://x/', {
          headers: { authorization: `Bearer ${await issuer.sign({ org: 'acme' })}` },
        }),
      }),
    );
    await expect(caller.acme()).resolves.toBe('in');
  });
});

describe('misuse from JavaScript (bypassing the types)', () => {
  it('requireScopes on a public procedure still verifies the token first', async () => {
    const createContext = createAuthContext(verifier);
    const t = initTRPC.context<typeof createContext>().create();
    const unsafe = t.procedure.use(requireScopes('read:orders') as never).query(() => 'orders');
    const router = t.router({ unsafe });
    const anonymous = router.createCaller(createContext({ req: new Request('http://x/') }));
    const error = await anonymous.unsafe().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('UNAUTHORIZED');
    expect((error as TRPCError).cause).toBeInstanceOf(AuthError);

    const token = await issuer.sign({ scope: 'read:orders' });
    const allowed = router.createCaller(
      createContext({ req: new Request('http://x/', { headers: { authorization: `Bearer ${token}` } }) }),
    );
    await expect(allowed.unsafe()).resolves.toBe('orders');
  });

  it('a throwing predicate is a server bug (500), never a 401/403', async () => {
    const createContext = createAuthContext(verifier);
    const t = initTRPC.context<typeof createContext>().create();
    const { protectedProcedure } = createAuthProcedures(t);
    const broken = protectedProcedure
      .use(
        requireClaims(() => {
          throw new Error('bug in predicate');
        }),
      )
      .query(() => 'never');
    const token = await issuer.sign();
    const caller = t
      .router({ broken })
      .createCaller(
        createContext({ req: new Request('http://x/', { headers: { authorization: `Bearer ${token}` } }) }),
      );
    await expect(caller.broken()).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
  });
});
