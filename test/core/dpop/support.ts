/**
 * Shared setup of the DPoP tests: settings, a request, and the refusal assertion (exact reason,
 * status and server-only detail; nothing of the proof in the client view).
 */
import { expect } from 'vitest';
import {
  type DpopProofOptions,
  type DpopProofRequest,
  dpopProofSettings,
  verifyDpopProof,
} from '../../../src/core/dpop/proof.js';
import type { AuthError } from '../../../src/core/errors.js';
import { authErrorOf } from '../../helpers/auth.js';

export const URL_ = 'https://api.example.test/trpc/post.create';
export const METHOD = 'POST';
export const now = () => Math.floor(Date.now() / 1000);

export function request(accessToken: string, overrides: Partial<DpopProofRequest> = {}): DpopProofRequest {
  return { method: METHOD, url: URL_, accessToken, now: now(), ...overrides };
}

export const settings = (options: DpopProofOptions = {}) => dpopProofSettings(options);

/** The refusal of `proof` for `req`, checked to be `reason` with a detail starting with `detail`. */
export async function refusal(
  proof: string,
  req: DpopProofRequest,
  reason: 'invalid_dpop_proof' | 'use_dpop_nonce',
  detail: string,
  options: DpopProofOptions = {},
): Promise<AuthError> {
  const error = await authErrorOf(verifyDpopProof(proof, req, settings(options)));
  expect({ reason: error.reason, status: error.status, code: error.code }).toEqual({
    reason,
    status: 401,
    code: 'UNAUTHORIZED',
  });
  expect(error.detail?.startsWith(detail), `detail "${error.detail}" starts with "${detail}"`).toBe(true);
  // The client view has no detail, and no detail repeats the proof or the token (#96).
  expect(Object.keys(error.toJSON())).toEqual(['code', 'reason', 'message']);
  expect(error.detail).not.toContain(req.accessToken);
  if (proof.length >= 20) expect(error.detail).not.toContain(proof.slice(0, 20));
  return error;
}
