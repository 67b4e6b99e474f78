/**
 * graphql-ws helpers (for `useServer` from `graphql-ws/use/ws` and the other graphql-ws adapters).
 * The token comes from `connectionParams` (`authorization: "Bearer x"` or `token: "x"`; else the
 * upgrade request's header: the core's one rule for every transport), is verified
 * once in `onConnect`, and the connection is closed when it is invalid (4403) or when it expires;
 * an operation denied by a guard is an error of that operation, the socket stays open.
 * Typed structurally: no runtime or type dependency on graphql-ws.
 */
import {
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  isSchema,
  parse,
  validate,
} from 'graphql';
import { connectionSource } from '../core/credentials.js';
import { type AuthError, isAuthError } from '../core/errors.js';
import type { JwtClaims, RequestAuth, Verifier } from '../core/types.js';
import { type AuthContext, scopeToConnection } from './context.js';
import { assertEnforced } from './enforcement.js';
import { sharedOptions } from './options.js';
import type { Precheck } from './plugin.js';
import { checkOperation } from './precheck.js';

/** The part of graphql-ws's server `Context` the helpers read. */
export interface WsConnectionContext {
  readonly connectionParams?: Readonly<Record<string, unknown>> | undefined;
  /** For `graphql-ws/use/ws`: `{ socket, request }`; the socket is closed with a reason. */
  readonly extra?: unknown;
}

/** graphql-ws's `SubscribePayload`. */
export interface WsSubscribePayload {
  readonly query: string;
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
}

/** Options of {@link createWsAuth}. */
export interface WsAuthOptions<TClaims = JwtClaims> {
  readonly verifier: Verifier<TClaims>;
  /**
   * Accept connections that carry no token: guarded operations then fail with `UNAUTHORIZED`
   * `missing_token`; public ones run. An invalid token is always refused. @default true
   */
  readonly allowAnonymous?: boolean;
  /**
   * The schema graphql-ws executes (required): to check operations before execution in
   * `onSubscribe` (the "no side effect before a denial" guarantee of mutations when graphql-ws
   * executes without yoga), and to refuse a schema whose `@auth` is not enforced.
   */
  readonly schema: GraphQLSchema;
  /** As in `useAuth`: `'mutations'` or `'all'`. @default 'mutations' */
  readonly precheck?: Precheck;
  /**
   * Closes the connection. @default `ctx.extra.socket.close(code, reason)` (graphql-ws/use/ws,
   * bun, crossws); without a socket, a refused `onConnect` still closes with 4403.
   */
  readonly close?: (ctx: WsConnectionContext, code: number, reason: string) => void;
}

/** Hooks for graphql-ws's `useServer` options, sharing one auth state per connection. */
export interface WsAuth<TClaims = JwtClaims> {
  /** Verifies the connection's token; closes with 4403 (1013 when the issuer is unreachable). */
  onConnect(ctx: WsConnectionContext): Promise<boolean>;
  /** Parses, validates and pre-checks the operation; returns its denials as errors of that operation. */
  onSubscribe(
    ctx: WsConnectionContext,
    id: string,
    payload: WsSubscribePayload,
  ): Promise<ExecutionArgs | readonly GraphQLError[] | undefined>;
  /** Stops waiting for the connection's token to expire. */
  onClose(ctx: WsConnectionContext): void;
  /** `{ auth }` for the operation's context; compose: `context: (ctx) => ({ ...ws.context(ctx), db })`. */
  context(ctx: WsConnectionContext): AuthContext<TClaims>;
  /** The connection's auth state (e.g. for yoga's `getEnveloped({ ...ctx, auth: ws.authOf(ctx) })`). */
  authOf(ctx: WsConnectionContext): RequestAuth<TClaims>;
}

/** graphql-ws's close code for a refused connection. */
export const WS_CLOSE_FORBIDDEN = 4403;
/** RFC 6455 "Try Again Later": the issuer is unreachable; graphql-ws clients retry it. */
export const WS_CLOSE_TRY_AGAIN_LATER = 1013;

function closeCodeOf(error: AuthError): number {
  return error.code === 'SERVICE_UNAVAILABLE' ? WS_CLOSE_TRY_AGAIN_LATER : WS_CLOSE_FORBIDDEN;
}

function defaultClose(ctx: WsConnectionContext, code: number, reason: string): void {
  const socket = (ctx.extra as { socket?: { close?: unknown } } | undefined)?.socket;
  if (typeof socket?.close === 'function')
    (socket.close as (code: number, reason: string) => void)(code, reason);
}

interface Connection {
  readonly auth: RequestAuth<object>;
  /** Aborted when the connection closes: stops the wait for the token's expiry. */
  readonly open: AbortController;
}

/**
 * Auth for a graphql-ws server. Exported from `scopegate/graphql`.
 *
 * @example
 * ```ts
 * import { useServer } from 'graphql-ws/use/ws';
 * import { createWsAuth } from 'scopegate/graphql';
 *
 * const ws = createWsAuth({ verifier, schema });
 * useServer(
 *   { schema, onConnect: ws.onConnect, onSubscribe: ws.onSubscribe, onClose: ws.onClose, context: ws.context },
 *   wsServer,
 * );
 * // client: createClient({ url, connectionParams: async () => ({ authorization: `Bearer ${await getToken()}` }) })
 * ```
 * @throws TypeError on an invalid option
 */
export function createWsAuth<TClaims = JwtClaims>(options: WsAuthOptions<TClaims>): WsAuth<TClaims> {
  const { verifier, precheck } = sharedOptions(options);
  const allowAnonymous = options.allowAnonymous ?? true;
  const close = options.close ?? defaultClose;
  const schema = options.schema;
  // Without the schema the pre-check and the enforcement check cannot run: never silently skip them.
  if (!isSchema(schema)) throw new TypeError('"schema" option must be the GraphQLSchema graphql-ws executes');
  assertEnforced(schema, 'createWsAuth');
  const connections = new WeakMap<object, Connection>();

  const connectionOf = (ctx: WsConnectionContext): Connection => {
    let connection = connections.get(ctx);
    if (!connection) {
      const auth = verifier.authenticate(() =>
        connectionSource(ctx.connectionParams, (ctx.extra as { request?: unknown } | undefined)?.request),
      );
      scopeToConnection(auth);
      connection = { auth, open: new AbortController() };
      connections.set(ctx, connection);
    }
    return connection;
  };

  const refuse = (ctx: WsConnectionContext, connection: Connection, error: AuthError) => {
    connection.open.abort();
    close(ctx, closeCodeOf(error), error.publicReason);
  };

  // The verifier says when the token stops being valid (with its clock tolerance and maxTokenAge)
  // and gives its error; the connection is then closed, and a graphql-ws client reconnects with
  // fresh connectionParams and resubscribes. Operations racing the close already get the error:
  // `claims()` re-verifies once the token is past its validity.
  const closeAtExpiry = (ctx: WsConnectionContext, connection: Connection) => {
    const { signal } = connection.open;
    connection.auth.expired(signal).then(
      (error) => {
        if (!signal.aborted) refuse(ctx, connection, error);
      },
      () => {
        // Aborted: the connection closed first. Anything else (not an AuthError) fails closed, with
        // the reason every presentation may show.
        if (signal.aborted) return;
        connection.open.abort();
        close(ctx, WS_CLOSE_FORBIDDEN, 'invalid_token');
      },
    );
  };

  return {
    async onConnect(ctx) {
      const connection = connectionOf(ctx);
      try {
        const claims = await (allowAnonymous ? connection.auth.optional() : connection.auth.claims());
        if (claims !== null) closeAtExpiry(ctx, connection);
        return true;
      } catch (error) {
        if (!isAuthError(error)) throw error;
        refuse(ctx, connection, error);
        return false;
      }
    },

    async onSubscribe(ctx, _id, payload) {
      let document: DocumentNode;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [error as GraphQLError];
      }
      const validationErrors = validate(schema, document);
      if (validationErrors.length > 0) return validationErrors;
      const args: ExecutionArgs = {
        schema,
        document,
        operationName: payload.operationName ?? null,
        variableValues: payload.variables ?? null,
      };
      const operation = getOperationAST(document, payload.operationName ?? undefined);
      if (precheck === 'all' || operation?.operation === 'mutation') {
        const errors = await checkOperation({ ...args, contextValue: { auth: connectionOf(ctx).auth } });
        if (errors.length > 0) return errors;
      }
      return args;
    },

    onClose(ctx) {
      connections.get(ctx)?.open.abort();
    },

    context(ctx) {
      return { auth: connectionOf(ctx).auth as RequestAuth<TClaims> };
    },

    authOf(ctx) {
      return connectionOf(ctx).auth as RequestAuth<TClaims>;
    },
  };
}
