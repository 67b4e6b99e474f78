/**
 * Assertions and probes shared by the core, interop and testing-kit tests.
 */
import { expect } from 'vitest';
import { AuthError, type StandardSchemaV1 } from '../../src/core/index.js';

/** The bare DPoP challenge beside the Bearer one (default `dpop.mode: 'allowed'`, RFC 9449 7.1). */
export const DPOP_CHALLENGE = 'DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';

/** The challenge of every 401 but `missing_token`, with the default realm and DPoP mode. */
export const INVALID_TOKEN = `Bearer realm="api", error="invalid_token", error_description="The access token is invalid", ${DPOP_CHALLENGE}`;

/** The AuthError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function authErrorOf(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

/** A 401 with this reason and the invalid_token challenge. */
export function expectUnauthorized(error: AuthError, reason: string): void {
  expect({ code: error.code, reason: error.reason, status: error.status }).toEqual({
    code: 'UNAUTHORIZED',
    reason,
    status: 401,
  });
  expect(error.wwwAuthenticate).toBe(INVALID_TOKEN);
}

/**
 * A Standard Schema that accepts any claims and counts how often it ran: a black-box probe of
 * how many verifications really happened (cache hits and memoized requests skip it).
 */
export function countingSchema(): StandardSchemaV1<Record<string, unknown>> & { runs: number } {
  const schema = {
    runs: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: (value: unknown) => {
        schema.runs++;
        return { value: value as Record<string, unknown> };
      },
    },
  };
  return schema;
}
