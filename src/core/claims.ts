/**
 * Registered-claim validation (RFC 7519 4.1, RFC 9068 2.2), run only after the signature holds.
 * Every read goes through `Object.hasOwn`, so `__proto__` or inherited names never count.
 */
import { AuthError, type AuthRefusalReason } from './errors.js';

export interface ClaimRules {
  readonly audience: ReadonlySet<string>;
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
  readonly maxTokenLifetime: number | undefined;
  readonly requiredClaims: readonly string[];
  readonly strict: boolean;
}

/** Registered claims that must be strings when present (SECURITY.md #62). */
const STRING_CLAIMS = ['sub', 'client_id', 'jti'] as const;
/** RFC 9068 2.2: required in every JWT access token. */
const RFC9068_CLAIMS = ['sub', 'client_id', 'iat', 'jti'] as const;

function own(payload: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(payload, name) ? payload[name] : undefined;
}

function numericDate(payload: Readonly<Record<string, unknown>>, name: string): number | undefined | null {
  if (!Object.hasOwn(payload, name)) return undefined;
  const value = payload[name];
  // JSON.parse turns 1e400 into Infinity: a NumericDate must be finite.
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function fail(reason: AuthRefusalReason, detail: string): AuthError {
  return new AuthError(reason, { detail });
}

/** A value for `AuthError.detail`: JSON, cut at 80 characters (details are logged, keep them short). */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = typeof value;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A NumericDate for `AuthError.detail`: seconds and the ISO instant. */
function when(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : `${seconds} (${date.toISOString()})`;
}

function hasAudience(aud: unknown, accepted: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return accepted.has(aud);
  if (!Array.isArray(aud)) return false;
  let found = false;
  for (const value of aud) {
    if (typeof value !== 'string') return false;
    if (accepted.has(value)) found = true;
  }
  return found;
}

/**
 * Validates the registered claims of a verified payload. `now` is in seconds.
 * Plain loops on purpose: this runs once per token on the hot path.
 * @throws AuthError with the first failing reason
 */
export function validateClaims(
  payload: Readonly<Record<string, unknown>>,
  rules: ClaimRules,
  now: number,
): void {
  const exp = numericDate(payload, 'exp');
  const nbf = numericDate(payload, 'nbf');
  const iat = numericDate(payload, 'iat');
  if (exp === null || nbf === null || iat === null) {
    const name = exp === null ? 'exp' : nbf === null ? 'nbf' : 'iat';
    throw fail('invalid_claims', `${name}: expected a finite NumericDate, got ${shown(payload[name])}`);
  }
  for (const name of STRING_CLAIMS) {
    if (Object.hasOwn(payload, name) && typeof payload[name] !== 'string') {
      throw fail('invalid_claims', `${name}: expected a string, got ${typeof payload[name]}`);
    }
  }
  // exp is required by RFC 9068 2.2 and by default here (jose does not require it).
  for (const name of rules.requiredClaims) {
    if (!Object.hasOwn(payload, name))
      throw fail('invalid_claims', `${name}: required (requiredClaims), missing`);
  }
  if (rules.strict) {
    for (const name of RFC9068_CLAIMS) {
      if (!Object.hasOwn(payload, name))
        throw fail('invalid_claims', `${name}: required (strict, RFC 9068), missing`);
    }
  }
  const aud = own(payload, 'aud');
  if (!hasAudience(aud, rules.audience)) {
    throw fail('invalid_audience', `aud: expected ${shown([...rules.audience])}, got ${shown(aud)}`);
  }

  const tolerance = rules.clockTolerance;
  const at = `now ${when(now)}, clockTolerance ${tolerance}s`;
  if (exp !== undefined && exp <= now - tolerance)
    throw fail('token_expired', `exp: ${when(exp)} is past (${at})`);
  if (nbf !== undefined && nbf > now + tolerance) {
    throw fail('token_not_yet_valid', `nbf: ${when(nbf)} is in the future (${at})`);
  }
  // A future iat is refused whether or not maxTokenAge is set (jose checks it only with it).
  if (iat !== undefined && iat > now + tolerance) {
    throw fail('token_not_yet_valid', `iat: ${when(iat)} is in the future (${at})`);
  }
  if (rules.maxTokenAge !== undefined) {
    if (iat === undefined) throw fail('invalid_claims', 'iat: required (maxTokenAge), missing');
    if (now - iat - tolerance > rules.maxTokenAge) {
      throw fail(
        'token_too_old',
        `iat: ${when(iat)} is older than maxTokenAge ${rules.maxTokenAge}s (${at})`,
      );
    }
  }
  if (rules.maxTokenLifetime !== undefined) {
    if (exp === undefined || iat === undefined)
      throw fail('invalid_claims', 'exp, iat: required (maxTokenLifetime), missing');
    if (exp - iat > rules.maxTokenLifetime) {
      throw fail(
        'invalid_claims',
        `exp - iat: ${exp - iat}s, more than maxTokenLifetime ${rules.maxTokenLifetime}s`,
      );
    }
  }
  // A `cnf` (sender-constrained token) is judged per request, by the scheme it came with
  // (verifier.ts, request-auth.ts): never accepted as a bearer token (RFC 9449 7.2, RFC 8705 3).
}

/** RFC 9068 4: `at+jwt` or `application/at+jwt`, case-insensitively (RFC 7515 4.1.9). */
export function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const value = typ.toLowerCase();
  return value === 'at+jwt' || value === 'application/at+jwt';
}
