/**
 * The one error model of scopegate. Every failure a client can see is an {@link AuthError} with a
 * `code` (what the client should do) and a `reason` (why, stable for logs and clients). Adapters
 * map it to `TRPCError` codes and GraphQL `extensions.code` with the same names.
 */

/** Every {@link AuthErrorCode}, for runtime checks (e.g. in `scopegate/client`). */
export const AUTH_ERROR_CODES = ['UNAUTHORIZED', 'FORBIDDEN', 'BAD_REQUEST', 'SERVICE_UNAVAILABLE'] as const;

/** What the client should do: authenticate again, give up, fix its request, or retry later. */
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/** Every {@link AuthErrorReason}, for runtime checks. */
export const AUTH_ERROR_REASONS = [
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
  // Only in the client view, when `exposeReasons: false` collapses the 401 reasons.
  'invalid_token',
] as const;

/** Why the request was refused. Stable: clients and dashboards may switch on it. */
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

const STATUS: Readonly<Record<AuthErrorCode, 400 | 401 | 403 | 503>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
};

const CODE_OF: Readonly<Record<Exclude<AuthErrorReason, 'invalid_token'>, AuthErrorCode>> = {
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
const MESSAGE: Readonly<Record<AuthErrorReason, string>> = {
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

// RFC 6750 section 3: generic descriptions, so the header is no oracle.
const DESCRIPTION: Readonly<Record<AuthErrorCode, string>> = {
  BAD_REQUEST: 'The request is malformed',
  UNAUTHORIZED: 'The access token is invalid',
  FORBIDDEN: 'The access token does not grant sufficient access',
  SERVICE_UNAVAILABLE: 'The service is temporarily unavailable',
};

/** Options that shape how errors are presented; set once on the verifier. */
export interface ErrorPresentation {
  /** `realm` of the `WWW-Authenticate` challenge. @default 'api' */
  readonly realm: string;
  /** When false, every 401 reason but `missing_token` reads `invalid_token` in the client view. @default true */
  readonly exposeReasons: boolean;
}

export const DEFAULT_PRESENTATION: ErrorPresentation = Object.freeze({
  realm: 'api',
  exposeReasons: true,
});

/** Options of {@link AuthError}'s constructor. */
export interface AuthErrorOptions {
  readonly cause?: unknown;
  /** Alternatives that would satisfy the requirement (DNF), for `insufficient_scope`. */
  readonly requirement?: readonly (readonly string[])[];
  readonly presentation?: ErrorPresentation;
  /**
   * Server-only explanation (which segment, claim or check failed, expected vs actual). Never in
   * `toJSON()`, challenges, tRPC `data` or GraphQL `extensions`; for logs and `onRefusal`.
   */
  readonly detail?: string;
}

/**
 * A refused request. `code` tells the client what to do, `reason` tells why, `status` is the HTTP
 * status and `wwwAuthenticate` the RFC 6750 challenge (absent on 503). `cause` keeps the
 * underlying error for server logs; {@link AuthError.toJSON} never includes it.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  readonly reason: Exclude<AuthErrorReason, 'invalid_token'>;
  readonly status: 400 | 401 | 403 | 503;
  /** The scopes of the requirement's first alternative, on `insufficient_scope`. */
  readonly requiredScopes: readonly string[] | undefined;
  /** Every alternative of the requirement, on `insufficient_scope`. */
  readonly requirement: readonly (readonly string[])[] | undefined;
  /** Server-only explanation of the refusal; never sent to clients. */
  readonly detail: string | undefined;
  readonly #presentation: ErrorPresentation;

  constructor(reason: Exclude<AuthErrorReason, 'invalid_token'>, options: AuthErrorOptions = {}) {
    super(MESSAGE[reason], options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.code = CODE_OF[reason];
    this.status = STATUS[this.code];
    this.requirement = options.requirement;
    this.requiredScopes = options.requirement?.[0];
    this.detail = options.detail;
    this.#presentation = options.presentation ?? DEFAULT_PRESENTATION;
  }

  /** The RFC 6750 `WWW-Authenticate` challenge, or `undefined` for 503 (no challenge applies). */
  get wwwAuthenticate(): string | undefined {
    return challenge(this.code, this.reason, this.requiredScopes, this.#presentation.realm);
  }

  /** The reason a client sees: collapsed to `invalid_token` when `exposeReasons` is false. */
  get publicReason(): AuthErrorReason {
    return !this.#presentation.exposeReasons &&
      this.code === 'UNAUTHORIZED' &&
      this.reason !== 'missing_token'
      ? 'invalid_token'
      : this.reason;
  }

  /** The safe client view: no token contents, no library messages, no stack. */
  toJSON(): AuthErrorInfo {
    const reason = this.publicReason;
    const info: { -readonly [K in keyof AuthErrorInfo]: AuthErrorInfo[K] } = {
      code: this.code,
      reason,
      message: MESSAGE[reason],
    };
    if (this.requiredScopes) info.requiredScopes = this.requiredScopes;
    if (this.requirement && this.requirement.length > 1) info.anyOf = this.requirement;
    return info;
  }
}

/** True for an {@link AuthError}, optionally of one code. */
export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  return value instanceof AuthError && (code === undefined || value.code === code);
}

function challenge(
  code: AuthErrorCode,
  reason: AuthErrorReason,
  requiredScopes: readonly string[] | undefined,
  realmName: string,
): string | undefined {
  if (code === 'SERVICE_UNAVAILABLE') return undefined;
  const realm = `Bearer realm="${quotable(realmName)}"`;
  // RFC 6750 3.1: no error code when the request carried no credentials.
  if (reason === 'missing_token') return realm;
  const error =
    code === 'BAD_REQUEST'
      ? 'invalid_request'
      : code === 'FORBIDDEN'
        ? 'insufficient_scope'
        : 'invalid_token';
  const base = `${realm}, error="${error}", error_description="${DESCRIPTION[code]}"`;
  return requiredScopes && requiredScopes.length > 0
    ? `${base}, scope="${quotable(requiredScopes.join(' '))}"`
    : base;
}

/** RFC 6750 section 3: attribute values use %x20-21 / %x23-5B / %x5D-7E only. */
function quotable(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}
