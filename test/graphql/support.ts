/**
 * Shared fixtures of the GraphQL tests: a schema with every shape the guards must handle (a
 * protected object type, a protected interface with a public and a protected implementation, a
 * union, nested lists, a mutation with a side-effect counter, subscriptions), served by a real
 * graphql-yoga on node:http at 127.0.0.1, and a small fetch client.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { createYoga, type YogaServerOptions } from 'graphql-yoga';
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/core/index.js';
import { authDirective, type Precheck, useAuth } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

export const CHALLENGE_MISSING =
  'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';
export const CHALLENGE_INVALID_TOKEN =
  'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';
export const CHALLENGE_INVALID_REQUEST =
  'Bearer realm="api", error="invalid_request", error_description="The request is malformed", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';
export const challengeInsufficientScope = (scope: string) =>
  `Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="${scope}", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"`;

export const SCOPES = [
  'read:orders',
  'write:orders',
  'read:email',
  'read:prices',
  'read:articles',
  'read:ticks',
  'read:notes',
  'support',
  'admin',
] as const;

export const typeDefs = /* GraphQL */ `
  type Query {
    publicInfo: String!
    me: Profile
    orders: [Order!]
    order(id: ID!): Order
    requiredSecret: String! @auth(scopes: ["read:orders"])
    requiredLogin: String! @auth
    items: [Item]
    search: [SearchResult]
    sideEffects: Int!
  }

  type Profile @auth {
    sub: String!
    email: String @auth(scopes: ["read:email"])
  }

  type Order @auth(scopes: ["read:orders"]) {
    id: ID!
    total: Int!
    lines: [[OrderLine!]!]!
    internalNote: String @auth(anyOf: [["admin"], ["support", "read:notes"]])
  }

  type OrderLine {
    sku: String!
    qty: Int!
  }

  interface Item @auth {
    id: ID!
    name: String!
    price: Int @auth(scopes: ["read:prices"])
  }

  type Book implements Item {
    id: ID!
    name: String!
    price: Int
    isbn: String
  }

  type Weapon implements Item @auth(scopes: ["admin"]) {
    id: ID!
    name: String!
    price: Int
    serial: String
  }

  type Article {
    title: String!
    body: String @auth(scopes: ["read:articles"])
  }

  union SearchResult = Book | Weapon | Article

  type Mutation {
    placeOrder(sku: String!): Order! @auth(scopes: ["write:orders"])
    touch: Int!
  }

  type Subscription {
    ticks(max: Int = 50, intervalMs: Int = 20): Int! @auth(scopes: ["read:ticks"])
    publicTicks(max: Int = 3): Int!
  }
`;

export interface AppState {
  sideEffects: number;
}

const ORDERS = [
  { id: 'o1', total: 10, lines: [[{ sku: 'a', qty: 1 }], [{ sku: 'b', qty: 2 }]], internalNote: 'vip' },
  { id: 'o2', total: 20, lines: [[{ sku: 'c', qty: 3 }]], internalNote: 'late' },
];
const BOOK = { __typename: 'Book', id: 'b1', name: 'Dune', price: 12, isbn: '978-0441013593' };
const WEAPON = { __typename: 'Weapon', id: 'w1', name: 'Crysknife', price: 999, serial: 'CK-1' };
const ARTICLE = { __typename: 'Article', title: 'Spice', body: 'must flow' };

async function* ticks(
  field: string,
  max: number,
  intervalMs: number,
): AsyncGenerator<Record<string, number>> {
  for (let i = 1; i <= Math.min(max, 500); i++) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    yield { [field]: i };
  }
}

export function buildSchema(
  state: AppState,
  options: { readonly scopes?: readonly string[] } = {},
): GraphQLSchema {
  const { typeDefs: authTypeDefs, transformer } = authDirective({ scopes: options.scopes ?? SCOPES });
  return transformer(
    makeExecutableSchema({
      typeDefs: [authTypeDefs, typeDefs],
      resolvers: {
        Query: {
          publicInfo: () => 'hello',
          me: async (
            _root: unknown,
            _args: unknown,
            ctx: { auth: { claims(): Promise<{ sub?: string }> } },
          ) => {
            const claims = await ctx.auth.claims();
            return { sub: claims.sub, email: `${claims.sub}@example.test` };
          },
          orders: () => ORDERS,
          order: (_root: unknown, { id }: { id: string }) => ORDERS.find((order) => order.id === id) ?? null,
          requiredSecret: () => 'secret',
          requiredLogin: () => 'logged in',
          items: () => [BOOK, WEAPON],
          search: () => [BOOK, WEAPON, ARTICLE],
          sideEffects: () => state.sideEffects,
        },
        Item: { __resolveType: (item: { __typename: string }) => item.__typename },
        SearchResult: { __resolveType: (item: { __typename: string }) => item.__typename },
        Mutation: {
          placeOrder: (_root: unknown, { sku }: { sku: string }) => {
            state.sideEffects++;
            return { id: `new-${sku}`, total: 1, lines: [[{ sku, qty: 1 }]], internalNote: 'new' };
          },
          touch: () => ++state.sideEffects,
        },
        Subscription: {
          ticks: {
            subscribe: (_root: unknown, args: { max: number; intervalMs: number }) =>
              ticks('ticks', args.max, args.intervalMs),
          },
          publicTicks: {
            subscribe: (_root: unknown, args: { max: number }) => ticks('publicTicks', args.max, 10),
          },
        },
      },
    }),
  );
}

export interface Running {
  readonly url: string;
  readonly origin: string;
  readonly state: AppState;
  readonly schema: GraphQLSchema;
  readonly server: Server;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly verifier: Verifier;
  readonly precheck?: Precheck;
  readonly yoga?: Partial<YogaServerOptions<Record<string, unknown>, Record<string, unknown>>>;
}

/** graphql-yoga with useAuth on node:http at 127.0.0.1:<ephemeral>. */
export async function startYoga(options: StartOptions): Promise<Running> {
  const state: AppState = { sideEffects: 0 };
  const schema = buildSchema(state);
  const yoga = createYoga({
    schema,
    logging: false,
    ...options.yoga,
    plugins: [
      useAuth({ verifier: options.verifier, ...(options.precheck && { precheck: options.precheck }) }),
    ],
  });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/graphql`,
    origin,
    state,
    schema,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface GraphQLResponseBody {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly {
    readonly message: string;
    readonly path?: readonly (string | number)[];
    readonly extensions?: Record<string, unknown>;
  }[];
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: GraphQLResponseBody;
}

export const JSON_ACCEPT = 'application/json';
export const GRAPHQL_RESPONSE_ACCEPT = 'application/graphql-response+json';
export const ACCEPTS = [JSON_ACCEPT, GRAPHQL_RESPONSE_ACCEPT] as const;

export interface RequestOptions {
  readonly token?: string;
  /** Raw Authorization header value (takes precedence over `token`). */
  readonly authorization?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly variables?: Readonly<Record<string, unknown>>;
  readonly accept?: string;
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly search?: string;
}

/** POSTs one GraphQL operation with fetch. */
export async function gql(url: string, query: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: options.accept ?? GRAPHQL_RESPONSE_ACCEPT,
    ...options.headers,
  };
  const authorization = options.authorization ?? (options.token ? `Bearer ${options.token}` : undefined);
  if (authorization !== undefined) headers.authorization = authorization;
  const response = await fetch(`${url}${options.search ?? ''}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      query,
      ...(options.variables && { variables: options.variables }),
      ...(options.extensions && { extensions: options.extensions }),
    }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(text) as GraphQLResponseBody,
  };
}

/** POSTs with exactly these header lines (e.g. a duplicated Authorization), which fetch cannot send. */
export function rawPost(url: string, rawHeaders: string[], body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // With raw (array) headers Node adds none itself: Host and Content-Length are ours to send.
    const headers = [
      'host',
      new URL(url).host,
      'content-length',
      String(Buffer.byteLength(body)),
      ...rawHeaders,
    ];
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') headers.set(name, value);
        }
        resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(text) as GraphQLResponseBody });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A test issuer and a verifier trusting it (in-memory JWKS), with a zero clock tolerance. */
export async function issuerAndVerifier(
  extra: Partial<VerifierOptions> = {},
): Promise<{ issuer: TestIssuer; verifier: Verifier }> {
  const issuer = await createTestIssuer();
  const verifier = createVerifier({
    ...issuer.verifierOptions,
    clockTolerance: 0,
    ...extra,
  } as VerifierOptions);
  return { issuer, verifier };
}

/** Path, code and reason of each error, sorted by path (resolvers run concurrently). */
export function errorCodes(body: GraphQLResponseBody): { path: string; code: unknown; reason: unknown }[] {
  return (body.errors ?? [])
    .map((error) => ({
      path: (error.path ?? []).join('.'),
      code: error.extensions?.code,
      reason: error.extensions?.reason,
    }))
    .sort((a, b) => a.path.localeCompare(b.path));
}
