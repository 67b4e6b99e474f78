/**
 * Fail closed on schemas whose `@auth` is not enforced: the SDL or `extensions.auth` says a field
 * is protected, but the transformer never ran (its resolver is the application's own), or it ran
 * and the guard was replaced afterwards (`addResolversToSchema`). Serving such a schema would
 * answer protected fields to anyone, so `useAuth`, `createWsAuth` and `assertProtected` refuse it.
 */
import { getDirective } from '@graphql-tools/utils';
import {
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  isObjectType,
} from 'graphql';
import { isGuard } from './guard.js';
import { recordedRequirement } from './requirement.js';
import { untag } from './with-auth.js';

type Annotated = GraphQLObjectType | GraphQLInterfaceType | GraphQLField<unknown, unknown>;

// The directive's names: `auth`, and any directive declared with the arguments of authDirective's
// (`authDirective({ name })` renames it).
function directiveNames(schema: GraphQLSchema): ReadonlySet<string> {
  const names = new Set(['auth']);
  for (const directive of schema.getDirectives()) {
    const args = directive.args.map((arg) => arg.name).sort();
    if (args.length === 2 && args[0] === 'anyOf' && args[1] === 'scopes') names.add(directive.name);
  }
  return names;
}

function isAnnotated(schema: GraphQLSchema, element: Annotated, names: ReadonlySet<string>): boolean {
  for (const name of names) {
    if (element.extensions?.[name] !== undefined) return true;
    if ((getDirective(schema, element, name) ?? []).length > 0) return true;
  }
  return false;
}

// Apollo Server wraps every resolver of the schema in place for its plugins' willResolveField
// (marking the schema with this symbol): guards are then inside closures that cannot be inspected,
// so on such a schema a guard cannot be told from its replacement and the recorded one is trusted.
function instrumentedByApollo(schema: GraphQLSchema): boolean {
  return Object.getOwnPropertySymbols(schema).some(
    (symbol) => symbol.description === 'apolloServerPluginsEnabled',
  );
}

/** True when a field the transformer guarded no longer resolves through its guard. */
export function guardReplaced(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
): boolean {
  if (instrumentedByApollo(schema)) return false;
  const streams = field.subscribe !== undefined || type.name === schema.getSubscriptionType()?.name;
  return !isGuard(field.resolve) || (streams && !isGuard(field.subscribe));
}

/**
 * Every field whose `@auth` / `extensions.auth` is not enforced, with why, as
 * `Query.orders: @auth is not enforced (transformer() was not applied)`.
 */
export function unenforcedFields(schema: GraphQLSchema): string[] {
  const names = directiveNames(schema);
  const problems: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeAnnotated = isAnnotated(schema, type, names);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (recordedRequirement(field)) {
        if (guardReplaced(schema, type, field)) {
          problems.push(
            `${coordinate}: its guard resolver was replaced after transformer() (addResolversToSchema?)`,
          );
        }
        continue;
      }
      // withAuth wrappers enforce on their own, transformed or not.
      if (untag(field.resolve) || untag(field.subscribe)) continue;
      const annotated =
        typeAnnotated ||
        isAnnotated(schema, field, names) ||
        type.getInterfaces().some((iface) => {
          const ifaceField = iface.getFields()[field.name];
          return (
            ifaceField !== undefined &&
            (isAnnotated(schema, iface, names) || isAnnotated(schema, ifaceField, names))
          );
        });
      if (annotated) problems.push(`${coordinate}: @auth is not enforced (transformer() was not applied)`);
    }
  }
  return problems;
}

/**
 * @throws Error naming every unenforced field, prefixed with `who` (the refusing function)
 */
export function assertEnforced(schema: GraphQLSchema, who: string): void {
  const problems = unenforcedFields(schema);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 10).join('; ');
  const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
  throw new Error(
    `${who}: the schema declares @auth on fields it does not enforce, so they would be served to anyone. ` +
      `Apply authDirective().transformer to the final executable schema (after addResolversToSchema). ${shown}${more}`,
  );
}
