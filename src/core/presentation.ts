/**
 * How a refusal is presented, in one place: the HTTP status, the `WWW-Authenticate` challenge(s)
 * (RFC 6750 3, RFC 9449 7.1, RFC 9728 5.1), the `DPoP-Nonce` header and the client view (JSON,
 * tRPC `data.auth`, GraphQL `extensions`), from the verifier's settings and what the request was.
 * An {@link AuthError} holds the facts only; the verifier that refused a request binds its
 * settings to the error (see {@link bindPresentation}), and every adapter renders through here.
 */
import type { AuthScheme } from './credentials.js';
import type { AuthError } from './errors.js';
import { type AuthErrorCode, type AuthErrorInfo, type AuthErrorReason, MESSAGE } from './reasons.js';

/** DPoP (RFC 9449) acceptance: `allowed` takes both schemes, `required` only DPoP. */
export type DpopMode = 'disabled' | 'allowed' | 'required';

/** The verifier's presentation settings. */
export interface PresentationSettings {
  /** `realm` of every challenge. */
  readonly realm: string;
  /** When false, every 401 reason but `missing_token` and `use_dpop_nonce` reads `invalid_token`. */
  readonly exposeReasons: boolean;
  /** RFC 9728 protected resource metadata URL, sent as `resource_metadata` on 401 challenges. */
  readonly resourceMetadata?: string | undefined;
  /** Which schemes are challenged: absent or `disabled` is Bearer only. */
  readonly dpop?: { readonly mode: DpopMode; readonly algorithms: readonly string[] } | undefined;
}

/** What the refused request was, as far as the rendering depends on it. */
export interface RequestFacts {
  /** The scheme the request used; the `error=` goes on that scheme's challenge. */
  readonly scheme?: AuthScheme | null | undefined;
  /** A fresh server nonce to send as `DPoP-Nonce` (on `use_dpop_nonce`, and on every DPoP response). */
  readonly dpopNonce?: string | undefined;
}

/** Settings plus the request facts: everything a rendering reads beside the error. */
export interface Presentation extends PresentationSettings, RequestFacts {}

export const DEFAULT_PRESENTATION: Presentation = Object.freeze({ realm: 'api', exposeReasons: true });

// RFC 6750 section 3: generic descriptions, so the header is no oracle.
const DESCRIPTION: Readonly<Record<AuthErrorCode, string>> = {
  BAD_REQUEST: 'The request is malformed',
  UNAUTHORIZED: 'The access token is invalid',
  FORBIDDEN: 'The access token does not grant sufficient access',
  SERVICE_UNAVAILABLE: 'The service is temporarily unavailable',
};

const bound = new WeakMap<object, Presentation>();

/**
 * Binds a verifier's presentation to an error it produced (or that an adapter met while serving a
 * request of that verifier), unless one is bound already: the first binder, closest to the
 * refusal, wins; `override` lets the request (which knows its scheme) replace its verifier's.
 * Returns the error, for `throw bindPresentation(...)`.
 */
export function bindPresentation<T>(error: T, presentation: Presentation, override = false): T {
  if (typeof error === 'object' && error !== null && (override || !bound.has(error))) {
    bound.set(error, presentation);
  }
  return error;
}

/** The presentation bound to an error, or the defaults. */
export function presentationOf(error: AuthError): Presentation {
  return bound.get(error) ?? DEFAULT_PRESENTATION;
}

/** The reason a client sees. `use_dpop_nonce` is never hidden: the client must act on it. */
export function publicReasonOf(error: AuthError, presentation: Presentation): AuthErrorReason {
  return !presentation.exposeReasons &&
    error.code === 'UNAUTHORIZED' &&
    error.reason !== 'missing_token' &&
    error.reason !== 'use_dpop_nonce'
    ? 'invalid_token'
    : error.reason;
}

/** The safe client view: no token contents, no library messages, no stack, no `detail`. */
export function renderClientView(error: AuthError, presentation: Presentation): AuthErrorInfo {
  const reason = publicReasonOf(error, presentation);
  const info: { -readonly [K in keyof AuthErrorInfo]: AuthErrorInfo[K] } = {
    code: error.code,
    reason,
    message: MESSAGE[reason],
  };
  if (error.requiredScopes) info.requiredScopes = error.requiredScopes;
  if (error.requirement && error.requirement.length > 1) info.anyOf = error.requirement;
  return info;
}

/** The RFC 6750 / RFC 9449 `error=` of a refusal, or undefined where none applies. */
function errorCodeOf(error: AuthError): string | undefined {
  switch (error.reason) {
    // RFC 6750 3.1: no error code when the request carried no credentials.
    case 'missing_token':
    // RFC 9449 7.1: a Bearer token where DPoP is required gets the bare DPoP challenge.
    case 'dpop_required':
      return undefined;
    case 'invalid_dpop_proof':
    case 'use_dpop_nonce':
      return error.reason;
  }
  switch (error.code) {
    case 'BAD_REQUEST':
      return 'invalid_request';
    case 'FORBIDDEN':
      return 'insufficient_scope';
    case 'UNAUTHORIZED':
      return 'invalid_token';
    case 'SERVICE_UNAVAILABLE':
      return undefined;
  }
}

/** Which scheme's challenge carries the `error=`: proof errors are DPoP's, others the request's. */
function errorScheme(
  error: AuthError,
  presentation: Presentation,
  schemes: readonly AuthScheme[],
): AuthScheme {
  if (error.reason === 'invalid_dpop_proof' || error.reason === 'use_dpop_nonce') return 'DPoP';
  const scheme = presentation.scheme;
  if (scheme && schemes.includes(scheme)) return scheme;
  return schemes[0] as AuthScheme;
}

function schemesOf(presentation: Presentation): readonly AuthScheme[] {
  switch (presentation.dpop?.mode) {
    case 'allowed':
      return ['Bearer', 'DPoP'];
    case 'required':
      return ['DPoP'];
    default:
      return ['Bearer'];
  }
}

/**
 * The challenges of a refusal, one per accepted scheme (Bearer, DPoP, or both in `allowed` mode),
 * the `error=` on one of them; none on 503 (the token was not judged).
 *
 * | reason | challenge carrying `error=` |
 * |---|---|
 * | `missing_token`, `dpop_required` | none: bare challenges |
 * | `invalid_dpop_proof`, `use_dpop_nonce` | `DPoP`, with that error |
 * | 400 | the request's scheme, `invalid_request` |
 * | other 401 (`invalid_token_binding` too) | the request's scheme, `invalid_token` |
 * | 403 | the request's scheme, `insufficient_scope` and `scope=` |
 */
export function renderChallenges(error: AuthError, presentation: Presentation): string[] {
  if (error.code === 'SERVICE_UNAVAILABLE') return [];
  const schemes = schemesOf(presentation);
  const code = errorCodeOf(error);
  const carrier = code === undefined ? undefined : errorScheme(error, presentation, schemes);
  return schemes.map((scheme) => {
    const params = [`realm="${quotable(presentation.realm)}"`];
    if (scheme === 'DPoP') params.push(`algs="${quotable((presentation.dpop?.algorithms ?? []).join(' '))}"`);
    if (scheme === carrier && code !== undefined) {
      params.push(`error="${code}"`, `error_description="${DESCRIPTION[error.code]}"`);
      if (error.code === 'FORBIDDEN' && error.requiredScopes && error.requiredScopes.length > 0) {
        params.push(`scope="${quotable(error.requiredScopes.join(' '))}"`);
      }
    }
    if (error.status === 401 && presentation.resourceMetadata !== undefined) {
      params.push(`resource_metadata="${quotable(presentation.resourceMetadata)}"`);
    }
    return `${scheme} ${params.join(', ')}`;
  });
}

/** The challenges as one `WWW-Authenticate` value (RFC 9110 11.6.1: a list), or undefined. */
export function renderChallenge(error: AuthError, presentation: Presentation): string | undefined {
  const challenges = renderChallenges(error, presentation);
  return challenges.length === 0 ? undefined : challenges.join(', ');
}

/**
 * Headers for a response that depended on the credentials: never cached by shared caches
 * (RFC 6750 5.3 / RFC 9111), varying on Authorization (and DPoP when it is accepted), the
 * challenge(s) of a refusal, and `DPoP-Nonce` when the request facts carry one.
 */
export function renderResponseHeaders(
  error: AuthError | null | undefined,
  presentation: Presentation = error ? presentationOf(error) : DEFAULT_PRESENTATION,
): Record<string, string> {
  const dpop = presentation.dpop !== undefined && presentation.dpop.mode !== 'disabled';
  const headers: Record<string, string> = {
    'cache-control': 'private, no-store',
    vary: dpop ? 'Authorization, DPoP' : 'Authorization',
  };
  const challenge = error ? renderChallenge(error, presentation) : undefined;
  if (challenge) headers['www-authenticate'] = challenge;
  if (presentation.dpopNonce !== undefined) headers['dpop-nonce'] = presentation.dpopNonce;
  return headers;
}

/** RFC 6750 section 3: attribute values use %x20-21 / %x23-5B / %x5D-7E only. */
function quotable(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}
