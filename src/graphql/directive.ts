/**
 * `@auth`: the SDL directive and its schema transformer. The transformer computes, for every field
 * of every object type, the AND of: the type's `@auth`, the `@auth` of each interface that declares
 * the field (type level and field level), and the field's own `@auth` / `extensions.auth` /
 * `withAuth`. Only fields with a requirement are wrapped; their requirement is recorded in the
 * field's extensions for the pre-execution check. Resolution always happens on the concrete object
 * type, so interfaces, unions, fragments and aliases reach the same guard.
 */
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  type GraphQLField,
  type GraphQLFieldConfig,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { compileScopes } from '../core/scopes.js';
import { guard, isGuard } from './guard.js';
import {
  and,
  assertDeclared,
  compileRequirement,
  type FieldRequirement,
  recordedRequirement,
  recordRequirement,
} from './requirement.js';
import { untag } from './with-auth.js';

/** Options of {@link authDirective}. */
export interface AuthDirectiveOptions {
  /** Name of the directive, and of the code-first `extensions` key. @default 'auth' */
  readonly name?: string;
  /**
   * Every scope the API defines. When given, a requirement naming any other scope fails the
   * transform (catches typos before they lock everybody out). @default undefined (not checked)
   */
  readonly scopes?: readonly string[];
}

/** What {@link authDirective} returns. */
export interface AuthDirective {
  /** `directive @auth(scopes: [String!], anyOf: [[String!]!]) on OBJECT | INTERFACE | FIELD_DEFINITION` */
  readonly typeDefs: string;
  /**
   * Guards the annotated fields of an executable schema and returns the new schema.
   * @throws TypeError on an empty or malformed requirement, or an undeclared scope
   */
  readonly transformer: (schema: GraphQLSchema) => GraphQLSchema;
}

type Annotated =
  | GraphQLObjectType
  | GraphQLInterfaceType
  | GraphQLField<unknown, unknown>
  | GraphQLFieldConfig<unknown, unknown>;

function parseOptions(options: AuthDirectiveOptions): {
  name: string;
  declared: ReadonlySet<string> | undefined;
} {
  const name = options.name ?? 'auth';
  if (typeof name !== 'string' || !/^[_A-Za-z][_0-9A-Za-z]*$/.test(name)) {
    throw new TypeError('"name" option must be a GraphQL name, e.g. "auth"');
  }
  if (options.scopes === undefined) return { name, declared: undefined };
  try {
    const [list] = compileScopes([...options.scopes]);
    return { name, declared: new Set(list) };
  } catch (error) {
    throw new TypeError(`"scopes" option: ${(error as Error).message}`);
  }
}

/**
 * The `@auth` directive: SDL to include in your type definitions and a transformer for the schema.
 *
 * - `@auth`: a valid token. `@auth(scopes: ["a", "b"])`: all of them. `@auth(anyOf: [["a", "b"],
 *   ["admin"]])`: any one alternative.
 * - On an object type: every field of it. On an interface: every field it declares, on every
 *   implementation. On an interface field: that field on every implementation. Combined with the
 *   field's own `@auth` by AND. Code-first schemas use `extensions: { auth: ... }` (same values)
 *   or {@link withAuth}.
 * - A denied field is `null` with a GraphQLError `extensions: { code, reason, requiredScopes? }`.
 *
 * Exported from `scopegate/graphql`.
 *
 * @example
 * ```ts
 * import { makeExecutableSchema } from '@graphql-tools/schema';
 * import { authDirective } from 'scopegate/graphql';
 *
 * const { typeDefs: authTypeDefs, transformer } = authDirective({ scopes: ['read:orders', 'admin'] });
 * const schema = transformer(
 *   makeExecutableSchema({
 *     typeDefs: [authTypeDefs, `type Query { orders: [String!]! @auth(scopes: ["read:orders"]) }`],
 *     resolvers,
 *   }),
 * );
 * ```
 * @throws TypeError on an invalid `name` or `scopes` option
 */
export function authDirective(options: AuthDirectiveOptions = {}): AuthDirective {
  const { name, declared } = parseOptions(options);
  const typeDefs =
    `"""Requires a valid access token; \`scopes\`: all of them; \`anyOf\`: any one list (all of it)."""\n` +
    `directive @${name}(scopes: [String!], anyOf: [[String!]!]) on OBJECT | INTERFACE | FIELD_DEFINITION\n`;

  const transformer = (schema: GraphQLSchema): GraphQLSchema => {
    const typeRequirements = new Map<string, FieldRequirement | undefined>();

    // Every requirement written on one element (directive and code-first extension), ANDed.
    const own = (element: Annotated, where: string): FieldRequirement | undefined => {
      let requirement: FieldRequirement | undefined;
      for (const args of getDirective(schema, element, name) ?? []) {
        const compiled = compileRequirement(args, `@${name} on ${where}`);
        requirement = requirement ? and(requirement, compiled) : compiled;
      }
      const extension = element.extensions?.[name];
      if (extension !== undefined) {
        const compiled = compileRequirement(extension, `extensions.${name} on ${where}`);
        requirement = requirement ? and(requirement, compiled) : compiled;
      }
      if (requirement) assertDeclared(requirement, declared, `@${name} on ${where}`);
      return requirement;
    };

    const ofType = (type: GraphQLObjectType | GraphQLInterfaceType): FieldRequirement | undefined => {
      if (!typeRequirements.has(type.name)) typeRequirements.set(type.name, own(type, type.name));
      return typeRequirements.get(type.name);
    };

    return mapSchema(schema, {
      [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
        // Already guarded by an earlier pass: wrapping twice would check twice. A guard replaced
        // since (`addResolversToSchema`) is wrapped again, keeping what was recorded.
        const previous = recordedRequirement(fieldConfig);
        if (
          previous &&
          isGuard(fieldConfig.resolve) &&
          (fieldConfig.subscribe === undefined || isGuard(fieldConfig.subscribe))
        ) {
          return fieldConfig;
        }
        const type = schema.getType(typeName) as GraphQLObjectType;
        const parts: (FieldRequirement | undefined)[] = [ofType(type)];
        for (const iface of type.getInterfaces()) {
          const ifaceField = iface.getFields()[fieldName];
          if (!ifaceField) continue;
          parts.push(ofType(iface), own(ifaceField, `${iface.name}.${fieldName}`));
        }
        parts.push(own(fieldConfig, `${typeName}.${fieldName}`), previous);

        let resolve = fieldConfig.resolve;
        let subscribe = fieldConfig.subscribe;
        const taggedResolve = untag(resolve);
        const taggedSubscribe = untag(subscribe);
        if (taggedResolve) {
          parts.push(taggedResolve.requirement);
          resolve = taggedResolve.resolver;
        }
        if (taggedSubscribe) {
          parts.push(taggedSubscribe.requirement);
          subscribe = taggedSubscribe.resolver;
        }

        let requirement: FieldRequirement | undefined;
        for (const part of parts) {
          if (part) requirement = requirement ? and(requirement, part) : part;
        }
        if (!requirement) return fieldConfig;
        assertDeclared(requirement, declared, `${typeName}.${fieldName}`);

        const guarded: GraphQLFieldConfig<unknown, unknown> = {
          ...fieldConfig,
          resolve: guard(requirement, resolve ?? defaultFieldResolver),
          extensions: { ...fieldConfig.extensions, ...recordRequirement(requirement) },
        };
        // A subscription field without `subscribe` reads its stream from the root value: guard that too.
        if (subscribe || schema.getSubscriptionType()?.name === typeName) {
          guarded.subscribe = guard(requirement, subscribe ?? defaultFieldResolver);
        }
        return guarded;
      },
    });
  };

  return { typeDefs, transformer };
}
