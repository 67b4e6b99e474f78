/**
 * authErrorFormatter / withAuthErrorFormatter and authResponseMeta / withAuthResponseMeta,
 * through real servers: composition with user hooks, isDev, raw AuthErrors from user code.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, createVerifier, type Verifier } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  authErrorFormatter,
  authResponseMeta,
  createAuthContext,
  createAuthProcedures,
  toTRPCError,
  withAuthErrorFormatter,
  withAuthResponseMeta,
} from '../../src/trpc/index.js';
import { challengeError } from '../../src/trpc/response-meta.js';
import { buildApp } from './support/app.js';
import { type RunningServer, rawRequest, startStandalone } from './support/servers.js';
import { AUDIENCE, CHALLENGE, MESSAGE } from './support/tokens.js';

let issuer: TestIssuer;
let verifier: Verifier;
const running: RunningServer[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  verifier = createVerifier(issuer.verifierOptions);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function serve(
  router: Parameters<typeof startStandalone>[0],
  createContext: Parameters<typeof startStandalone>[1],
) {
  const server = await startStandalone(router, createContext);
  running.push(server);
  return server;
}

describe('authErrorFormatter', () => {
  it('sets data.auth to null on errors that are not auth failures', async () => {
    const { router, createContext } = buildApp(verifier);
    const server = await serve(router, createContext);
    const response = await rawRequest(server.port, '/nope', []);
    expect(response.status).toBe(404);
    expect((response.json() as { error: { data: { auth: unknown } } }).error.data.auth).toBeNull();
  });

  it('keeps tRPC stack traces to isDev, and they carry no token', async () => {
    const { router, createContext } = buildApp(verifier, { isDev: true });
    const server = await serve(router, createContext);
    const token = await issuer.expired();
    const response = await rawRequest(server.port, '/me', [`Authorization: Bearer ${token}`]);
    const data = (response.json() as { error: { data: { stack?: string; auth: unknown } } }).error.data;
    expect(typeof data.stack).toBe('string');
    expect(response.body).not.toContain(token.split('.')[1]);
    expect(data.auth).toEqual({
      code: 'UNAUTHORIZED',
      reason: 'token_expired',
      message: MESSAGE.token_expired,
    });
  });

  it('reports a raw AuthError thrown by user code with its own code and status, not a 500', async () => {
    const createContext = createAuthContext(verifier);
    const t = initTRPC
      .context<typeof createContext>()
      .create({ errorFormatter: authErrorFormatter, isDev: false });
    const router = t.router({
      // A hand-written check that forgot toTRPCError: tRPC wraps it as INTERNAL_SERVER_ERROR.
      handmade: t.procedure.query(async ({ ctx }) => (await ctx.auth.claims()).sub),
      wrapped: t.procedure.query(async ({ ctx }) => {
        const claims = await ctx.auth.claims().catch((error: unknown) => {
          throw toTRPCError(error);
        });
        return claims.sub;
      }),
    });
    const server = await serve(router, createContext);
    for (const path of ['handmade', 'wrapped']) {
      const response = await rawRequest(server.port, `/${path}`, []);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(CHALLENGE.missing);
      const error = (response.json() as { error: { code: number; message: string; data: unknown } }).error;
      expect(error.code).toBe(-32001);
      expect(error.message).toBe(MESSAGE.missing_token);
      expect(error.data).toMatchObject({
        code: 'UNAUTHORIZED',
        httpStatus: 401,
        auth: { reason: 'missing_token' },
      });
    }
  });

  it('composes with a user formatter, which sees data.auth', async () => {
    const createContext = createAuthContext(verifier);
    const seen: unknown[] = [];
    const t = initTRPC.context<typeof createContext>().create({
      isDev: false,
      errorFormatter: withAuthErrorFormatter(({ shape, path }) => {
        seen.push(shape.data.auth?.reason ?? null);
        return { ...shape, data: { ...shape.data, requestPath: path ?? null } };
      }),
    });
    const { publicProcedure, protectedProcedure } = createAuthProcedures(t);
    const router = t.router({
      me: protectedProcedure.query(({ ctx }) => ctx.claims.sub),
      boom: publicProcedure.query(() => {
        throw new TRPCError({ code: 'CONFLICT', message: 'busy' });
      }),
    });
    const server = await serve(router, createContext);
    const me = (await rawRequest(server.port, '/me', [])).json() as {
      error: { data: Record<string, unknown> };
    };
    expect(me.error.data).toMatchObject({ requestPath: 'me', auth: { reason: 'missing_token' } });
    const boom = (await rawRequest(server.port, '/boom', [])).json() as {
      error: { data: Record<string, unknown> };
    };
    expect(boom.error.data).toMatchObject({ code: 'CONFLICT', requestPath: 'boom', auth: null });
    expect(seen).toEqual(['missing_token', null]);
  });
});

describe('authResponseMeta', () => {
  it('composes with a user responseMeta: both headers, the user status', async () => {
    const { router, createContext } = buildApp(verifier);
    const { createHTTPServer } = await import('@trpc/server/adapters/standalone');
    const server = createHTTPServer({
      router,
      createContext,
      responseMeta: withAuthResponseMeta((opts) =>
        opts.errors.length === 0 ? { headers: { 'x-served-by': 'api', vary: 'Origin' }, status: 202 } : {},
      ),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const token = await issuer.sign();
      const ok = await rawRequest(port, '/me', [`Authorization: Bearer ${token}`]);
      expect(ok.status).toBe(202);
      expect(ok.headers['x-served-by']).toBe('api');
      expect(ok.headers['cache-control']).toBe('private, no-store');
      expect(ok.headers.vary?.split(/,\s*/)).toEqual(
        expect.arrayContaining(['Authorization', 'Origin', 'accept']),
      );
      const refused = await rawRequest(port, '/me', []);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe(CHALLENGE.missing);
      expect(refused.headers['x-served-by']).toBeUndefined();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('returns nothing for a response that never consulted auth', () => {
    expect(
      authResponseMeta({ errors: [], eagerGeneration: false, ctx: createAuthContext(verifier)({}) }),
    ).toEqual({});
    expect(
      authResponseMeta({ errors: [new TRPCError({ code: 'NOT_FOUND' })], eagerGeneration: false }),
    ).toEqual({});
  });

  it('picks the challenge of the most basic refusal: 400 before 401 before 403, then batch order', () => {
    const refuse = (reason: ConstructorParameters<typeof AuthError>[0], scopes?: string[]) =>
      toTRPCError(new AuthError(reason, scopes ? { requirement: [scopes] } : {}));
    const forbiddenA = refuse('insufficient_scope', ['a']);
    const forbiddenB = refuse('insufficient_scope', ['b']);
    const expired = refuse('token_expired');
    const malformed = refuse('invalid_request');
    const unavailable = refuse('issuer_unavailable');
    const other = new TRPCError({ code: 'BAD_REQUEST' });
    expect(challengeError([other, forbiddenA, forbiddenB])?.requiredScopes).toEqual(['a']);
    expect(challengeError([forbiddenA, expired])?.reason).toBe('token_expired');
    expect(challengeError([forbiddenA, expired, malformed])?.reason).toBe('invalid_request');
    expect(challengeError([unavailable, other])).toBeUndefined();
    const meta = authResponseMeta({ errors: [unavailable], eagerGeneration: false });
    const headers = meta.headers as Headers;
    expect(headers.get('cache-control')).toBe('private, no-store');
    expect(headers.has('www-authenticate')).toBe(false);
  });
});
