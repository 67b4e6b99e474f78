/**
 * The one mapping from scopegate's {@link AuthError} to tRPC's `TRPCError`. The names are the
 * same on both sides on purpose: a client switches on one vocabulary, whatever the transport.
 */
import { type TRPC_ERROR_CODE_KEY, TRPCError } from '@trpc/server';
import { AuthError, type AuthErrorCode } from '../core/errors.js';

/** `AuthError.code` -> `TRPCError` code. HTTP statuses follow from tRPC's own table (401/403/400/503). */
export const TRPC_CODE_OF: Readonly<Record<AuthErrorCode, TRPC_ERROR_CODE_KEY>> = Object.freeze({
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_REQUEST: 'BAD_REQUEST',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
});

/**
 * Wraps an {@link AuthError} in a `TRPCError` with the same code and the error as `cause`. The
 * message is the client-safe one (it honours the verifier's `exposeReasons`).
 *
 * Use it in your own middlewares when you call `ctx.auth` yourself.
 *
 * @example
 * ```ts
 * import { toTRPCError } from 'scopegate/trpc';
 * const claims = await ctx.auth.claims().catch((error) => { throw toTRPCError(error); });
 * ```
 * @returns the `TRPCError`, or the input unchanged when it is not an `AuthError`
 */
export function toTRPCError(error: AuthError): TRPCError;
export function toTRPCError(error: unknown): unknown;
export function toTRPCError(error: unknown): unknown {
  if (!(error instanceof AuthError)) return error;
  return new TRPCError({ code: TRPC_CODE_OF[error.code], message: error.toJSON().message, cause: error });
}

/** The {@link AuthError} behind a tRPC error (its `cause`), if any. */
export function authErrorOf(error: unknown): AuthError | undefined {
  if (error instanceof AuthError) return error;
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  return cause instanceof AuthError ? cause : undefined;
}

/** Runs an auth step and rethrows its {@link AuthError} as a `TRPCError`. */
export async function orTRPCError<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw toTRPCError(error);
  }
}
