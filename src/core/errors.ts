/**
 * The one error model of scopegate. Every failure a client can see is an {@link AuthError} with a
 * `code` (what the client should do) and a `reason` (why, stable for logs and clients). Adapters
 * map it to `TRPCError` codes and GraphQL `extensions.code` with the same names.
 */
import { presentationOf, publicReasonOf, renderChallenge, renderClientView } from './presentation.js';
import {
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthErrorReason,
  type AuthRefusalReason,
  CODE_OF,
  MESSAGE,
  STATUS,
} from './reasons.js';

export {
  AUTH_ERROR_CODES,
  AUTH_ERROR_REASONS,
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthErrorReason,
  type AuthRefusalReason,
} from './reasons.js';

/** Options of {@link AuthError}'s constructor. */
export interface AuthErrorOptions {
  readonly cause?: unknown;
  /** Alternatives that would satisfy the requirement (DNF), for `insufficient_scope`. */
  readonly requirement?: readonly (readonly string[])[];
  /**
   * Server-only explanation (which segment, claim or check failed, expected vs actual). Never in
   * `toJSON()`, challenges, tRPC `data` or GraphQL `extensions`; for logs and `onRefusal`.
   */
  readonly detail?: string;
}

// Recognises AuthErrors across duplicated copies of the package (two versions in node_modules,
// or a bundle beside the package): `instanceof` fails there, the registered symbol does not.
const BRAND = Symbol.for('scopegate.AuthError');

/**
 * A refused request: the facts (`code`, `reason`, `status`, the requirement, `cause`, `detail`).
 * How it is presented to a client (challenge, client view) is the verifier's setting, rendered by
 * one module (`presentation.ts`); `wwwAuthenticate` and `toJSON()` render with the defaults.
 * `cause` and `detail` are for server logs only.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  readonly reason: AuthRefusalReason;
  readonly status: 400 | 401 | 403 | 503;
  /** The scopes of the requirement's first alternative, on `insufficient_scope`. */
  readonly requiredScopes: readonly string[] | undefined;
  /** Every alternative of the requirement, on `insufficient_scope`. */
  readonly requirement: readonly (readonly string[])[] | undefined;
  /** Server-only explanation of the refusal; never sent to clients. */
  readonly detail: string | undefined;
  declare readonly [BRAND]: true;

  constructor(reason: AuthRefusalReason, options: AuthErrorOptions = {}) {
    super(MESSAGE[reason], options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.code = CODE_OF[reason];
    this.status = STATUS[this.code];
    this.requirement = options.requirement;
    this.requiredScopes = options.requirement?.[0];
    this.detail = options.detail;
  }

  /**
   * The `WWW-Authenticate` value (absent on 503), rendered with the presentation of the verifier
   * that refused the request, else the defaults (realm "api").
   */
  get wwwAuthenticate(): string | undefined {
    return renderChallenge(this, presentationOf(this));
  }

  /** The reason a client sees (`invalid_token` for hidden 401 reasons when `exposeReasons` is false). */
  get publicReason(): AuthErrorReason {
    return publicReasonOf(this, presentationOf(this));
  }

  /** The safe client view: no token contents, no library messages, no stack, no `detail`. */
  toJSON(): AuthErrorInfo {
    return renderClientView(this, presentationOf(this));
  }
}

Object.defineProperty(AuthError.prototype, BRAND, { value: true });

/** True for an {@link AuthError} (of this copy of scopegate or another), optionally of one code. */
export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  const branded =
    value instanceof AuthError ||
    (typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true);
  return branded && (code === undefined || (value as AuthError).code === code);
}
