/**
 * `useAuth`: the graphql-yoga plugin. It puts a lazy `auth` (RequestAuth) in the context, one per
 * HTTP request (a batch shares it, so a request verifies at most once), runs the pre-execution
 * check, and maps auth errors to HTTP: a result without `data` takes the AuthError's status and
 * challenge; a response that consulted auth is `Cache-Control: private, no-store`,
 * `Vary: Authorization`.
 */
import { GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestLike } from '../core/credentials.js';
import { isAuthError } from '../core/errors.js';
import { answeringRefusal } from '../core/policy.js';
import { bindToRequest, LazyRequestAuth, presentationOfRequest } from '../core/request-auth.js';
import { authResponseHeaders, dpopNonceHeaders } from '../core/response.js';
import type { JwtClaims, RequestAuth, Verifier } from '../core/types.js';
import { type AuthContext, hasAuth } from './context.js';
import { assertEnforced } from './enforcement.js';
import { authErrorOf, toGraphQLError } from './errors.js';
import { sharedOptions } from './options.js';
import { checkOperation, type OperationToCheck, reachesGuardedField } from './precheck.js';

const noop = () => {};

/** Which operations are checked as a whole before execution. */
export type Precheck = 'mutations' | 'all';

/** Options of {@link useAuth}. */
export interface UseAuthOptions<TClaims = JwtClaims> {
  /** The verifier shared by the API (`createVerifier`). */
  readonly verifier: Verifier<TClaims>;
  /**
   * `'mutations'`: a mutation runs no resolver when any field it selects is denied. `'all'`:
   * queries and subscriptions too, so they are rejected as a whole (no partial data).
   * @default 'mutations'
   */
  readonly precheck?: Precheck;
}

/** The Node request behind yoga's fetch Request, when served by `node:http`: it keeps duplicate headers. */
function nodeRequestOf(context: object): RequestLike | undefined {
  const req = (context as { req?: unknown }).req;
  return typeof req === 'object' &&
    req !== null &&
    typeof (req as { headers?: unknown }).headers === 'object' &&
    Array.isArray((req as { rawHeaders?: unknown }).rawHeaders)
    ? (req as RequestLike)
    : undefined;
}

function withHttp(
  error: GraphQLError,
  http: { status: number; headers: Record<string, string> },
): GraphQLError {
  return new GraphQLError(error.message, {
    ...(error.nodes && { nodes: error.nodes }),
    ...(error.source && { source: error.source }),
    ...(error.positions && { positions: error.positions }),
    ...(error.path && { path: error.path }),
    ...(error.originalError && { originalError: error.originalError }),
    extensions: { ...error.extensions, http },
  });
}

interface ResultLike {
  readonly data?: unknown;
  readonly errors?: readonly GraphQLError[];
}

/**
 * GraphQL-over-HTTP: a result with `data` is 2xx (field errors are partial data); a result without
 * `data` denied by auth takes the status and challenge of the refusal the core's one rule picks
 * (400, then 401, then 403; 503 only when every refusal is a 503), as the tRPC adapter does.
 * Returns the index of the error that answers, with its status and headers (yoga and Apollo).
 */
export function authStatusOf(
  result: ResultLike,
  auth?: unknown,
): { readonly index: number; readonly status: number; readonly headers: Record<string, string> } | undefined {
  if (result.data !== undefined && result.data !== null) return undefined;
  const errors = result.errors;
  if (!errors?.length) return undefined;
  const refusals = errors.map(authErrorOf);
  const refusal = answeringRefusal(refusals);
  if (refusal === undefined) return undefined;
  // An error the application threw takes the request's presentation (scheme, DPoP, nonce).
  bindToRequest(refusal, auth);
  return { index: refusals.indexOf(refusal), status: refusal.status, headers: authResponseHeaders(refusal) };
}

function withAuthStatus<T extends ResultLike>(result: T, auth: unknown): T | undefined {
  const answer = authStatusOf(result, auth);
  if (!answer || !result.errors) return undefined;
  const http = { status: answer.status, headers: answer.headers };
  return {
    ...result,
    errors: result.errors.map((e, index) => (index === answer.index ? withHttp(e, http) : e)),
  };
}

function isResult(value: unknown): value is ResultLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function'
  );
}

/**
 * AuthErrors thrown by application resolvers (e.g. `await ctx.auth.claims()` in a resolver of a
 * public field) become scopegate's GraphQL errors, so yoga's error masking keeps them.
 */
export function exposeAuthErrors<T extends ResultLike>(result: T, context: unknown): T {
  const errors = result.errors;
  if (!errors?.some((error) => isAuthError(error.originalError))) return result;
  const auth =
    typeof context === 'object' && context !== null ? (context as { auth?: unknown }).auth : undefined;
  return {
    ...result,
    errors: errors.map((error) =>
      isAuthError(error.originalError)
        ? toGraphQLError(bindToRequest(error.originalError, auth), {
            ...(error.nodes && { nodes: error.nodes }),
            ...(error.path && { path: error.path }),
          })
        : error,
    ),
  };
}

/**
 * The headers of a response that read the Authorization header: private, `Vary: Authorization`
 * (and `DPoP` when enabled), and the `DPoP-Nonce` of a DPoP request (`auth`: the context's).
 */
export function markConsulted(
  headers: {
    get(name: string): string | null | undefined;
    set(name: string, value: string): unknown;
  },
  auth?: unknown,
): void {
  const ours = authResponseHeaders(null, presentationOfRequest(auth));
  headers.set('cache-control', ours['cache-control'] as string);
  const vary = headers.get('vary');
  const present = new Set(vary?.toLowerCase().split(/\s*,\s*/));
  const missing = (ours.vary as string).split(', ').filter((name) => !present.has(name.toLowerCase()));
  if (missing.length > 0) headers.set('vary', [vary, ...missing].filter(Boolean).join(', '));
  // A refusal already set its own (the same request's nonce); a success gets it here.
  if (ours['dpop-nonce'] !== undefined && !headers.get('dpop-nonce')) {
    headers.set('dpop-nonce', ours['dpop-nonce']);
  }
}

function needsPrecheck(args: OperationToCheck, precheck: Precheck): boolean {
  if (precheck === 'all') return true;
  return getOperationAST(args.document, args.operationName ?? undefined)?.operation === 'mutation';
}

/**
 * The graphql-yoga plugin: `context.auth` is the request's lazy {@link RequestAuth} (nothing is
 * verified until a guarded field or your resolver asks), mutations are checked before execution,
 * and auth errors get their HTTP status, `WWW-Authenticate` challenge and cache headers.
 * Exported from `scopegate/graphql`.
 *
 * @example
 * ```ts
 * import { createYoga } from 'graphql-yoga';
 * import { createVerifier } from 'scopegate';
 * import { useAuth } from 'scopegate/graphql';
 *
 * const verifier = createVerifier({ issuer: 'https://idp.example.com/', audience: 'https://api.example.com' });
 * const yoga = createYoga({ schema, plugins: [useAuth({ verifier })] });
 * ```
 * @throws TypeError on an invalid option
 */
export function useAuth<TClaims = JwtClaims>(options: UseAuthOptions<TClaims>): Plugin<AuthContext<TClaims>> {
  const { verifier, precheck } = sharedOptions(options);
  // One auth state per HTTP request: a batch shares it; onResponse reads whether it was consulted.
  const auths = new WeakMap<Request, RequestAuth<object>>();

  const authOfRequest = (request: Request, context: object): RequestAuth<object> => {
    let auth = auths.get(request);
    if (!auth) {
      auth = verifier.authenticate(nodeRequestOf(context) ?? request);
      auths.set(request, auth);
    }
    return auth;
  };

  const check = async (
    args: OperationToCheck,
    stop: (result: { errors: readonly GraphQLError[] }) => void,
  ): Promise<void> => {
    if (needsPrecheck(args, precheck)) {
      const errors = await checkOperation(args);
      if (errors.length > 0) stop({ errors });
      return;
    }
    // Verify before execution when a guarded field will ask anyway: every guard then answers
    // synchronously (see guard.ts). A refusal is left to the fields, which get it from the memo.
    const auth = (args.contextValue as { auth?: unknown } | null | undefined)?.auth;
    if (auth instanceof LazyRequestAuth && auth.settled() === undefined && reachesGuardedField(args)) {
      await auth.claims().then(noop, noop);
    }
  };

  return {
    // A schema whose @auth is not enforced would serve protected fields to anyone: refuse it.
    onSchemaChange({ schema }) {
      assertEnforced(schema, 'useAuth');
    },
    onContextBuilding({ context, extendContext }) {
      // The graphql-ws helper (or the application) may already have put the connection's auth here.
      if (hasAuth(context)) return;
      const auth = authOfRequest(context.request, context);
      extendContext({ auth } as Partial<AuthContext<TClaims>>);
    },
    onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      // Runs before every onExecuteDone hook, so before yoga masks errors.
      setExecuteFn(async (executionArgs) => {
        const result = await executeFn(executionArgs);
        return isResult(result) ? exposeAuthErrors(result, executionArgs.contextValue) : result;
      });
      return check(args, setResultAndStopExecution);
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn, setResultAndStopExecution }) {
      setSubscribeFn(async (subscribeArgs) => {
        const result = await subscribeFn(subscribeArgs);
        return isResult(result) ? exposeAuthErrors(result, subscribeArgs.contextValue) : result;
      });
      return check(args, setResultAndStopExecution);
    },
    onResultProcess({ request, result, setResult }) {
      if (!isResult(result)) return;
      const next = withAuthStatus(result, auths.get(request));
      if (next) setResult(next);
    },
    onResponse({ request, response }) {
      const auth = auths.get(request);
      if (auth?.consulted) markConsulted(response.headers, auth);
      else
        for (const [name, value] of Object.entries(dpopNonceHeaders(auth))) response.headers.set(name, value);
    },
  };
}
