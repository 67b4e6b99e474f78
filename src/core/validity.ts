/**
 * A verified token's validity window, computed once, from the signed payload (never from the
 * `claims` schema's output: a schema may transform `exp`). The token cache, `validUntil` (a
 * WebSocket context re-verifying, subscriptions ending) and expiry all read it from here.
 */

/** When a verified token stops being valid (ms since the epoch). */
export interface ValidityWindow {
  /**
   * The first instant a verification refuses it: the time checks of claims.ts (`exp` plus the
   * clock tolerance; `iat` plus tolerance plus `maxTokenAge`) solved for `now` (seconds floored there).
   */
  readonly until: number;
  /** `exp` (or `iat + maxTokenAge`) without the tolerance: a cached entry never outlives it. */
  readonly strictUntil: number;
}

export interface ValiditySettings {
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
}

/** The window of a payload whose time claims validateClaims accepted (`exp` is a number then). */
export function validityOf(
  payload: Readonly<Record<string, unknown>>,
  settings: ValiditySettings,
): ValidityWindow {
  const { clockTolerance, maxTokenAge } = settings;
  const exp = payload.exp as number;
  let until = Math.ceil(exp + clockTolerance) * 1000;
  let strictUntil = exp * 1000;
  if (maxTokenAge !== undefined) {
    const iat = payload.iat as number;
    until = Math.min(until, (Math.floor(iat + clockTolerance + maxTokenAge) + 1) * 1000);
    strictUntil = Math.min(strictUntil, (iat + maxTokenAge) * 1000);
  }
  return Object.freeze({ until, strictUntil });
}
