/**
 * authDirective: its SDL, transform-time errors, which fields get wrapped, how requirements
 * combine. Execution goes through graphql-js with a real verifier and real tokens.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { type GraphQLObjectType, type GraphQLSchema, graphql, printSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Verifier } from '../../src/core/index.js';
import { authDirective } from '../../src/graphql/index.js';
import { and, compileRequirement } from '../../src/graphql/requirement.js';
import type { TestIssuer } from '../../src/testing/index.js';
import { issuerAndVerifier } from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;
beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
});

function transform(sdl: string, options: Parameters<typeof authDirective>[0] = {}): GraphQLSchema {
  const { typeDefs, transformer } = authDirective(options);
  return transformer(makeExecutableSchema({ typeDefs: [typeDefs, sdl] }));
}

describe('typeDefs', () => {
  it('declares the directive (name overridable)', () => {
    expect(authDirective().typeDefs).toContain(
      'directive @auth(scopes: [String!], anyOf: [[String!]!]) on OBJECT | INTERFACE | FIELD_DEFINITION',
    );
    const { typeDefs } = authDirective({ name: 'requiresAuth' });
    expect(typeDefs).toContain('directive @requiresAuth(scopes: [String!], anyOf: [[String!]!])');
    const schema = makeExecutableSchema({ typeDefs: [typeDefs, 'type Query { a: Int @requiresAuth }'] });
    expect(printSchema(schema)).toContain('directive @requiresAuth');
  });

  it.each([
    [{ name: 'not a name' }, '"name" option must be a GraphQL name, e.g. "auth"'],
    [{ name: '' }, '"name" option must be a GraphQL name, e.g. "auth"'],
    [
      { scopes: [] },
      '"scopes" option: scope requirement must be a non-empty scope string or list of scope strings',
    ],
    [
      { scopes: ['read orders'] },
      '"scopes" option: scope requirement: "read orders" is not a valid scope (RFC 6749 3.3)',
    ],
  ])('authDirective(%j) throws a TypeError', (options, message) => {
    expect(() => authDirective(options)).toThrow(new TypeError(message));
  });
});

describe('transform-time errors', () => {
  it.each([
    [
      'type Query { a: Int @auth(scopes: []) }',
      '@auth on Query.a: scope requirement must be a non-empty scope string or list of scope strings',
    ],
    [
      'type Query { a: Int @auth(anyOf: []) }',
      '@auth on Query.a: scope requirement must be a string, a list, a list of lists, or { anyOf }',
    ],
    [
      'type Query { a: Int @auth(anyOf: [[]]) }',
      '@auth on Query.a: "anyOf" alternative must be a non-empty scope string or list of scope strings',
    ],
    [
      'type Query { a: Int @auth(scopes: null) }',
      '@auth on Query.a: "scopes" must be a non-empty list of scopes',
    ],
    [
      'type Query { a: Int @auth(scopes: ["a b"]) }',
      '@auth on Query.a: scope requirement: "a b" is not a valid scope (RFC 6749 3.3)',
    ],
    [
      'type Query @auth(scopes: [""]) { a: Int }',
      '@auth on Query: scope requirement: "" is not a valid scope (RFC 6749 3.3)',
    ],
    [
      'interface Node @auth(scopes: ["x\\"y"]) { id: ID } type Query { n: Node } type T implements Node { id: ID }',
      '@auth on Node: scope requirement: "x\\"y" is not a valid scope (RFC 6749 3.3)',
    ],
  ])('%s', (sdl, message) => {
    expect(() => transform(sdl)).toThrow(new TypeError(message));
  });

  it.each([
    [
      'type Query { a: Int @auth(scopes: ["read:ordrs"]) }',
      '@auth on Query.a: unknown scope "read:ordrs" (not in options.scopes)',
    ],
    [
      'type Query @auth(anyOf: [["admin"], ["root"]]) { a: Int }',
      '@auth on Query: unknown scope "root" (not in options.scopes)',
    ],
    [
      'interface I { a: Int @auth(scopes: ["nope"]) } type T implements I { a: Int } type Query { i: I }',
      '@auth on I.a: unknown scope "nope" (not in options.scopes)',
    ],
  ])('an undeclared scope fails: %s', (sdl, message) => {
    expect(() => transform(sdl, { scopes: ['read:orders', 'admin'] })).toThrow(new TypeError(message));
  });

  it('code-first extensions are validated the same way', () => {
    const { transformer } = authDirective({ scopes: ['a'] });
    const schema = makeExecutableSchema({ typeDefs: 'type Query { x: Int }' });
    const field = (schema.getType('Query') as GraphQLObjectType).getFields().x;
    if (!field) throw new Error('fixture');
    for (const [auth, message] of [
      [{ scopes: ['b'] }, '@auth on Query.x: unknown scope "b" (not in options.scopes)'],
      [false, 'extensions.auth on Query.x: expected true, a scope requirement, or { scopes?, anyOf? }'],
      [
        { scopes: [] },
        'extensions.auth on Query.x: scope requirement must be a non-empty scope string or list of scope strings',
      ],
    ] as const) {
      field.extensions = { auth };
      expect(() => transformer(schema)).toThrow(new TypeError(message));
    }
  });
});

describe('wrapping', () => {
  const sdl = `
    type Query { open: Int  closed: Int @auth  t: T }
    type T @auth(scopes: ["a"]) { x: Int }
  `;

  it('only annotated fields are wrapped; the requirement is recorded; a second pass does not re-wrap', () => {
    const original = makeExecutableSchema({ typeDefs: [authDirective().typeDefs, sdl] });
    const { transformer } = authDirective();
    const once = transformer(original);
    const query = once.getQueryType()?.getFields();
    expect(query?.open?.resolve).toBeUndefined();
    expect(query?.closed?.resolve).toBeTypeOf('function');
    expect(query?.t?.resolve).toBeUndefined();
    expect(query?.closed?.extensions).toEqual({ scopegate: { scopes: undefined } });
    expect((once.getType('T') as GraphQLObjectType).getFields().x?.extensions).toEqual({
      scopegate: { scopes: [['a']] },
    });
    const twice = transformer(once);
    expect(twice.getQueryType()?.getFields().closed?.resolve).toBe(query?.closed?.resolve);
  });

  it('guards with the default resolver when a field has none', async () => {
    const schema = transform(sdl);
    const run = async (token?: string) =>
      graphql({
        schema,
        source: '{ open closed t { x } }',
        rootValue: { open: 1, closed: 2, t: { x: 3 } },
        contextValue: { auth: verifier.authenticate(token ? `Bearer ${token}` : null) },
      });
    expect(await run(await issuer.sign({ scope: 'a' }))).toEqual({
      data: { open: 1, closed: 2, t: { x: 3 } },
    });
    const anonymous = await run();
    expect(anonymous.data).toEqual({ open: 1, closed: null, t: { x: null } });
    expect(anonymous.errors?.map((error) => error.extensions)).toEqual([
      { code: 'UNAUTHORIZED', reason: 'missing_token' },
      { code: 'UNAUTHORIZED', reason: 'missing_token' },
    ]);
  });

  it('a context without auth fails closed (a server error, not data)', async () => {
    const result = await graphql({
      schema: transform(sdl),
      source: '{ open closed }',
      rootValue: { open: 1, closed: 2 },
    });
    expect(result.data).toEqual({ open: 1, closed: null });
    expect(result.errors?.[0]?.message).toMatch(/^scopegate: the GraphQL context has no "auth"/);
  });
});

describe('requirements combine by AND', () => {
  it.each([
    [true, undefined],
    [{}, undefined],
    [{ scopes: ['a', 'b'] }, [['a', 'b']]],
    [{ anyOf: [['a', 'b'], ['c']] }, [['a', 'b'], ['c']]],
    [
      { scopes: ['a'], anyOf: [['b'], ['c']] },
      [
        ['a', 'b'],
        ['a', 'c'],
      ],
    ],
    ['a b', [['a', 'b']]],
    [
      [['x'], ['y']],
      [['x'], ['y']],
    ],
  ])('compileRequirement(%j)', (requirement, scopes) => {
    expect(compileRequirement(requirement, 'test').scopes).toEqual(scopes);
  });

  it('AND of DNFs is their product, minimal (an implied alternative is dropped)', () => {
    const ab = compileRequirement({ anyOf: [['a'], ['b']] }, 'x');
    const ac = compileRequirement({ anyOf: [['a'], ['c']] }, 'y');
    expect(and(ab, ac).scopes).toEqual([['a'], ['b', 'c']]);
    expect(and(compileRequirement(true, 'z'), ab)).toBe(ab);
  });

  it('refuses a product of more than 64 alternatives', () => {
    const wide = (prefix: string) =>
      compileRequirement({ anyOf: Array.from({ length: 9 }, (_, i) => [`${prefix}${i}`]) }, prefix);
    expect(() => and(wide('a'), wide('b'))).toThrow(
      new TypeError('the combined requirement has more than 64 alternatives'),
    );
  });
});
