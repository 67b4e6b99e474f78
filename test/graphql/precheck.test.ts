/**
 * checkOperation on its own: what it reaches, what it skips, and that odd documents terminate.
 */
import { parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Verifier } from '../../src/core/index.js';
import { checkOperation } from '../../src/graphql/index.js';
import type { TestIssuer } from '../../src/testing/index.js';
import { buildSchema, issuerAndVerifier } from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;
const schema = buildSchema({ sideEffects: 0 });

beforeAll(async () => {
  ({ issuer, verifier } = await issuerAndVerifier());
});

async function check(
  source: string,
  options: { token?: string; variables?: Record<string, unknown>; operationName?: string } = {},
) {
  const errors = await checkOperation({
    schema,
    document: parse(source),
    operationName: options.operationName,
    variableValues: options.variables,
    contextValue: { auth: verifier.authenticate(options.token ? `Bearer ${options.token}` : null) },
  });
  return errors.map((error) => ({ path: error.path?.join('.') ?? '', code: error.extensions.code }));
}

describe('checkOperation', () => {
  it('public selections, __typename and introspection need no token', async () => {
    expect(await check('{ publicInfo orders { __typename } __schema { types { name } } }')).toEqual([]);
  });

  it('a token problem is one error without a path; scope problems are one per field path', async () => {
    expect(await check('{ orders { id total } me { sub } }')).toEqual([{ path: '', code: 'UNAUTHORIZED' }]);
    expect(
      await check('{ a: orders { internalNote } b: order(id: "o1") { internalNote } }', {
        token: await issuer.sign({ scope: 'read:orders' }),
      }),
    ).toEqual([
      { path: 'a.internalNote', code: 'FORBIDDEN' },
      { path: 'b.internalNote', code: 'FORBIDDEN' },
    ]);
  });

  it('picks the named operation', async () => {
    const source = 'query Open { publicInfo } query Closed { orders { id } }';
    expect(await check(source, { operationName: 'Open' })).toEqual([]);
    expect(await check(source, { operationName: 'Closed' })).toEqual([{ path: '', code: 'UNAUTHORIZED' }]);
    expect(await check(source, { operationName: 'Missing' })).toEqual([]);
  });

  it('@skip / @include follow variables; an uncomputable condition counts as included', async () => {
    const source = 'query($s: Boolean!) { orders @skip(if: $s) { id } }';
    expect(await check(source, { variables: { s: true } })).toEqual([]);
    expect(await check(source, { variables: { s: false } })).toHaveLength(1);
    // Invalid variables: execution refuses the operation itself, before any resolver.
    expect(await check(source, { variables: { s: 'yes' } })).toEqual([]);
    expect(await check('{ orders @include(if: $undeclared) { id } }')).toHaveLength(1);
  });

  it('fragment cycles and repeated fragments terminate, errors deduplicated by path', async () => {
    expect(await check('{ orders { ...A } } fragment A on Order { id ...A }')).toEqual([
      { path: '', code: 'UNAUTHORIZED' },
    ]);
    const bomb = [
      '{ orders { ...F0 } }',
      ...Array.from(
        { length: 30 },
        (_, i) => `fragment F${i} on Order { internalNote ...F${i + 1} ...F${i + 1} }`,
      ),
      'fragment F30 on Order { internalNote }',
    ].join('\n');
    expect(await check(bomb, { token: await issuer.sign({ scope: 'read:orders' }) })).toEqual([
      { path: 'orders.internalNote', code: 'FORBIDDEN' },
    ]);
  });

  it('type conditions narrow abstract selections', async () => {
    const token = await issuer.sign({ scope: 'read:prices' });
    expect(await check('{ items { ... on Book { price isbn } } }', { token })).toEqual([]);
    expect(await check('{ items { price } }', { token })).toEqual([
      { path: 'items.price', code: 'FORBIDDEN' },
    ]);
  });
});
