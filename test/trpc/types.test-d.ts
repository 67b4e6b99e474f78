/**
 * Compile-time guarantees of scopegate/trpc: typed claims, authorization middlewares that do not
 * fit procedures without verified claims, typed errors on the client, adapter compatibility.
 */
import type { TRPCClientError } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import type { FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import type { CreateWSSContextFnOptions } from '@trpc/server/adapters/ws';
import type { ResponseMetaFn } from '@trpc/server/http';
import { describe, expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import {
  type AuthErrorInfo,
  type AuthErrorReason,
  createVerifier,
  type JwtClaims,
  type RequestAuth,
} from '../../src/core/index.js';
import {
  authErrorFormatter,
  authResponseMeta,
  createAuthContext,
  createAuthProcedures,
  requireClaims,
  requireScopes,
  withAuthErrorFormatter,
} from '../../src/trpc/index.js';

const verifier = createVerifier({
  issuer: 'https://issuer.example.test/',
  audience: 'https://api.example.test',
  jwks: { keys: [] },
  claims: z.object({ org: z.string(), roles: z.array(z.string()) }),
});
type Claims = JwtClaims & Readonly<{ org: string; roles: string[] }>;

const createContext = createAuthContext(verifier);
const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
const { publicProcedure, protectedProcedure, optionalAuthProcedure } = createAuthProcedures(t);

const appRouter = t.router({
  me: protectedProcedure.query(({ ctx }) => ctx.claims),
  orders: protectedProcedure.use(requireScopes('read:orders')).query(({ ctx }) => ctx.claims.org),
  staff: protectedProcedure.use(requireClaims((claims) => claims.roles.includes('staff'))).query(() => 1),
  maybe: optionalAuthProcedure.query(({ ctx }) => ctx.claims),
});
type AppRouter = typeof appRouter;

describe('context and procedures', () => {
  test('the context carries the verifier-typed RequestAuth', () => {
    expectTypeOf(createContext).returns.toEqualTypeOf<{ readonly auth: RequestAuth<Claims> }>();
  });

  test('protectedProcedure narrows ctx.claims to the verified, typed claims', () => {
    protectedProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.claims).toEqualTypeOf<Claims>();
      expectTypeOf(ctx.claims.org).toEqualTypeOf<string>();
      expectTypeOf(ctx.auth).toEqualTypeOf<RequestAuth<Claims>>();
    });
  });

  test('optionalAuthProcedure gives Claims | null', () => {
    optionalAuthProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.claims).toEqualTypeOf<Claims | null>();
    });
  });

  test('publicProcedure has no claims', () => {
    publicProcedure.query(({ ctx }) => {
      expectTypeOf(ctx).not.toHaveProperty('claims');
    });
  });

  test('requireClaims infers the claims type for its predicate', () => {
    protectedProcedure.use(
      requireClaims((claims) => {
        expectTypeOf(claims).toEqualTypeOf<Claims>();
        return claims.org === 'acme';
      }),
    );
  });

  test('createAuthProcedures needs a context with auth', () => {
    const bare = initTRPC.create();
    // @ts-expect-error the context has no `auth`: createAuthContext was not used
    createAuthProcedures(bare);
  });
});

describe('authorization middlewares need verified claims', () => {
  test('they fit protectedProcedure, and chain', () => {
    protectedProcedure
      .use(requireScopes('a'))
      .use(requireScopes({ anyOf: ['b', ['c', 'd']] }))
      .use(requireClaims({ org: 'acme' }));
  });

  test('requireScopes does not compile on publicProcedure', () => {
    // @ts-expect-error no verified claims in this context
    publicProcedure.use(requireScopes('read:orders'));
  });

  test('requireScopes does not compile on optionalAuthProcedure (claims may be null)', () => {
    // @ts-expect-error claims may be null
    optionalAuthProcedure.use(requireScopes('read:orders'));
  });

  test('requireScopes and requireClaims do not compile on t.procedure', () => {
    // @ts-expect-error no verified claims in this context
    t.procedure.use(requireScopes('read:orders'));
    // @ts-expect-error no verified claims in this context
    t.procedure.use(requireClaims({ org: 'acme' }));
  });

  test('requireScopes does not compile on a router without scopegate at all', () => {
    const plain = initTRPC.context<{ user: string }>().create();
    // @ts-expect-error no auth, no claims
    plain.procedure.use(requireScopes('read:orders'));
  });

  test('scope requirements are typed', () => {
    // @ts-expect-error a number is not a scope requirement
    requireScopes(5);
  });
});

describe('errors on the client', () => {
  test('TRPCClientError<AppRouter> exposes data.auth with typed reasons', () => {
    type Data = NonNullable<TRPCClientError<AppRouter>['data']>;
    expectTypeOf<Data['auth']>().toEqualTypeOf<AuthErrorInfo | null>();
    expectTypeOf<NonNullable<Data['auth']>['reason']>().toEqualTypeOf<AuthErrorReason>();
    expectTypeOf<Data['httpStatus']>().toEqualTypeOf<number>();
  });

  test('withAuthErrorFormatter keeps auth and adds the user fields', () => {
    const composed = initTRPC.context<typeof createContext>().create({
      errorFormatter: withAuthErrorFormatter(({ shape, ctx }) => {
        expectTypeOf(ctx).toEqualTypeOf<{ readonly auth: RequestAuth<Claims> } | undefined>();
        expectTypeOf(shape.data.auth).toEqualTypeOf<AuthErrorInfo | null>();
        return { ...shape, data: { ...shape.data, traceId: 'x' } };
      }),
    });
    const router = composed.router({ ping: composed.procedure.query(() => 'pong') });
    type Data = NonNullable<TRPCClientError<typeof router>['data']>;
    expectTypeOf<Data['auth']>().toEqualTypeOf<AuthErrorInfo | null>();
    expectTypeOf<Data['traceId']>().toEqualTypeOf<string>();
  });
});

describe('adapters', () => {
  test('one createContext fits the standalone, fetch and ws adapters', () => {
    expectTypeOf(createContext).toExtend<(opts: CreateHTTPContextOptions) => unknown>();
    expectTypeOf(createContext).toExtend<(opts: FetchCreateContextFnOptions) => unknown>();
    expectTypeOf(createContext).toExtend<(opts: CreateWSSContextFnOptions) => unknown>();
  });

  test('authResponseMeta fits responseMeta', () => {
    expectTypeOf(authResponseMeta).toExtend<ResponseMetaFn<AppRouter>>();
  });
});
