/**
 * The router the tRPC tests serve: one procedure per kind of requirement.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { initTRPC } from '@trpc/server';
import { z } from 'zod';
import type { JwtClaims, Verifier } from '../../../src/core/index.js';
import {
  authErrorFormatter,
  createAuthContext,
  createAuthProcedures,
  requireClaims,
  requireScopes,
} from '../../../src/trpc/index.js';

/** Upper bound on the events of a test subscription (bounded loops, even if a test forgets to stop). */
export const MAX_TICKS = 200;
export const TICK_MS = 50;

export function buildApp(verifier: Verifier<JwtClaims>, options: { readonly isDev?: boolean } = {}) {
  const createContext = createAuthContext(verifier);
  const t = initTRPC
    .context<typeof createContext>()
    .create({ errorFormatter: authErrorFormatter, isDev: options.isDev ?? false });
  const { publicProcedure, protectedProcedure, optionalAuthProcedure } = createAuthProcedures(t);

  const ticks = async function* ({ signal }: { signal: AbortSignal | undefined }) {
    for (let tick = 0; tick < MAX_TICKS && !signal?.aborted; tick++) {
      yield tick;
      await sleep(TICK_MS, undefined, { signal }).catch(() => undefined);
    }
  };

  const router = t.router({
    health: publicProcedure.query(() => 'ok'),
    echo: publicProcedure.input(z.object({ text: z.string() })).query(({ input }) => input.text),
    me: protectedProcedure.query(({ ctx }) => ({ sub: ctx.claims.sub ?? null })),
    maybe: optionalAuthProcedure.query(({ ctx }) => ctx.claims?.sub ?? null),
    orders: protectedProcedure.use(requireScopes('read:orders')).query(() => ['order-1']),
    reports: protectedProcedure
      .use(requireScopes({ anyOf: ['admin', ['read:reports', 'export:reports']] }))
      .query(() => 'report'),
    acme: protectedProcedure.use(requireClaims({ org: 'acme' })).query(() => 'acme-only'),
    byId: protectedProcedure.input(z.object({ id: z.number() })).query(({ input }) => input.id),
    createOrder: protectedProcedure
      .use(requireScopes(['write:orders']))
      .input(z.object({ item: z.string() }))
      .mutation(({ input, ctx }) => ({ item: input.item, by: ctx.claims.sub ?? null })),
    ticks: protectedProcedure.subscription(ticks),
    publicTicks: publicProcedure.subscription(ticks),
  });
  return { router, createContext, t };
}

export type TestRouter = ReturnType<typeof buildApp>['router'];
