/**
 * The pre-execution check: before any resolver runs, find every guarded field an operation could
 * reach and check its requirement. Used for every mutation (no side effect before a denial) and, on
 * request, for queries and subscriptions (reject the whole operation instead of partial data).
 *
 * It is conservative where the document cannot tell: a selection on an interface or a union is
 * checked for every possible object type, and an `@skip` / `@include` whose value cannot be
 * computed counts as included.
 */
import {
  BREAK,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  GraphQLIncludeDirective,
  type GraphQLObjectType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';
import { type AuthError, isAuthError } from '../core/errors.js';
import { authOf } from './context.js';
import { toGraphQLError } from './errors.js';
import { type FieldRequirement, recordedRequirement } from './requirement.js';

/** The parts of graphql's `ExecutionArgs` the check reads. */
export interface OperationToCheck {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null | undefined;
  /** Raw variables, as sent by the client. */
  readonly variableValues?: Readonly<Record<string, unknown>> | null | undefined;
  /** The context: its `auth` is checked. */
  readonly contextValue?: unknown;
}

/** One guarded field the operation selects. */
interface Reached {
  readonly requirement: FieldRequirement;
  readonly path: readonly string[];
  readonly node: FieldNode;
}

/**
 * What `getDirectiveValues` takes: graphql 16 the coerced values, graphql 17 the whole
 * `VariableValues` (`{ sources, coerced }`) that its `getVariableValues` returns.
 */
type Variables = Parameters<typeof getDirectiveValues>[2];

function isIncluded(
  node: { readonly directives?: readonly unknown[] | undefined },
  variables: Variables,
): boolean {
  if (!node.directives?.length) return true;
  try {
    const skip = getDirectiveValues(GraphQLSkipDirective, node as FieldNode, variables);
    if (skip?.if === true) return false;
    const include = getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, variables);
    return include?.if !== false;
  } catch {
    // A value the check cannot compute: assume the field is selected (execution will reject it).
    return true;
  }
}

function objectTypesOf(schema: GraphQLSchema, name: string | undefined): readonly GraphQLObjectType[] {
  const type = name === undefined ? undefined : schema.getType(name);
  if (isObjectType(type)) return [type];
  return isAbstractType(type) ? schema.getPossibleTypes(type) : [];
}

/** Every guarded field the operation may reach, with its response path (aliases, no list indexes). */
function reachedFields(args: OperationToCheck): Reached[] {
  const { schema, document } = args;
  const operation = getOperationAST(document, args.operationName ?? undefined);
  if (!operation) return [];
  const root = schema.getRootType(operation.operation);
  if (!root) return [];
  const result: { readonly errors?: unknown; readonly coerced?: unknown; readonly variableValues?: unknown } =
    getVariableValues(schema, operation.variableDefinitions ?? [], args.variableValues ?? {}, {
      maxErrors: 1,
    });
  // Invalid variables: execution refuses the operation before any resolver runs.
  if (result.errors) return [];
  // graphql 16 returns `{ coerced }`, graphql 17 `{ variableValues: { sources, coerced } }`.
  const variables = ('variableValues' in result ? result.variableValues : result.coerced) as Variables;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const reached: Reached[] = [];
  // Repeated fragments merge into the same fields; visiting each (selection, types, path) once keeps
  // the walk linear in the document even for a "fragment bomb".
  const visited = new Set<string>();
  const ids = new Map<SelectionSetNode, number>();
  const idOf = (node: SelectionSetNode) => {
    let id = ids.get(node);
    if (id === undefined) {
      id = ids.size;
      ids.set(node, id);
    }
    return id;
  };

  const visit = (
    selectionSet: SelectionSetNode,
    types: readonly GraphQLObjectType[],
    path: readonly string[],
    spreads: ReadonlySet<string>,
  ): void => {
    const key = `${idOf(selectionSet)}|${types.map((type) => type.name).join(',')}|${path.join('.')}`;
    if (visited.has(key)) return;
    visited.add(key);
    for (const selection of selectionSet.selections) {
      if (!isIncluded(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        // __typename, __schema and __type are never gated.
        if (name.startsWith('__')) continue;
        const fieldPath = [...path, selection.alias?.value ?? name];
        const childTypes = new Set<GraphQLObjectType>();
        for (const type of types) {
          const field = type.getFields()[name];
          if (!field) continue;
          const requirement = recordedRequirement(field);
          if (requirement) reached.push({ requirement, path: fieldPath, node: selection });
          if (selection.selectionSet) {
            for (const child of objectTypesOf(schema, getNamedType(field.type).name)) childTypes.add(child);
          }
        }
        if (selection.selectionSet && childTypes.size > 0) {
          visit(selection.selectionSet, [...childTypes], fieldPath, spreads);
        }
      } else {
        let condition: string | undefined;
        let selections: SelectionSetNode;
        let nextSpreads = spreads;
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          condition = selection.typeCondition?.name.value;
          selections = selection.selectionSet;
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || spreads.has(name)) continue;
          condition = fragment.typeCondition.name.value;
          selections = fragment.selectionSet;
          nextSpreads = new Set([...spreads, name]);
        }
        const narrowed =
          condition === undefined
            ? types
            : types.filter((type) => objectTypesOf(schema, condition).includes(type));
        if (narrowed.length > 0) visit(selections, narrowed, path, nextSpreads);
      }
    }
  };
  if (operation.selectionSet) visit(operation.selectionSet, [root], [], new Set());
  return reached;
}

function hasConditions(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'skip' && node.name.value !== 'include') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

// Per schema and operation node (yoga's parser cache reuses documents): whether a guarded field
// is reached; `null` when it depends on the variables (`@skip` / `@include` in the document).
const reaches = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, boolean | null>>();

/** True when the operation may reach a guarded field (the pre-check's walk; see {@link checkOperation}). */
export function reachesGuardedField(args: OperationToCheck): boolean {
  const operation = getOperationAST(args.document, args.operationName ?? undefined);
  if (!operation) return false;
  let byOperation = reaches.get(args.schema);
  if (!byOperation) {
    byOperation = new WeakMap();
    reaches.set(args.schema, byOperation);
  }
  const known = byOperation.get(operation);
  if (typeof known === 'boolean') return known;
  const reached = reachedFields(args).length > 0;
  // Invalid variables make the walk find nothing: such an answer is not the operation's.
  const invalidVariables = !reached && (operation.variableDefinitions?.length ?? 0) > 0;
  if (known === undefined && !invalidVariables) {
    byOperation.set(operation, hasConditions(args.document) ? null : reached);
  }
  return reached;
}

/**
 * Checks, before execution, every guarded field an operation selects (at any depth, through
 * fragments, honouring `@skip` / `@include`). Resolves to the errors to return instead of executing:
 * one error for a token problem (401 / 400 / 503), one per denied field otherwise (403), and an
 * empty list when the operation may run. Exported from `scopegate/graphql` for custom servers; the
 * yoga plugin and the graphql-ws helper call it for you.
 *
 * @example
 * ```ts
 * import { checkOperation } from 'scopegate/graphql';
 * const errors = await checkOperation({ schema, document, variableValues, contextValue });
 * if (errors.length > 0) return { errors };
 * ```
 */
export async function checkOperation(args: OperationToCheck): Promise<readonly GraphQLError[]> {
  const reached = reachedFields(args);
  if (reached.length === 0) return [];
  const auth = authOf(args.contextValue);
  try {
    await auth.claims();
  } catch (error) {
    if (isAuthError(error)) return [toGraphQLError(error)];
    throw error;
  }
  const verdicts = new Map<FieldRequirement, AuthError | null>();
  const errors: GraphQLError[] = [];
  const denied = new Set<string>();
  for (const { requirement, path, node } of reached) {
    if (!requirement.scopes) continue;
    let verdict = verdicts.get(requirement);
    if (verdict === undefined) {
      try {
        await auth.require({ scopes: requirement.scopes });
        verdict = null;
      } catch (error) {
        if (!isAuthError(error)) throw error;
        verdict = error;
      }
      verdicts.set(requirement, verdict);
    }
    const key = path.join('.');
    if (verdict && !denied.has(key)) {
      denied.add(key);
      errors.push(toGraphQLError(verdict, { nodes: [node], path }));
    }
  }
  return errors;
}
