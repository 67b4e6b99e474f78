/**
 * One API instance of the fleet test, run as a child process (`node --import tsx`): a tRPC
 * standalone server or a graphql-yoga server whose verifier shares its keys through Redis.
 * Configuration comes from the environment; the port is printed as one JSON line on stdout.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { createVerifier, type VerifierOptions } from '../../../src/core/index.js';
import { redisKeyCache, redisReplayStore } from '../../../src/redis/index.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const redis = createClient({
  url: env('REDIS_URL'),
  socket: { reconnectStrategy: () => 50, connectTimeout: 1000 },
});
// Required: without an 'error' listener node-redis errors end the process.
redis.on('error', () => {});
await redis.connect();

const options: VerifierOptions = {
  issuer: env('ISSUER'),
  audience: env('AUDIENCE'),
  algorithms: ['ES256'],
  jwksUri: env('JWKS_URI'),
  allowInsecureLoopback: true,
  cooldownMs: Number(env('COOLDOWN_MS')),
  keyCache: redisKeyCache(redis, { prefix: env('PREFIX'), secret: env('CACHE_SECRET'), timeoutMs: 2000 }),
};
const verifier = createVerifier({
  ...options,
  // Proofs are claimed in the shared Redis: a proof used on one instance is a replay on every other.
  dpop: { replayStore: redisReplayStore(redis, { prefix: env('PREFIX'), timeoutMs: 1000 }) },
  // The instances stand behind one load balancer: proofs name its origin, not an instance's port.
  publicOrigin: env('PUBLIC_ORIGIN'),
});

let handler: (req: IncomingMessage, res: ServerResponse) => void;
// Each kind loads only its own framework: three processes start faster on a busy machine.
if (env('KIND') === 'trpc') {
  const { initTRPC } = await import('@trpc/server');
  const { createHTTPHandler } = await import('@trpc/server/adapters/standalone');
  const { authErrorFormatter, authResponseMeta, createAuthContext, createAuthProcedures } = await import(
    '../../../src/trpc/index.js'
  );
  const createContext = createAuthContext(verifier);
  const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
  const { protectedProcedure } = createAuthProcedures(t);
  const router = t.router({ me: protectedProcedure.query(({ ctx }) => ({ sub: ctx.claims.sub ?? null })) });
  handler = createHTTPHandler({ router, createContext, responseMeta: authResponseMeta });
} else {
  const { makeExecutableSchema } = await import('@graphql-tools/schema');
  const { createYoga } = await import('graphql-yoga');
  const { authDirective, useAuth } = await import('../../../src/graphql/index.js');
  const { typeDefs, transformer } = authDirective();
  // `me` is non-null: a refusal nulls `data`, so the response takes the refusal's HTTP status.
  const schema = transformer(
    makeExecutableSchema({
      typeDefs: [typeDefs, 'type Query { me: String! @auth }'],
      resolvers: {
        Query: {
          me: async (
            _root: unknown,
            _args: unknown,
            ctx: { auth: { claims(): Promise<{ sub?: string }> } },
          ) => (await ctx.auth.claims()).sub ?? null,
        },
      },
    }),
  );
  handler = createYoga({ schema, logging: false, plugins: [useAuth({ verifier })] });
}
// GET /status: the readiness view (verifier.status()).
const server = createServer((req, res) => {
  if (req.url !== '/status') return handler(req, res);
  void verifier.status().then((status) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);

// The parent closes stdin to stop this instance.
process.stdin.resume();
process.stdin.on('end', async () => {
  await verifier.close();
  server.closeAllConnections();
  server.close();
  redis.destroy();
  process.exit(0);
});
