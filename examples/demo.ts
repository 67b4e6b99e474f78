/**
 * The scopegate demo (`npm run demo`): a local token issuer with real keys and a real JWKS on
 * 127.0.0.1, the example tRPC API and the example GraphQL API (examples/trpc, examples/graphql-yoga)
 * on 127.0.0.1, and a client that calls both with the tokens an API really meets: none, valid, one
 * lacking a scope, expired, forged, for another API, malformed, and one that arrives while the
 * issuer is down; then a DPoP client (sender-constrained tokens, RFC 9449) and an attacker replaying
 * one of its requests. It prints what each client sees and exits non-zero if anything differs from the
 * expected outcome, so it doubles as a smoke test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { createVerifier } from 'scopegate';
import { type AuthErrorInfo, type AuthFetch, createAuthFetch, getAuthError } from 'scopegate/client';
import { createTestIssuer } from 'scopegate/testing';
import { authResponseMeta } from 'scopegate/trpc';
import { createApp as createGraphQLApp } from './graphql-yoga/app.js';
import { type AppRouter, createApp as createTRPCApp } from './trpc/app.js';

const AUDIENCE = 'https://api.demo.test';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

// --- The identity provider: real keys, a real JWKS endpoint on 127.0.0.1 -------------------------
const issuer = await createTestIssuer({ audience: AUDIENCE });
const idp = await issuer.serve();
const forger = await createTestIssuer({ audience: AUDIENCE, issuer: issuer.issuer }); // same iss and kid, other key

// Short cooldown and backoff so the "issuer down" scene runs in a second; keep the defaults in production.
const verifier = createVerifier({ ...idp.verifierOptions, cooldownMs: 200, failureBackoffMs: 200 });
await verifier.warmup();

// --- The two APIs, sharing one verifier --------------------------------------------------------
const { appRouter, createContext } = createTRPCApp(verifier);
const trpcServer = createHTTPServer({ router: appRouter, createContext, responseMeta: authResponseMeta });
const trpcUrl = await listen(trpcServer);
const graphqlServer = createServer(createGraphQLApp(verifier, { graphiql: false }));
const graphqlUrl = `${await listen(graphqlServer)}/graphql`;

// --- Clients -----------------------------------------------------------------------------------
interface Outcome {
  readonly status: string;
  readonly detail: string;
}

function describe(auth: AuthErrorInfo | null, fallback: unknown): Outcome {
  if (!auth) return { status: 'error', detail: String(fallback) };
  const scopes = auth.requiredScopes ? ` (needs ${auth.requiredScopes.join(' ')})` : '';
  return { status: auth.code, detail: `${auth.reason}${scopes}` };
}

async function callTRPC(
  credentials: Credentials,
  call: (client: ReturnType<typeof trpcFor>) => Promise<unknown>,
) {
  try {
    const data = await call(trpcFor(credentials));
    return { status: 'ok', detail: `${JSON.stringify(data)}, HTTP 200` };
  } catch (error) {
    if (!(error instanceof TRPCClientError)) return describe(null, error);
    const outcome = describe(getAuthError(error), error);
    return { ...outcome, detail: `${outcome.detail}, HTTP ${error.data?.httpStatus}` };
  }
}

/** A token sends `Authorization: Bearer`; a record sends those headers; a fetch (createAuthFetch) signs its own. */
type Credentials = string | null | Record<string, string> | AuthFetch;

function headersOf(credentials: Credentials): Record<string, string> {
  if (typeof credentials === 'string') return { authorization: `Bearer ${credentials}` };
  return credentials && typeof credentials === 'object' ? credentials : {};
}

function trpcFor(credentials: Credentials) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: trpcUrl,
        headers: () => headersOf(credentials),
        ...(typeof credentials === 'function' && { fetch: credentials }),
      }),
    ],
  });
}

async function callGraphQL(credentials: Credentials, query: string): Promise<Outcome> {
  const init = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...headersOf(credentials),
    },
    body: JSON.stringify({ query }),
  };
  const response =
    typeof credentials === 'function' ? await credentials(graphqlUrl, init) : await fetch(graphqlUrl, init);
  const result = (await response.json()) as { data?: unknown; errors?: unknown[] };
  const auth = getAuthError(result);
  if (auth)
    return { ...describe(auth, null), detail: `${describe(auth, null).detail}, HTTP ${response.status}` };
  return { status: 'ok', detail: `${JSON.stringify(result.data)}, HTTP ${response.status}` };
}

// --- Tokens ------------------------------------------------------------------------------------
const reader = await issuer.sign({ sub: 'ada', scope: 'notes:read notes:read', org: 'acme' });
const writer = await issuer.sign({
  sub: 'grace',
  scope: 'notes:read notes:write notes:read notes:write',
  org: 'acme',
});
const expired = await issuer.expired({ sub: 'ada', scope: 'notes:read notes:read' });
const forged = await forger.sign({ sub: 'mallory', scope: 'notes:read notes:write admin notes:read' });
const otherApi = await issuer.wrongAudience({ sub: 'ada', scope: 'notes:read notes:read' });

const scenes: {
  readonly name: string;
  readonly expected: string;
  run(): Promise<readonly [Outcome, Outcome]>;
}[] = [
  {
    name: 'no token, public operation',
    expected: 'ok',
    run: async () => [await callTRPC(null, (c) => c.health.query()), await callGraphQL(null, '{ health }')],
  },
  {
    name: 'no token, protected operation',
    expected: 'UNAUTHORIZED',
    run: async () => [
      await callTRPC(null, (c) => c.notes.list.query()),
      await callGraphQL(null, '{ notes { id } }'),
    ],
  },
  {
    name: 'valid token with the scope',
    expected: 'ok',
    run: async () => [
      await callTRPC(writer, (c) => c.notes.add.mutate({ text: 'hello from grace' })),
      await callGraphQL(writer, 'mutation { addNote(text: "hello from grace") { id author } }'),
    ],
  },
  {
    name: 'valid token, scope missing',
    expected: 'FORBIDDEN',
    run: async () => [
      await callTRPC(reader, (c) => c.notes.add.mutate({ text: 'not allowed' })),
      await callGraphQL(reader, 'mutation { addNote(text: "not allowed") { id } }'),
    ],
  },
  {
    name: 'expired token',
    expected: 'UNAUTHORIZED',
    run: async () => [
      await callTRPC(expired, (c) => c.notes.list.query()),
      await callGraphQL(expired, '{ notes { id } }'),
    ],
  },
  {
    name: 'forged token (same kid, other key)',
    expected: 'UNAUTHORIZED',
    run: async () => [
      await callTRPC(forged, (c) => c.notes.list.query()),
      await callGraphQL(forged, '{ notes { id } }'),
    ],
  },
  {
    name: 'token for another API',
    expected: 'UNAUTHORIZED',
    run: async () => [
      await callTRPC(otherApi, (c) => c.notes.list.query()),
      await callGraphQL(otherApi, '{ notes { id } }'),
    ],
  },
  {
    name: 'malformed credentials',
    expected: 'BAD_REQUEST',
    run: async () => [
      await callTRPC('not a token', (c) => c.notes.list.query()),
      await callGraphQL('not a token', '{ notes { id } }'),
    ],
  },
];

const rows: string[] = [];
let failures = 0;
const record = (name: string, expected: string, [trpc, graphql]: readonly [Outcome, Outcome]) => {
  for (const outcome of [trpc, graphql]) if (outcome.status !== expected) failures++;
  rows.push(`| ${name} | ${trpc.status}: ${trpc.detail} | ${graphql.status}: ${graphql.detail} |`);
};

for (const scene of scenes) record(scene.name, scene.expected, await scene.run());

// --- DPoP (RFC 9449): the token is bound to the client's key; each request carries a fresh proof --
// The client holds a key pair; the issuer binds the token to it (cnf.jkt). createAuthFetch signs a
// proof per request. `sent` keeps the last headers it sent, as an attacker on the path would.
const dpopKey = await issuer.dpopKey();
const bound = await dpopKey.sign({ sub: 'grace', scope: 'notes:read notes:read', org: 'acme' });
const sent: { trpc?: Record<string, string>; graphql?: Record<string, string> } = {};
const dpopFetch = createAuthFetch({
  getToken: () => bound,
  dpop: { keyPair: dpopKey.keyPair },
  // The token goes to these two APIs only (by default, to the first origin called).
  origins: [trpcUrl, new URL(graphqlUrl).origin],
  fetch: (input, init) => {
    const headers = new Headers(init?.headers);
    const copy = { authorization: headers.get('authorization') ?? '', dpop: headers.get('dpop') ?? '' };
    if (String(input).startsWith(graphqlUrl)) sent.graphql = copy;
    else sent.trpc = copy;
    return fetch(input, init);
  },
});
record('DPoP client (createAuthFetch, a DPoP key)', 'ok', [
  await callTRPC(dpopFetch, (c) => c.notes.list.query()),
  await callGraphQL(dpopFetch, '{ notes { author } }'),
]);
record('replayed DPoP request (same proof)', 'UNAUTHORIZED', [
  await callTRPC(sent.trpc ?? null, (c) => c.notes.list.query()),
  await callGraphQL(sent.graphql ?? null, '{ notes { author } }'),
]);
record('DPoP-bound token sent as Bearer', 'UNAUTHORIZED', [
  await callTRPC(bound, (c) => c.notes.list.query()),
  await callGraphQL(bound, '{ notes { author } }'),
]);

// The issuer goes down and rotates its keys: a token signed with the new key cannot be checked.
await issuer.rotateKeys();
const rotated = await issuer.sign({ sub: 'ada', scope: 'notes:read notes:read' });
await idp.close();
await new Promise((resolve) => setTimeout(resolve, 250)); // past the demo's cooldown
record('issuer down, token with a new key', 'SERVICE_UNAVAILABLE', [
  await callTRPC(rotated, (c) => c.notes.list.query()),
  await callGraphQL(rotated, '{ notes { id } }'),
]);
record('issuer down, already-known key', 'ok', [
  await callTRPC(reader, (c) => c.notes.list.query()),
  await callGraphQL(reader, '{ notes { author } }'),
]);

console.log(
  `scopegate demo: issuer ${issuer.issuer} (JWKS ${idp.jwksUri}), tRPC ${trpcUrl}, GraphQL ${graphqlUrl}\n`,
);
console.log('| scene | tRPC | GraphQL |');
console.log('|---|---|---|');
for (const row of rows) console.log(row);

trpcServer.close();
graphqlServer.close();
graphqlServer.closeAllConnections();
if (failures > 0) {
  console.error(`\n${failures} outcome(s) differ from what was expected`);
  process.exitCode = 1;
} else {
  console.log('\nEvery outcome is as expected.');
}
