/**
 * A small notes API protected by scopegate: public, protected, scoped, claim-checked and
 * optional-auth procedures, and a protected subscription. `main.ts` serves it.
 */
import { EventEmitter, on } from 'node:events';
import { initTRPC } from '@trpc/server';
import { claimEquals, type JwtClaims, type Verifier } from 'scopegate';
import {
  authErrorFormatter,
  createAuthContext,
  createAuthProcedures,
  requireClaims,
  requireScopes,
} from 'scopegate/trpc';
import { z } from 'zod';

export interface Note {
  readonly id: number;
  readonly text: string;
  readonly author: string;
}

export function createApp(verifier: Verifier<JwtClaims>) {
  const createAuth = createAuthContext(verifier);
  // Your own context composes with the auth context.
  const notes: Note[] = [];
  const events = new EventEmitter();
  const createContext = (opts: Parameters<typeof createAuth>[0]) => ({ ...createAuth(opts), notes, events });

  const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
  const { publicProcedure, protectedProcedure, optionalAuthProcedure } = createAuthProcedures(t);

  const appRouter = t.router({
    health: publicProcedure.query(() => 'ok'),
    feed: optionalAuthProcedure.query(({ ctx }) =>
      ctx.claims ? `notes for ${ctx.claims.sub ?? 'you'}` : 'sign in to see your notes',
    ),
    me: protectedProcedure.query(async ({ ctx }) => ({
      sub: ctx.claims.sub ?? null,
      scopes: [...(await ctx.auth.scopes())],
    })),
    notes: t.router({
      list: protectedProcedure.use(requireScopes('notes:read')).query(({ ctx }) => ctx.notes),
      add: protectedProcedure
        .use(requireScopes('notes:write'))
        .input(z.object({ text: z.string().min(1).max(500) }))
        .mutation(({ ctx, input }) => {
          const note: Note = {
            id: ctx.notes.length + 1,
            text: input.text,
            author: ctx.claims.sub ?? 'unknown',
          };
          ctx.notes.push(note);
          ctx.events.emit('added', note);
          return note;
        }),
      onAdded: protectedProcedure.use(requireScopes('notes:read')).subscription(async function* ({
        ctx,
        signal,
      }) {
        for await (const [note] of on(ctx.events, 'added', { signal })) yield note as Note;
      }),
    }),
    admin: t.router({
      stats: protectedProcedure
        .use(requireScopes({ anyOf: ['admin', ['notes:read', 'read:stats']] }))
        .use(requireClaims(claimEquals('org', 'acme')))
        .query(({ ctx }) => ({ notes: ctx.notes.length })),
    }),
  });

  return { appRouter, createContext };
}

export type AppRouter = ReturnType<typeof createApp>['appRouter'];
