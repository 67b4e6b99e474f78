/**
 * scopegate/apollo: the yoga plugin's semantics for Apollo Server 5. `apolloAuth` gives a context
 * helper (the request's lazy `auth`) and a plugin: the pre-execution check, auth errors never
 * masked, GraphQL-over-HTTP statuses with challenges, and private caching when auth was consulted.
 * The rules themselves live in the GraphQL adapter (precheck.ts, plugin.ts, errors.ts); this module
 * maps them onto Apollo's request pipeline.
 * Peers: `@apollo/server` 5 (which declares `graphql` ^16), `graphql`.
 * @module scopegate/apollo
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContext } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { RequestLike } from '../core/credentials.js';
import { dpopNonceHeaders } from '../core/response.js';
import type { JwtClaims, Verifier } from '../core/types.js';
import type { AuthContext } from '../graphql/context.js';
import { assertEnforced } from '../graphql/enforcement.js';
import { authErrorOf } from '../graphql/errors.js';
import { sharedOptions } from '../graphql/options.js';
import { authStatusOf, exposeAuthErrors, markConsulted, type Precheck } from '../graphql/plugin.js';
import { checkOperation } from '../graphql/precheck.js';

export type { AuthContext } from '../graphql/context.js';
export type { AuthErrorExtensions } from '../graphql/errors.js';
export type { Precheck } from '../graphql/plugin.js';

/** Options of {@link apolloAuth}: the same as the yoga plugin's. */
export interface ApolloAuthOptions<TClaims = JwtClaims> {
  /** The verifier shared by the API (`createVerifier`). */
  readonly verifier: Verifier<TClaims>;
  /**
   * `'mutations'`: a mutation runs no resolver when any field it selects is denied. `'all'`:
   * queries too, so they are rejected as a whole (no partial data).
   * @default 'mutations'
   */
  readonly precheck?: Precheck;
}

/** What the standalone and Express integrations pass to `context`: the Node request as `req`. */
export interface ApolloContextArgs {
  readonly req: RequestLike;
}

/** The result of {@link apolloAuth}. */
export interface ApolloAuth<TClaims = JwtClaims> {
  /** The request's lazy auth state, to spread into your context: `{ ...auth.context({ req }), db }`. */
  context(args: ApolloContextArgs): AuthContext<TClaims>;
  /** The Apollo Server plugin: pre-check, unmasked auth errors, statuses, challenges, cache headers. */
  readonly plugin: ApolloServerPlugin<BaseContext>;
}

function consulted(context: unknown): boolean {
  const auth =
    typeof context === 'object' && context !== null ? (context as { auth?: unknown }).auth : undefined;
  return typeof auth === 'object' && auth !== null && (auth as { consulted?: unknown }).consulted === true;
}

/**
 * Auth errors as scopegate formats them, whatever `formatError` (or the stack traces of
 * `includeStacktraceInErrorResponses`) made of them; then the status and challenge of a result
 * without data, unless the request is a batch (its other operations may hold data).
 */
function answerAuthErrors(
  requestContext: GraphQLRequestContext<BaseContext>,
  raw: readonly GraphQLError[] | undefined,
): void {
  const { response } = requestContext;
  const body = response.body;
  if (!raw?.length || !body) return;
  const result = body.kind === 'single' ? body.singleResult : body.initialResult;
  const formatted = result.errors;
  // Apollo formats errors one for one; anything else is not ours to rewrite.
  if (formatted?.length !== raw.length) return;
  const exposed = exposeAuthErrors({ errors: raw }, requestContext.contextValue).errors ?? raw;
  const errors = formatted.map(
    (error, index): GraphQLFormattedError =>
      authErrorOf(exposed[index]) ? (exposed[index] as GraphQLError).toJSON() : error,
  );
  if (body.kind === 'single') body.singleResult = { ...result, errors };
  else body.initialResult = { ...body.initialResult, errors };

  if (requestContext.requestIsBatched) return;
  const answer = authStatusOf(
    { data: result.data, errors: exposed },
    (requestContext.contextValue as { auth?: unknown } | null | undefined)?.auth,
  );
  if (!answer) return;
  response.http.status = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) response.http.headers.set(name, value);
}

/**
 * Auth for Apollo Server 5, with the semantics of the yoga plugin: `context.auth` is the request's
 * lazy RequestAuth (nothing is verified until a guarded field or a resolver asks), no resolver of a
 * denied mutation runs, auth errors keep their `extensions: { code, reason, requiredScopes? }` even
 * under a masking `formatError`, a result without `data` takes the AuthError's status (401, 403,
 * 400, 503) and `WWW-Authenticate` challenge, and a response that consulted auth is
 * `Cache-Control: private, no-store`, `Vary: Authorization`.
 *
 * @example
 * ```ts
 * import { ApolloServer } from '@apollo/server';
 * import { startStandaloneServer } from '@apollo/server/standalone';
 * import { apolloAuth } from 'scopegate/apollo';
 *
 * const auth = apolloAuth({ verifier });
 * const server = new ApolloServer({ schema: transformer(schema), plugins: [auth.plugin] });
 * await startStandaloneServer(server, { context: async ({ req }) => ({ ...auth.context({ req }), db }) });
 * ```
 * @throws TypeError on an invalid option
 */
export function apolloAuth<TClaims = JwtClaims>(options: ApolloAuthOptions<TClaims>): ApolloAuth<TClaims> {
  const { verifier, precheck } = sharedOptions(options);
  // The errors of a pre-checked operation: Apollo does not record errors a plugin answers with.
  const prechecked = new WeakMap<object, readonly GraphQLError[]>();

  return {
    context(args) {
      const req = (args as { req?: unknown } | undefined)?.req;
      if (typeof req !== 'object' || req === null) {
        throw new TypeError(
          '"req" of context({ req }) must be the request Apollo passes to its context function',
        );
      }
      // A function: reading an exotic request then rejects when asked, never here.
      return { auth: verifier.authenticate(() => req as RequestLike) } as AuthContext<TClaims>;
    },
    plugin: {
      // Fail closed: a schema declaring @auth that the transformer never enforced (or whose guards
      // were replaced afterwards) would serve protected fields to anyone. Refuse to start.
      async serverWillStart({ schema }) {
        assertEnforced(schema, 'apolloAuth');
      },
      async requestDidStart() {
        return {
          async responseForOperation(requestContext) {
            const { operation, document, request, schema, contextValue } = requestContext;
            if (precheck !== 'all' && operation.operation !== 'mutation') return null;
            const errors = await checkOperation({
              schema,
              document,
              operationName: request.operationName,
              variableValues: request.variables,
              contextValue,
            });
            if (errors.length === 0) return null;
            prechecked.set(requestContext, errors);
            return {
              http: { headers: new HeaderMap() },
              body: { kind: 'single', singleResult: { errors: errors.map((error) => error.toJSON()) } },
            };
          },
          async willSendResponse(requestContext) {
            answerAuthErrors(requestContext, prechecked.get(requestContext) ?? requestContext.errors);
            const auth = (requestContext.contextValue as { auth?: unknown } | null | undefined)?.auth;
            if (consulted(requestContext.contextValue)) {
              markConsulted(requestContext.response.http.headers, auth);
            } else {
              for (const [name, value] of Object.entries(dpopNonceHeaders(auth))) {
                requestContext.response.http.headers.set(name, value);
              }
            }
          },
        };
      },
    },
  };
}
