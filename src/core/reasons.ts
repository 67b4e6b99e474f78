/**
 * The vocabulary of refusals: codes, reasons (server and client side), the code and status of
 * each reason, fixed client messages, and the client view's shape. Facts only; no rendering.
 */
/** Every {@link AuthErrorCode}, for runtime checks (e.g. in `scopegate/client`). */
export const AUTH_ERROR_CODES = ['UNAUTHORIZED', 'FORBIDDEN', 'BAD_REQUEST', 'SERVICE_UNAVAILABLE'] as const;

/** What the client should do: authenticate again, give up, fix its request, or retry later. */
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/** Every reason an {@link AuthError} can carry (server side). */
const REFUSAL_REASONS = [
  'missing_token',
  'invalid_request',
  'malformed_token',
  'token_too_large',
  'unsupported_algorithm',
  'invalid_signature',
  'unknown_key',
  'token_expired',
  'token_not_yet_valid',
  'token_too_old',
  'invalid_issuer',
  'invalid_audience',
  'invalid_claims',
  'invalid_token_type',
  'insufficient_scope',
  'claim_check_failed',
  'issuer_unavailable',
  // DPoP (RFC 9449) and the replay store.
  'invalid_dpop_proof',
  'invalid_token_binding',
  'dpop_required',
  'use_dpop_nonce',
  'replay_store_unavailable',
] as const;

/** Why the server refused a request: the fact an {@link AuthError} carries, for logs and metrics. */
export type AuthRefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * Every {@link AuthErrorReason} a client can see, for runtime checks: the refusal reasons, and
 * `invalid_token`, which `exposeReasons: false` shows in place of the 401 reasons.
 */
export const AUTH_ERROR_REASONS = [...REFUSAL_REASONS, 'invalid_token'] as const;

/** Why the request was refused, as a client sees it. Stable: clients and dashboards may switch on it. */
export type AuthErrorReason = (typeof AUTH_ERROR_REASONS)[number];

/** The safe view of an {@link AuthError}: what may be sent to a client. */
export interface AuthErrorInfo {
  readonly code: AuthErrorCode;
  readonly reason: AuthErrorReason;
  readonly message: string;
  /** Scopes that would satisfy the requirement (its first alternative), on `insufficient_scope`. */
  readonly requiredScopes?: readonly string[];
  /** Every acceptable alternative, when the requirement has more than one. */
  readonly anyOf?: readonly (readonly string[])[];
}

export const STATUS: Readonly<Record<AuthErrorCode, 400 | 401 | 403 | 503>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
};

export const CODE_OF: Readonly<Record<AuthRefusalReason, AuthErrorCode>> = {
  missing_token: 'UNAUTHORIZED',
  invalid_request: 'BAD_REQUEST',
  malformed_token: 'UNAUTHORIZED',
  token_too_large: 'UNAUTHORIZED',
  unsupported_algorithm: 'UNAUTHORIZED',
  invalid_signature: 'UNAUTHORIZED',
  unknown_key: 'UNAUTHORIZED',
  token_expired: 'UNAUTHORIZED',
  token_not_yet_valid: 'UNAUTHORIZED',
  token_too_old: 'UNAUTHORIZED',
  invalid_issuer: 'UNAUTHORIZED',
  invalid_audience: 'UNAUTHORIZED',
  invalid_claims: 'UNAUTHORIZED',
  invalid_token_type: 'UNAUTHORIZED',
  insufficient_scope: 'FORBIDDEN',
  claim_check_failed: 'FORBIDDEN',
  issuer_unavailable: 'SERVICE_UNAVAILABLE',
  invalid_dpop_proof: 'UNAUTHORIZED',
  invalid_token_binding: 'UNAUTHORIZED',
  dpop_required: 'UNAUTHORIZED',
  use_dpop_nonce: 'UNAUTHORIZED',
  replay_store_unavailable: 'SERVICE_UNAVAILABLE',
};

// Messages are fixed strings: nothing from the token, the key set or a jose error reaches them.
export const MESSAGE: Readonly<Record<AuthErrorReason, string>> = {
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
};
