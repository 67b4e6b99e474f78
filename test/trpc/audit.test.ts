/**
 * describeProcedures / assertProtected: every procedure's requirement, read from its middleware
 * chain; deny by default.
 */
import { lazy } from '@trpc/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type JwtClaims } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';
import {
  assertProtected,
  createAuthProcedures,
  describeProcedures,
  requireClaims,
  requireScopes,
  UnprotectedProcedureError,
} from '../../src/trpc/index.js';
import { buildApp, type TestRouter } from './support/app.js';
import { AUDIENCE } from './support/tokens.js';

let app: ReturnType<typeof buildApp>;
let router: TestRouter;

beforeAll(async () => {
  const issuer = await createTestIssuer({ audience: AUDIENCE });
  app = buildApp(createVerifier(issuer.verifierOptions));
  router = app.router;
});

const PUBLIC = ['echo', 'health', 'maybe', 'publicTicks'];

describe('describeProcedures', () => {
  it('lists every procedure with its requirement, sorted by path', async () => {
    const described = await describeProcedures(router);
    expect(described.map((p) => [p.path, p.type, p.summary])).toEqual([
      ['acme', 'query', 'authenticated; claims {"org":"acme"}'],
      ['byId', 'query', 'authenticated'],
      ['createOrder', 'mutation', 'authenticated; scopes write:orders'],
      ['echo', 'query', 'public'],
      ['health', 'query', 'public'],
      ['maybe', 'query', 'optional'],
      ['me', 'query', 'authenticated'],
      ['orders', 'query', 'authenticated; scopes read:orders'],
      ['publicTicks', 'subscription', 'public'],
      ['reports', 'query', 'authenticated; scopes (admin) OR (read:reports AND export:reports)'],
      ['ticks', 'subscription', 'authenticated'],
    ]);
    const reports = described.find((p) => p.path === 'reports');
    expect(reports?.access).toBe('authenticated');
    expect(reports?.scopes).toEqual([[['admin'], ['read:reports', 'export:reports']]]);
    expect(described.find((p) => p.path === 'acme')?.claims).toEqual([{ org: 'acme' }]);
  });

  it('walks nested and lazy routers, and combines several requirements on one procedure', async () => {
    const { t } = app;
    const { publicProcedure, protectedProcedure } = createAuthProcedures(t);
    const isStaff = (claims: JwtClaims) => Array.isArray(claims.roles) && claims.roles.includes('staff');
    const nested = t.router({
      admin: t.router({
        users: protectedProcedure
          .use(requireScopes([['users:read', 'users:write'], ['admin']]))
          .use(requireScopes('audit'))
          .use(requireClaims(isStaff))
          .query(() => []),
      }),
      later: lazy(async () => t.router({ status: publicProcedure.query(() => 'up') })),
    });
    const described = await describeProcedures(nested);
    expect(described.map((p) => [p.path, p.summary])).toEqual([
      [
        'admin.users',
        'authenticated; scopes (users:read AND users:write) OR (admin) AND audit; claims predicate isStaff',
      ],
      ['later.status', 'public'],
    ]);
  });
});

describe('assertProtected', () => {
  it('passes when every procedure is protected or declared public, and returns the descriptions', async () => {
    const described = await assertProtected(router, { public: PUBLIC });
    expect(described).toHaveLength(11);
  });

  it('fails listing each procedure that is neither protected nor declared public', async () => {
    const error = await assertProtected(router, { public: ['health'] }).then(
      () => undefined,
      (caught: unknown) => caught as UnprotectedProcedureError,
    );
    expect(error).toBeInstanceOf(UnprotectedProcedureError);
    expect(error?.unprotected.map((p) => p.path)).toEqual(['echo', 'maybe', 'publicTicks']);
    expect(error?.message).toBe(
      [
        '3 procedure(s) are neither protected nor declared public:',
        '  - query echo (public)',
        '  - query maybe (optional)',
        '  - subscription publicTicks (public)',
      ].join('\n'),
    );
  });

  it('fails on declared-public entries that match nothing (a stale list)', async () => {
    const error = await assertProtected(router, { public: [...PUBLIC, 'oldHealth', 'docs.*'] }).then(
      () => undefined,
      (caught: unknown) => caught as UnprotectedProcedureError,
    );
    expect(error).toBeInstanceOf(UnprotectedProcedureError);
    expect(error?.unprotected).toEqual([]);
    expect(error?.unknownPublic).toEqual(['oldHealth', 'docs.*']);
    expect(error?.message).toContain(
      '2 declared public procedure(s) do not exist:\n  - oldHealth\n  - docs.*',
    );
  });

  it('accepts prefix patterns', async () => {
    const { t } = app;
    const { publicProcedure, protectedProcedure } = createAuthProcedures(t);
    const withDocs = t.router({
      docs: t.router({ intro: publicProcedure.query(() => ''), api: publicProcedure.query(() => '') }),
      docsAdmin: protectedProcedure.query(() => ''),
    });
    await expect(assertProtected(withDocs, { public: ['docs.*'] })).resolves.toHaveLength(3);
  });

  it('counts a hand-written auth middleware as public: only scopegate middlewares are trusted', async () => {
    const { t } = app;
    const homemade = t.procedure.use(async ({ ctx, next }) =>
      next({ ctx: { claims: await ctx.auth.claims() } }),
    );
    const withHomemade = t.router({ secret: homemade.query(() => 'x') });
    await expect(assertProtected(withHomemade, { public: [] })).rejects.toThrow(
      '1 procedure(s) are neither protected nor declared public:\n  - query secret (public)',
    );
  });

  it.each<[string, unknown]>([
    ['missing options', undefined],
    ['a string', { public: 'health' }],
    ['an empty path', { public: [''] }],
    ['a non-string path', { public: [42] }],
  ])('rejects %s with a TypeError', async (_name, options) => {
    await expect(assertProtected(router, options as { public: string[] })).rejects.toThrow(TypeError);
  });
});
