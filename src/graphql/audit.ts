/**
 * Deny-by-default audit of a GraphQL schema: what each field requires, read from what the `@auth`
 * transformer recorded (or from `withAuth` wrappers when the schema was not transformed), and an
 * assertion for your test suite that no root field is public by accident.
 */
import {
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  isSchema,
  isUnionType,
} from 'graphql';
import { auditReport, summarizeAccess, undeclaredAccess } from '../core/audit.js';
import type { ScopeAlternatives } from '../core/scopes.js';
import { assertEnforced, guardReplaced } from './enforcement.js';
import { and, type FieldRequirement, recordedRequirement } from './requirement.js';
import { untag } from './with-auth.js';

/** Which operation a root type serves. */
export type RootOperation = 'query' | 'mutation' | 'subscription';

/** What a field requires. */
export interface FieldAccess {
  /** The field's schema coordinate, `Query.orders` or `Order.total`. */
  readonly coordinate: string;
  /** The object type that declares the field, `Order`. */
  readonly typeName: string;
  readonly fieldName: string;
  /** The operation of the root type the field belongs to; `undefined` for a non-root type. */
  readonly root: RootOperation | undefined;
  /**
   * `public`: nothing is checked before the field resolves; `authenticated`: a valid token is
   * required (and one of the `scopes` alternatives when present).
   */
  readonly access: 'public' | 'authenticated';
  /**
   * The effective requirement in DNF, after the type's, the interfaces' and the field's own
   * requirements were combined: one alternative must be held in full. `undefined` when a valid
   * token is enough, or when the field is public.
   */
  readonly scopes: ScopeAlternatives | undefined;
  /** One line for humans: `authenticated; scopes (admin) OR (support AND read:notes)`. */
  readonly summary: string;
}

function rootTypes(schema: GraphQLSchema): Map<string, RootOperation> {
  const roots = new Map<string, RootOperation>();
  const byOperation = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const;
  for (const [operation, type] of byOperation) {
    if (type && !roots.has(type.name)) roots.set(type.name, operation);
  }
  return roots;
}

/** Object types a client can reach from the root types: the roots, then the others by name. */
function reachableObjectTypes(schema: GraphQLSchema, roots: ReadonlyMap<string, RootOperation>) {
  const seen = new Set<string>();
  const objects: GraphQLObjectType[] = [];
  const pending: GraphQLNamedType[] = [...roots.keys()].map(
    (name) => schema.getType(name) as GraphQLNamedType,
  );
  // Each named type is expanded once, so the walk is bounded by the schema's size.
  while (pending.length > 0) {
    const type = pending.shift() as GraphQLNamedType;
    if (seen.has(type.name) || type.name.startsWith('__')) continue;
    seen.add(type.name);
    if (isObjectType(type)) {
      objects.push(type);
      for (const field of Object.values(type.getFields())) pending.push(getNamedType(field.type));
    } else if (isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) pending.push(getNamedType(field.type));
      pending.push(...schema.getPossibleTypes(type));
    } else if (isUnionType(type)) {
      pending.push(...type.getTypes());
    }
  }
  const others = objects.filter((type) => !roots.has(type.name));
  others.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...objects.filter((type) => roots.has(type.name)), ...others];
}

/**
 * The transformer's record; on a schema that never went through the transformer, the `withAuth`
 * wrappers still enforce on their own, so they count (type-level `extensions.auth` does not: only
 * the transformer applies it).
 */
function effectiveRequirement(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
): FieldRequirement | undefined {
  const recorded = recordedRequirement(field);
  // A recorded requirement counts only while the guard still resolves the field: one replaced
  // after the transform (`addResolversToSchema`) enforces nothing (assertProtected refuses it).
  if (recorded) return guardReplaced(schema, type, field) ? undefined : recorded;
  let requirement: FieldRequirement | undefined;
  for (const tagged of [untag(field.resolve), untag(field.subscribe)]) {
    if (tagged) requirement = requirement ? and(requirement, tagged.requirement) : tagged.requirement;
  }
  return requirement;
}

function describeField(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  root: RootOperation | undefined,
): FieldAccess {
  const requirement = effectiveRequirement(schema, type, field);
  const access = requirement ? 'authenticated' : 'public';
  const scopes = requirement?.scopes;
  return Object.freeze({
    coordinate: `${type.name}.${field.name}`,
    typeName: type.name,
    fieldName: field.name,
    root,
    access,
    scopes,
    summary: summarizeAccess(access, scopes ? [scopes] : []),
  });
}

/**
 * Lists every field of the root types and of every object type reachable from them (through
 * field types, interfaces' implementations and union members) with its effective requirement,
 * as the `@auth` transformer computed it. Root types come first (query, mutation, subscription),
 * then the other types by name; fields keep their declaration order. Types no root field reaches
 * cannot be queried and are left out.
 * Introspection types are left out; interface fields are too, since only the concrete object
 * type's field ever resolves.
 *
 * @example
 * ```ts
 * import { describeSchema } from 'scopegate/graphql';
 *
 * for (const field of describeSchema(schema)) console.log(`${field.coordinate}: ${field.summary}`);
 * // Query.health: public
 * // Query.notes: authenticated; scopes notes:read
 * // Mutation.clearNotes: authenticated; scopes (notes:write) OR (admin)
 * ```
 * @throws TypeError when `schema` is not a GraphQLSchema
 */
export function describeSchema(schema: GraphQLSchema): FieldAccess[] {
  if (!isSchema(schema)) throw new TypeError('describeSchema: expected a GraphQLSchema');
  const roots = rootTypes(schema);
  return reachableObjectTypes(schema, roots).flatMap((type) =>
    Object.values(type.getFields()).map((field) => describeField(schema, type, field, roots.get(type.name))),
  );
}

/** Options of {@link assertProtected}. */
export interface AssertProtectedOptions {
  /**
   * Root fields that may be resolved without a token: exact coordinates (`'Query.health'`), or
   * every field of a root type (`'Query.*'`). An entry that matches no root field is an error
   * (a stale list would silently cover a future field of that name).
   */
  readonly public: readonly string[];
}

/** Thrown by {@link assertProtected}. */
export class UnprotectedFieldError extends Error {
  override readonly name = 'UnprotectedFieldError';
  /** Root fields resolvable without a token that are not declared public. */
  readonly fields: readonly FieldAccess[];
  /** `public` entries that match no root field. */
  readonly unknownPublic: readonly string[];

  constructor(fields: readonly FieldAccess[], unknownPublic: readonly string[]) {
    super(
      auditReport(
        {
          unprotected: 'root field(s) are neither protected nor declared public',
          unknown: 'declared public field(s) match no root field',
        },
        fields.map((field) => `${field.coordinate} (${field.root})`),
        unknownPublic,
      ),
    );
    this.fields = fields;
    this.unknownPublic = unknownPublic;
  }
}

const PATTERN = /^[_A-Za-z][_0-9A-Za-z]*\.([_A-Za-z][_0-9A-Za-z]*|\*)$/;

function matches(pattern: string, field: FieldAccess): boolean {
  return pattern.endsWith('.*') ? pattern === `${field.typeName}.*` : pattern === field.coordinate;
}

/**
 * Deny by default, as a test: fails when a root field (Query, Mutation, Subscription) resolves
 * without a token and is not in `options.public`, listing each one. Put it in your own test suite.
 *
 * Only root fields are entry points, so only they are checked: a field of another type is reached
 * through a root field, and is covered by it or by its own type's `@auth`. A root field that
 * returns a protected type (`me: User` with `type User @auth`) is still public itself (its
 * resolver runs for anyone): protect it or declare it.
 *
 * @example
 * ```ts
 * import { assertProtected } from 'scopegate/graphql';
 *
 * it('every root field is protected or declared public', () => {
 *   assertProtected(schema, { public: ['Query.health', 'Query.me'] });
 * });
 * ```
 * @returns the descriptions of every field (see {@link describeSchema}), when the assertion holds
 * @throws UnprotectedFieldError listing each unprotected root field and each stale entry
 * @throws TypeError when `schema` is not a GraphQLSchema, or `options.public` is not a list of
 *   `Type.field` / `Type.*` entries
 */
export function assertProtected(schema: GraphQLSchema, options: AssertProtectedOptions): FieldAccess[] {
  const declared = options?.public;
  if (
    !Array.isArray(declared) ||
    declared.some((entry) => typeof entry !== 'string' || !PATTERN.test(entry))
  ) {
    throw new TypeError('assertProtected: "public" must be a list of "Type.field" or "Type.*" entries');
  }
  // A field whose @auth is not enforced fails the audit whatever `public` says (issue 8).
  assertEnforced(schema, 'assertProtected');
  const fields = describeSchema(schema);
  const rootFields = fields.filter((field) => field.root !== undefined);
  const { unprotected, unknownPublic } = undeclaredAccess(
    rootFields,
    declared,
    (field) => field.access === 'public',
    matches,
  );
  if (unprotected.length > 0 || unknownPublic.length > 0) {
    throw new UnprotectedFieldError(unprotected, unknownPublic);
  }
  return fields;
}
