/**
 * A claims schema that counts its runs. The verifier validates the custom schema once per
 * verification, after the signature: the count is the number of verifications, read from the
 * real verifier (no wrapper, no mock).
 */
import type { StandardSchemaV1 } from '../../../src/core/index.js';

export interface CountingSchema extends StandardSchemaV1<Record<string, unknown>, Record<string, unknown>> {
  readonly verifications: () => number;
}

export function countingSchema(): CountingSchema {
  let count = 0;
  return {
    '~standard': {
      version: 1,
      vendor: 'scopegate-tests',
      validate: (value: unknown) => {
        count++;
        return { value: value as Record<string, unknown> };
      },
    },
    verifications: () => count,
  };
}
