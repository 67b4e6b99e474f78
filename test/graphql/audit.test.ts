/**
 * describeSchema / assertProtected: every reachable field's effective requirement, read from what
 * the `@auth` transformer recorded (SDL and code-first); deny by default on root fields.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  graphql,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  type AssertProtectedOptions,
  assertProtected,
  authDirective,
  describeSchema,
  UnprotectedFieldError,
  withAuth,
} from '../../src/graphql/index.js';

const sdl = (directive: string) => /* GraphQL */ `
  type Query {
    health: String!
    me: Profile
    orders: [Order!] @${directive}(scopes: ["read:orders"])
    staff: String @${directive}(anyOf: [["admin"], ["support", "read:notes"]])
    items: [Item]
    search: [SearchResult]
  }

  type Profile @${directive} {
    sub: String!
    email: String @${directive}(scopes: ["read:email"])
  }

  type Order @${directive}(scopes: ["read:orders"]) {
    id: ID!
    internalNote: String @${directive}(anyOf: [["admin"], ["support", "read:notes"]])
  }

  interface Item @${directive} {
    id: ID!
    price: Int @${directive}(scopes: ["read:prices"])
  }

  type Book implements Item {
    id: ID!
    price: Int
    isbn: String
  }

  type Article {
    title: String!
  }

  union SearchResult = Book | Article

  "Not reachable from any root: cannot be queried."
  type Orphan {
    secret: String
  }

  type Mutation {
    placeOrder(sku: String!): Order! @${directive}(scopes: ["write:orders"])
    touch: Int!
  }

  type Subscription {
    ticks: Int! @${directive}(scopes: ["read:ticks"])
    publicTicks: Int!
  }
`;

function sdlSchema(name = 'auth'): GraphQLSchema {
  const { typeDefs, transformer } = authDirective({ name });
  return transformer(
    makeExecutableSchema({
      typeDefs: [typeDefs, sdl(name)],
      resolvers: { Item: { __resolveType: () => 'Book' }, SearchResult: { __resolveType: () => 'Book' } },
    }),
  );
}

const EXPECTED: readonly [string, string | undefined, string][] = [
  ['Query.health', 'query', 'public'],
  ['Query.me', 'query', 'public'],
  ['Query.orders', 'query', 'authenticated; scopes read:orders'],
  ['Query.staff', 'query', 'authenticated; scopes (admin) OR (support AND read:notes)'],
  ['Query.items', 'query', 'public'],
  ['Query.search', 'query', 'public'],
  ['Mutation.placeOrder', 'mutation', 'authenticated; scopes write:orders'],
  ['Mutation.touch', 'mutation', 'public'],
  ['Subscription.ticks', 'subscription', 'authenticated; scopes read:ticks'],
  ['Subscription.publicTicks', 'subscription', 'public'],
  ['Article.title', undefined, 'public'],
  ['Book.id', undefined, 'authenticated'],
  ['Book.price', undefined, 'authenticated; scopes read:prices'],
  // Not declared by the interface: Item's @auth does not reach it.
  ['Book.isbn', undefined, 'public'],
  ['Order.id', undefined, 'authenticated; scopes read:orders'],
  [
    'Order.internalNote',
    undefined,
    'authenticated; scopes (read:orders AND admin) OR (read:orders AND support AND read:notes)',
  ],
  ['Profile.sub', undefined, 'authenticated'],
  ['Profile.email', undefined, 'authenticated; scopes read:email'],
];

const summaries = (schema: GraphQLSchema) =>
  describeSchema(schema).map((field) => [field.coordinate, field.root, field.summary]);

describe('describeSchema', () => {
  it('lists root fields first, then every reachable object type by name, with the effective requirement', () => {
    expect(summaries(sdlSchema())).toEqual(EXPECTED);
  });

  it('gives the access and the DNF scopes of each field', () => {
    const byCoordinate = new Map(describeSchema(sdlSchema()).map((field) => [field.coordinate, field]));
    expect(byCoordinate.get('Order.internalNote')).toEqual({
      coordinate: 'Order.internalNote',
      typeName: 'Order',
      fieldName: 'internalNote',
      root: undefined,
      access: 'authenticated',
      scopes: [
        ['read:orders', 'admin'],
        ['read:orders', 'support', 'read:notes'],
      ],
      summary: 'authenticated; scopes (read:orders AND admin) OR (read:orders AND support AND read:notes)',
    });
    expect(byCoordinate.get('Profile.sub')).toMatchObject({ access: 'authenticated', scopes: undefined });
    expect(byCoordinate.get('Query.health')).toMatchObject({ access: 'public', scopes: undefined });
    expect(Object.isFrozen(byCoordinate.get('Query.health'))).toBe(true);
  });

  it('leaves out unreachable types, interfaces and introspection types', () => {
    const types = new Set(describeSchema(sdlSchema()).map((field) => field.typeName));
    expect([...types].sort()).toEqual([
      'Article',
      'Book',
      'Mutation',
      'Order',
      'Profile',
      'Query',
      'Subscription',
    ]);
  });

  it('is the same after a second transform, and with a renamed directive', () => {
    const { transformer } = authDirective();
    expect(summaries(transformer(sdlSchema()))).toEqual(EXPECTED);
    expect(summaries(sdlSchema('requiresAuth'))).toEqual(EXPECTED);
  });

  it('reports every field public when the transformer never ran (the directive alone does nothing)', () => {
    const { typeDefs } = authDirective();
    const untransformed = makeExecutableSchema({
      typeDefs: [typeDefs, sdl('auth')],
      resolvers: { Item: { __resolveType: () => 'Book' }, SearchResult: { __resolveType: () => 'Book' } },
    });
    expect(describeSchema(untransformed).every((field) => field.access === 'public')).toBe(true);
  });

  it('rejects what is not a schema', () => {
    expect(() => describeSchema({} as GraphQLSchema)).toThrow(
      new TypeError('describeSchema: expected a GraphQLSchema'),
    );
  });
});

describe('describeSchema, code-first', () => {
  const Secret = new GraphQLInterfaceType({
    name: 'Secret',
    extensions: { auth: true },
    fields: { code: { type: GraphQLString } },
  });
  const Vault = new GraphQLObjectType({
    name: 'Vault',
    interfaces: [Secret],
    extensions: { auth: { scopes: ['vault'] } },
    fields: {
      code: { type: GraphQLString },
      gold: { type: GraphQLInt, extensions: { auth: { anyOf: [['gold'], ['admin']] } } },
    },
  });
  const codeFirst = new GraphQLSchema({
    types: [Vault],
    query: new GraphQLObjectType({
      name: 'RootQuery',
      fields: {
        open: { type: GraphQLString, resolve: () => 'open' },
        whoami: { type: GraphQLString, resolve: withAuth(true, () => 'me') },
        reports: {
          type: new GraphQLList(GraphQLString),
          resolve: withAuth({ scopes: ['reports'] }, () => []),
        },
        secrets: { type: new GraphQLList(Secret), resolve: () => [] },
      },
    }),
    mutation: new GraphQLObjectType({
      name: 'RootMutation',
      fields: { write: { type: GraphQLInt, resolve: withAuth('write', () => 1) } },
    }),
  });

  it('after the transformer: withAuth and extensions.auth on types, interfaces and fields', () => {
    expect(summaries(authDirective().transformer(codeFirst))).toEqual([
      ['RootQuery.open', 'query', 'public'],
      ['RootQuery.whoami', 'query', 'authenticated'],
      ['RootQuery.reports', 'query', 'authenticated; scopes reports'],
      ['RootQuery.secrets', 'query', 'public'],
      ['RootMutation.write', 'mutation', 'authenticated; scopes write'],
      ['Vault.code', undefined, 'authenticated; scopes vault'],
      ['Vault.gold', undefined, 'authenticated; scopes (vault AND gold) OR (vault AND admin)'],
    ]);
  });

  it('without the transformer: withAuth still enforces on its own, extensions.auth does not', async () => {
    expect(summaries(codeFirst)).toEqual([
      ['RootQuery.open', 'query', 'public'],
      ['RootQuery.whoami', 'query', 'authenticated'],
      ['RootQuery.reports', 'query', 'authenticated; scopes reports'],
      ['RootQuery.secrets', 'query', 'public'],
      ['RootMutation.write', 'mutation', 'authenticated; scopes write'],
      ['Vault.code', undefined, 'public'],
      ['Vault.gold', undefined, 'public'],
    ]);
    // What the description claims is what runs: the untransformed withAuth field denies anonymously.
    const result = await graphql({ schema: codeFirst, source: '{ open whoami }', contextValue: {} });
    expect(result.data).toEqual({ open: 'open', whoami: null });
    expect(result.errors?.map((error) => error.path)).toEqual([['whoami']]);
  });
});

function thrown(schema: GraphQLSchema, options: AssertProtectedOptions): UnprotectedFieldError {
  try {
    assertProtected(schema, options);
  } catch (error) {
    if (error instanceof UnprotectedFieldError) return error;
    throw error;
  }
  throw new Error('assertProtected did not throw');
}

const PUBLIC = [
  'Query.health',
  'Query.me',
  'Query.items',
  'Query.search',
  'Mutation.touch',
  'Subscription.publicTicks',
];

describe('assertProtected', () => {
  it('passes when every public root field is declared, and returns the descriptions', () => {
    const schema = sdlSchema();
    const described = assertProtected(schema, { public: PUBLIC });
    expect(described).toEqual(describeSchema(schema));
  });

  it('lists each undeclared public root field; public fields of other types do not count', () => {
    const error = thrown(sdlSchema(), { public: ['Query.health', 'Query.me'] });
    expect(error).toBeInstanceOf(UnprotectedFieldError);
    expect(error.name).toBe('UnprotectedFieldError');
    expect(error.fields.map((field) => field.coordinate)).toEqual([
      'Query.items',
      'Query.search',
      'Mutation.touch',
      'Subscription.publicTicks',
    ]);
    expect(error.unknownPublic).toEqual([]);
    expect(error.message).toBe(
      [
        '4 root field(s) are neither protected nor declared public:',
        '  - Query.items (query)',
        '  - Query.search (query)',
        '  - Mutation.touch (mutation)',
        '  - Subscription.publicTicks (subscription)',
      ].join('\n'),
    );
  });

  it('lists each declared entry that matches no root field (stale, misspelt, or not a root type)', () => {
    const stale = ['Query.oldHealth', 'Profile.sub', 'Orphan.*', 'Subscription.Ticks'];
    const error = thrown(sdlSchema(), { public: [...PUBLIC, ...stale] });
    expect(error.fields).toEqual([]);
    expect(error.unknownPublic).toEqual(stale);
    expect(error.message).toBe(
      [
        '4 declared public field(s) match no root field:',
        '  - Query.oldHealth',
        '  - Profile.sub',
        '  - Orphan.*',
        '  - Subscription.Ticks',
      ].join('\n'),
    );
  });

  it('lists both at once', () => {
    const error = thrown(sdlSchema(), { public: ['Query.*', 'Query.gone'] });
    expect(error.message).toBe(
      [
        '2 root field(s) are neither protected nor declared public:',
        '  - Mutation.touch (mutation)',
        '  - Subscription.publicTicks (subscription)',
        '1 declared public field(s) match no root field:',
        '  - Query.gone',
      ].join('\n'),
    );
  });

  it.each([
    { name: 'Type.* covers every field of a root type', public: ['Query.*', 'Mutation.*', 'Subscription.*'] },
    { name: 'a pattern may cover protected fields too', public: [...PUBLIC, 'Query.orders'] },
  ])('$name', ({ public: declared }) => {
    expect(() => assertProtected(sdlSchema(), { public: declared })).not.toThrow();
  });

  it('a pattern matches whole names only', () => {
    const error = thrown(sdlSchema(), {
      public: [...PUBLIC.filter((entry) => entry !== 'Query.me'), 'Que.*'],
    });
    expect(error.fields.map((field) => field.coordinate)).toEqual(['Query.me']);
    expect(error.unknownPublic).toEqual(['Que.*']);
  });

  it('uses the schema’s own root type names', () => {
    const { transformer } = authDirective();
    const schema = transformer(
      new GraphQLSchema({
        query: new GraphQLObjectType({
          name: 'RootQuery',
          fields: { ping: { type: GraphQLString }, whoami: { type: GraphQLString, resolve: withAuth(true) } },
        }),
      }),
    );
    expect(() => assertProtected(schema, { public: ['RootQuery.ping'] })).not.toThrow();
    expect(thrown(schema, { public: ['Query.ping'] }).message).toBe(
      [
        '1 root field(s) are neither protected nor declared public:',
        '  - RootQuery.ping (query)',
        '1 declared public field(s) match no root field:',
        '  - Query.ping',
      ].join('\n'),
    );
  });

  it('fails on a schema whose transformer never ran', () => {
    const { typeDefs } = authDirective();
    const untransformed = makeExecutableSchema({
      typeDefs: [typeDefs, sdl('auth')],
      resolvers: { Item: { __resolveType: () => 'Book' }, SearchResult: { __resolveType: () => 'Book' } },
    });
    // Since issue 8 an unenforced @auth fails the audit as such, whatever `public` lists.
    expect(describeSchema(untransformed).filter((field) => field.access !== 'public')).toEqual([]);
    for (const coordinate of ['Query.orders', 'Query.staff', 'Mutation.placeOrder', 'Subscription.ticks']) {
      expect(() => assertProtected(untransformed, { public: PUBLIC })).toThrow(
        `${coordinate}: @auth is not enforced (transformer() was not applied)`,
      );
    }
    expect(() =>
      assertProtected(untransformed, { public: ['Query.*', 'Mutation.*', 'Subscription.*'] }),
    ).toThrow(/^assertProtected: the schema declares @auth on fields it does not enforce/);
  });

  it.each([
    { name: 'a bare field name', options: { public: ['health'] } },
    { name: 'an empty entry', options: { public: [''] } },
    { name: 'a missing field name', options: { public: ['Query.'] } },
    { name: 'a nested path', options: { public: ['Query.me.sub'] } },
    { name: 'a prefix wildcard', options: { public: ['Query.he*'] } },
    { name: 'a non-string entry', options: { public: [42] } },
    { name: 'a string instead of a list', options: { public: 'Query.health' } },
    { name: 'no list', options: {} },
    { name: 'no options', options: undefined },
  ])('rejects $name with a TypeError', ({ options }) => {
    expect(() => assertProtected(sdlSchema(), options as unknown as AssertProtectedOptions)).toThrow(
      new TypeError('assertProtected: "public" must be a list of "Type.field" or "Type.*" entries'),
    );
  });
});
