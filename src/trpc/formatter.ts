/**
 * `authErrorFormatter`: puts the safe view of an auth failure into `shape.data.auth`, where the
 * client reads it with full types (`TRPCClientError<AppRouter>['data']['auth']`).
 */
import type {
  TRPCDefaultErrorData,
  TRPCDefaultErrorShape,
  TRPCError,
  TRPCErrorShape,
  TRPCProcedureType,
} from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { AuthErrorInfo } from '../core/errors.js';
import { bindToRequest } from '../core/request-auth.js';
import { authErrorOf, TRPC_CODE_OF } from './errors.js';

/** `shape.data` with the auth failure, or `auth: null` for any other error. */
export type AuthErrorData = TRPCDefaultErrorData & { readonly auth: AuthErrorInfo | null };

/** The error shape `authErrorFormatter` produces. */
export interface AuthErrorShape extends TRPCDefaultErrorShape {
  data: AuthErrorData;
}

/** What an error formatter receives (the parts this one reads). */
export interface AuthErrorFormatterOptions {
  readonly error: TRPCError;
  readonly shape: TRPCDefaultErrorShape;
  /** The context, whose `auth` gives the verifier's presentation to errors the application threw. */
  readonly ctx?: unknown;
}

/**
 * tRPC `errorFormatter` that adds `data.auth = { code, reason, message, requiredScopes? }` to auth
 * failures (`null` otherwise). The message sent is the client-safe one; no token, jose message or
 * cause is included, and `data.stack` stays as tRPC decides (only when `isDev`). An `AuthError`
 * thrown raw from your own code (tRPC would call it a 500) is reported with its own code and
 * status.
 *
 * @example
 * ```ts
 * const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
 * // client:
 * if (error instanceof TRPCClientError && error.data?.auth?.reason === 'token_expired') refresh();
 * ```
 */
export function authErrorFormatter(opts: AuthErrorFormatterOptions): AuthErrorShape {
  const { shape } = opts;
  const authError = authErrorOf(opts.error);
  if (!authError) return { ...shape, data: { ...shape.data, auth: null } };
  bindToRequest(authError, (opts.ctx as { auth?: unknown } | null | undefined)?.auth);
  const auth = authError.toJSON();
  const code = TRPC_CODE_OF[authError.code];
  return {
    ...shape,
    message: auth.message,
    code: TRPC_ERROR_CODES_BY_KEY[code],
    data: { ...shape.data, code, httpStatus: authError.status, auth },
  };
}

/** What tRPC passes to an `errorFormatter` (the shape of its `ErrorFormatterOptions`). */
export interface ErrorFormatterInput<TContext> {
  readonly error: TRPCError;
  readonly type: TRPCProcedureType | 'unknown';
  readonly path: string | undefined;
  readonly input: unknown;
  readonly ctx: TContext | undefined;
  readonly shape: TRPCDefaultErrorShape;
}

/**
 * Composes {@link authErrorFormatter} with your formatter: yours receives the shape with
 * `data.auth` already set; keep it (spread `shape`) for the client to see it. The context type
 * is inferred from `initTRPC.context<...>()`.
 *
 * @example
 * ```ts
 * const t = initTRPC.context<Context>().create({
 *   errorFormatter: withAuthErrorFormatter(({ shape, error }) => ({
 *     ...shape,
 *     data: { ...shape.data, zod: error.cause instanceof ZodError ? error.cause.flatten() : null },
 *   })),
 * });
 * ```
 */
export function withAuthErrorFormatter<TContext, TShape extends TRPCErrorShape>(
  formatter: (
    opts: Omit<ErrorFormatterInput<TContext>, 'shape'> & { readonly shape: AuthErrorShape },
  ) => TShape,
): (opts: ErrorFormatterInput<TContext>) => TShape {
  return (opts) => formatter({ ...opts, shape: authErrorFormatter(opts) });
}
