/**
 * The example GraphQL API: an SDL schema guarded by `@auth`, served by graphql-yoga with the
 * scopegate plugin. `createApp(verifier)` builds the yoga instance; main.ts serves it.
 */
import { readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createPubSub, createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Verifier } from 'scopegate';
import { type AuthContext, authDirective, useAuth } from 'scopegate/graphql';

const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/** Every scope the API defines: a typo in the SDL fails at startup, not in production. */
export const SCOPES = ['notes:read', 'notes:write', 'profile:email', 'admin'] as const;

interface Note {
  readonly id: string;
  readonly text: string;
  readonly author: string;
}

export interface AppOptions {
  /** Serve GraphiQL on GET /graphql. @default true */
  readonly graphiql?: boolean;
  /** Origins allowed by CORS. @default '*' (tokens travel in headers, never in cookies) */
  readonly corsOrigin?: string | string[];
}

/** Request headers a scopegate client sends: the token, the DPoP proof, the body's type. */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'dpop'];
/**
 * Response headers a scopegate client reads: a browser hides every header not exposed, and a
 * DPoP client must read `DPoP-Nonce` to retry, `WWW-Authenticate` to know why it was refused.
 */
export const CORS_EXPOSED_HEADERS = ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'];

/** Builds the API. The verifier is the only thing that differs between production and tests. */
export function createApp(
  verifier: Verifier,
  options: AppOptions = {},
): YogaServerInstance<Record<string, unknown>, AuthContext> {
  const notes: Note[] = [];
  const pubSub = createPubSub<{ noteAdded: [Note] }>();
  const { typeDefs: authTypeDefs, transformer } = authDirective({ scopes: SCOPES });

  const schema = transformer(
    makeExecutableSchema<AuthContext>({
      typeDefs: [authTypeDefs, typeDefs],
      resolvers: {
        Query: {
          health: () => 'ok',
          // Guarded by `me: User @auth`: the resolver runs only for a valid token.
          me: async (_root, _args, { auth }) => {
            const claims = await auth.claims();
            return { id: claims.sub, email: typeof claims.email === 'string' ? claims.email : null };
          },
          notes: () => notes,
        },
        Mutation: {
          addNote: async (_root, { text }: { text: string }, { auth }) => {
            const note = {
              id: String(notes.length + 1),
              text,
              author: (await auth.claims()).sub ?? 'unknown',
            };
            notes.push(note);
            pubSub.publish('noteAdded', note);
            return note;
          },
          clearNotes: () => notes.splice(0).length,
        },
        Subscription: {
          noteAdded: {
            subscribe: () => pubSub.subscribe('noteAdded'),
            resolve: (note: Note) => note,
          },
        },
      },
    }),
  );

  return createYoga<Record<string, unknown>, AuthContext>({
    schema,
    graphiql: options.graphiql ?? true,
    logging: false,
    cors: {
      origin: options.corsOrigin ?? '*',
      methods: ['GET', 'POST'],
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
    },
    plugins: [useAuth({ verifier })],
  });
}
