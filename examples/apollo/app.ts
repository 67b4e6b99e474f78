/**
 * The example GraphQL API on Apollo Server 5: an SDL schema guarded by `@auth`, with scopegate's
 * Apollo plugin and context helper. `createApp(verifier)` builds the server and its context
 * function; main.ts serves them with `startStandaloneServer`.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { Verifier } from 'scopegate';
import { apolloAuth } from 'scopegate/apollo';
import { type AuthContext, authDirective } from 'scopegate/graphql';

const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/** Every scope the API defines: a typo in the SDL fails at startup, not in production. */
export const SCOPES = ['notes:read', 'notes:write', 'profile:email', 'admin'] as const;

interface Note {
  readonly id: string;
  readonly text: string;
  readonly author: string;
}

/** The resolvers' context: scopegate's lazy `auth`, plus what the application needs. */
export interface NotesContext extends AuthContext {
  readonly notes: Note[];
}

export interface App {
  readonly server: ApolloServer<NotesContext>;
  /** The guarded schema, for `assertProtected` in tests. */
  readonly schema: GraphQLSchema;
  /** The context function for `startStandaloneServer` (or `expressMiddleware`). */
  readonly context: (args: { req: IncomingMessage }) => Promise<NotesContext>;
}

/** Builds the API. The verifier is the only thing that differs between production and tests. */
export function createApp(verifier: Verifier): App {
  const notes: Note[] = [];
  const { typeDefs: authTypeDefs, transformer } = authDirective({ scopes: SCOPES });
  const auth = apolloAuth({ verifier });

  const schema = transformer(
    makeExecutableSchema<NotesContext>({
      typeDefs: [authTypeDefs, typeDefs],
      resolvers: {
        Query: {
          health: () => 'ok',
          // Guarded by `me: User @auth`: the resolver runs only for a valid token.
          me: async (_root, _args, ctx) => {
            const claims = await ctx.auth.claims();
            return { id: claims.sub, email: typeof claims.email === 'string' ? claims.email : null };
          },
          notes: (_root, _args, ctx) => ctx.notes,
        },
        Mutation: {
          addNote: async (_root, { text }: { text: string }, ctx) => {
            const note = {
              id: String(ctx.notes.length + 1),
              text,
              author: (await ctx.auth.claims()).sub ?? 'unknown',
            };
            ctx.notes.push(note);
            return note;
          },
          clearNotes: (_root, _args, ctx) => ctx.notes.splice(0).length,
        },
      },
    }),
  );

  return {
    schema,
    server: new ApolloServer<NotesContext>({ schema, plugins: [auth.plugin] }),
    context: async ({ req }) => ({ ...auth.context({ req }), notes }),
  };
}
