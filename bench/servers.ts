/**
 * The HTTP contenders, in their own process (`node --import tsx bench/servers.ts`): each server on
 * 127.0.0.1 at an ephemeral port. Prints one JSON line `{ urls, tokens }` when listening; exits on
 * SIGTERM / SIGINT or when its stdin ends. With `node --import tsx bench/servers.ts <name>` only that
 * server is started.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createInlineSigningKeyProvider, extractFromHeader, useJWT } from '@graphql-yoga/plugin-jwt';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { GraphQLError } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { JWTPayload } from 'jose';
import { authDirective, useAuth } from '../src/graphql/index.js';
import { createAuthContext, createAuthProcedures, requireScopes } from '../src/trpc/index.js';
import { baselineLabel, baselineModule } from './baseline.js';
import { bearerOf, benchTokens, SCOPE, scopesOf } from './tokens.js';

const { verifier, joseVerify, tokens, pem, options, issuer } = await benchTokens();
const servers: Record<string, Server> = {};

// --- yoga: one field, `{ secret }` ---------------------------------------------------------
const typeDefs = 'type Query { secret: String }';
const secret = () => 'ok';
const forbidden = () => new GraphQLError('Forbidden', { extensions: { code: 'FORBIDDEN' } });
const yogaServer = (yoga: Parameters<typeof createServer>[1]) => createServer(yoga);

servers['yoga public'] = yogaServer(
  createYoga({
    logging: false,
    graphiql: false,
    schema: makeExecutableSchema({ typeDefs, resolvers: { Query: { secret } } }),
  }),
);

const { typeDefs: authTypeDefs, transformer } = authDirective({ scopes: [SCOPE] });
servers['yoga scopegate @auth'] = yogaServer(
  createYoga({
    logging: false,
    graphiql: false,
    schema: transformer(
      makeExecutableSchema({
        typeDefs: [authTypeDefs, `type Query { secret: String @auth(scopes: ["${SCOPE}"]) }`],
        resolvers: { Query: { secret } },
      }),
    ),
    plugins: [useAuth({ verifier })],
  }),
);

servers['yoga @graphql-yoga/plugin-jwt'] = yogaServer(
  createYoga({
    logging: false,
    graphiql: false,
    schema: makeExecutableSchema({
      typeDefs,
      resolvers: {
        Query: {
          // plugin-jwt authenticates; the scope check is the resolver's.
          secret: (_: unknown, __: unknown, ctx: { jwt?: { payload: JWTPayload } }) => {
            if (!scopesOf(ctx.jwt?.payload).has(SCOPE)) throw forbidden();
            return secret();
          },
        },
      },
    }),
    plugins: [
      useJWT({
        signingKeyProviders: [createInlineSigningKeyProvider(pem)],
        tokenLookupLocations: [extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
        tokenVerification: { issuer: options.issuer, audience: options.audience, algorithms: ['RS256'] },
        reject: { missingToken: true, invalidToken: true },
      }),
    ],
  }),
);

type JoseContext = { claims: JWTPayload | null };
servers['yoga + jose in context'] = yogaServer(
  createYoga<Record<string, unknown>, JoseContext>({
    logging: false,
    graphiql: false,
    context: async ({ request }) => {
      const token = bearerOf(request.headers.get('authorization'));
      return { claims: token ? await joseVerify(token).catch(() => null) : null };
    },
    schema: makeExecutableSchema({
      typeDefs,
      resolvers: {
        Query: {
          secret: (_: unknown, __: unknown, ctx: JoseContext) => {
            if (ctx.claims === null)
              throw new GraphQLError('Unauthenticated', { extensions: { code: 'UNAUTHENTICATED' } });
            if (!scopesOf(ctx.claims).has(SCOPE)) throw forbidden();
            return secret();
          },
        },
      },
    }),
  }),
);

// --- tRPC standalone: one query, `secret` ----------------------------------------------------
{
  const t = initTRPC.create();
  servers['tRPC public'] = createHTTPServer({
    router: t.router({ secret: t.procedure.query(secret) }),
    createContext: () => ({}),
  });
}
{
  const createContext = createAuthContext(verifier);
  const t = initTRPC.context<typeof createContext>().create();
  const { protectedProcedure } = createAuthProcedures(t);
  servers['tRPC scopegate protectedProcedure + requireScopes'] = createHTTPServer({
    router: t.router({ secret: protectedProcedure.use(requireScopes(SCOPE)).query(secret) }),
    createContext,
  });
}
{
  const t = initTRPC.context<{ authorization: string | undefined }>().create();
  const authed = t.procedure.use(async ({ ctx, next }) => {
    const token = bearerOf(ctx.authorization);
    const claims = token ? await joseVerify(token).catch(() => null) : null;
    if (claims === null) throw new TRPCError({ code: 'UNAUTHORIZED' });
    if (!scopesOf(claims).has(SCOPE)) throw new TRPCError({ code: 'FORBIDDEN' });
    return next({ ctx: { claims } });
  });
  servers['tRPC hand-written jose middleware'] = createHTTPServer({
    router: t.router({ secret: authed.query(secret) }),
    createContext: ({ req }) => ({ authorization: req.headers.authorization }),
  });
}

// The two scopegate servers built from the baseline's src/ (--baseline), when asked for.
const beforeGraphql = await baselineModule<typeof import('../src/graphql/index.js')>('graphql/index.ts');
const beforeTrpc = await baselineModule<typeof import('../src/trpc/index.js')>('trpc/index.ts');
const beforeCore = await baselineModule<typeof import('../src/core/index.js')>('core/index.ts');
if (beforeGraphql && beforeTrpc && beforeCore) {
  const beforeVerifier = beforeCore.createVerifier({ ...options, jwks: issuer.jwks() });
  const old = beforeGraphql.authDirective({ scopes: [SCOPE] });
  servers[`yoga scopegate @auth ${baselineLabel()}`] = yogaServer(
    createYoga({
      logging: false,
      graphiql: false,
      schema: old.transformer(
        makeExecutableSchema({
          typeDefs: [old.typeDefs, `type Query { secret: String @auth(scopes: ["${SCOPE}"]) }`],
          resolvers: { Query: { secret } },
        }),
      ),
      plugins: [beforeGraphql.useAuth({ verifier: beforeVerifier })],
    }),
  );
  const createContext = beforeTrpc.createAuthContext(beforeVerifier);
  const t = initTRPC.context<typeof createContext>().create();
  const { protectedProcedure } = beforeTrpc.createAuthProcedures(t);
  servers[`tRPC scopegate protectedProcedure + requireScopes ${baselineLabel()}`] = createHTTPServer({
    router: t.router({ secret: protectedProcedure.use(beforeTrpc.requireScopes(SCOPE)).query(secret) }),
    createContext,
  });
}

const only = process.argv[2]; // one server only: the others are not started
if (only !== undefined && !(only in servers)) {
  process.stderr.write(`unknown server "${only}"; servers: ${Object.keys(servers).join(', ')}\n`);
  process.exit(2);
}
const urls: Record<string, string> = {};
for (const [name, server] of Object.entries(servers)) {
  if (only && name !== only) continue;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const stop = () => {
  for (const server of Object.values(servers)) server.closeAllConnections?.();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`${JSON.stringify({ urls, tokens })}\n`);
// The bench that started this process is gone: do not outlive it.
process.stdin.on('end', stop);
// "cpu" on stdin: collect garbage, then answer this process's CPU time so far (us). "start" / "stop": profile this process (V8's CPU profiler) between them; "stop" answers
// with the path of the written .cpuprofile.
const session = new Session();
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
createInterface({ input: process.stdin }).on('line', async (command) => {
  if (command === 'cpu') {
    // From a collected heap (the bench starts this process with --expose-gc): one server's garbage
    // is not collected on the next one's time, and a round pays for collecting its own.
    (globalThis as { gc?: () => void }).gc?.();
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${user + system}\n`);
  } else if (command === 'start') {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    process.stdout.write('started\n');
  } else if (command === 'stop') {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    const file = join(tmpdir(), `scopegate-bench-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`${file}\n`);
  }
});
