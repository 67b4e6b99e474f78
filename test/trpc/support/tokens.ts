/**
 * Issuers and verifiers for the tRPC tests: one trusted issuer, and look-alikes that sign tokens
 * the verifier must refuse for each reason.
 */
import { createVerifier, type VerifierOptions } from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';

export const AUDIENCE = 'https://api.example.test';

export const CHALLENGE = {
  missing: 'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
  invalidToken:
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
  invalidRequest:
    'Bearer realm="api", error="invalid_request", error_description="The request is malformed", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"',
  forbidden: (scope?: string) =>
    `Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access"${
      scope ? `, scope="${scope}"` : ''
    }, DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"`,
  /** 401-DP (SECURITY.md f): the bare Bearer challenge, then DPoP with the proof error. */
  invalidDpopProof:
    'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256", error="invalid_dpop_proof", error_description="The access token is invalid"',
} as const;

export const MESSAGE = {
  missing_token: 'Authentication required: send an access token as "Authorization: Bearer <token>"',
  invalid_request: 'The Authorization header is malformed',
  malformed_token: 'The access token is not a well-formed JWT',
  token_too_large: 'The access token is too large',
  unsupported_algorithm: 'The access token is signed with an algorithm that is not accepted',
  invalid_signature: 'The access token signature is invalid',
  unknown_key: 'The access token is signed with an unknown key',
  token_expired: 'The access token has expired',
  token_not_yet_valid: 'The access token is not valid yet',
  token_too_old: 'The access token was issued too long ago',
  invalid_issuer: 'The access token was issued by an issuer that is not accepted',
  invalid_audience: 'The access token is not intended for this API',
  invalid_claims: 'The access token claims are invalid',
  invalid_token_type: 'The token is not an access token that this API accepts',
  insufficient_scope: 'The access token does not grant the scopes this operation requires',
  claim_check_failed: 'The access token does not grant access to this operation',
  issuer_unavailable: 'The token issuer could not be reached; retry later',
  invalid_dpop_proof: 'The DPoP proof is invalid',
  invalid_token_binding: 'The access token is not bound to the key that presented it',
  dpop_required: 'This API requires DPoP-bound access tokens',
  use_dpop_nonce: 'The DPoP proof must carry the nonce the server provided',
  replay_store_unavailable: 'The service is temporarily unavailable; retry later',
  invalid_token: 'The access token is invalid',
} as const;

export interface Issuers {
  readonly trusted: TestIssuer;
  /** Same `iss` and `kid`, other key: its tokens have an invalid signature. */
  readonly impostor: TestIssuer;
  /** Same `iss`, ES256: an algorithm the verifier does not accept. */
  readonly es256: TestIssuer;
}

export async function createIssuers(): Promise<Issuers> {
  const trusted = await createTestIssuer({ audience: AUDIENCE });
  const impostor = await createTestIssuer({ audience: AUDIENCE, issuer: trusted.issuer });
  const es256 = await createTestIssuer({ audience: AUDIENCE, issuer: trusted.issuer, algorithm: 'ES256' });
  return { trusted, impostor, es256 };
}

/** The verifier under test: the trusted issuer, tokens at most an hour old. */
export function verifierFor(issuer: TestIssuer, extra: Partial<VerifierOptions> = {}) {
  return createVerifier({ ...issuer.verifierOptions, maxTokenAge: 3600, ...extra } as VerifierOptions);
}
