/**
 * `scopegate check`: why would the API accept or refuse this token? The verdict comes from the
 * library's own verifier (discovery, JWKS, verify); the step-by-step view decodes the token with
 * the same strict parser (core/jws.ts) and compares each part with what the verifier expects.
 * Nothing here prints the token or its signature: only the header parameters and the claims
 * that are checked.
 */
import { isAlgorithm } from '../core/algorithms.js';
import { isAccessTokenType } from '../core/claims.js';
import { AuthError } from '../core/errors.js';
import { type FetchLike, parseJsonBody, readCapped } from '../core/http.js';
import { decodeBase64url, parseCompactJws } from '../core/jws.js';
import type { VerifierOptions } from '../core/options.js';
import { grantedScopes } from '../core/scopes.js';
import { createVerifier } from '../core/verifier.js';
import type { CheckArgs } from './args.js';

/** Defaults of the verifier that the step view explains (core/options.ts). */
const DEFAULT_ALGORITHMS = ['RS256'] as const;
const DEFAULT_SCOPE_CLAIMS = ['scope', 'scp'] as const;
const CLOCK_TOLERANCE = 5;
const MAX_TOKEN_LENGTH = 8192;
/** How much of a fetched body is kept to explain it (the verifier caps what it reads at 64 KiB). */
const MAX_RECORDED_BYTES = 64 * 1024;

/** `skip`: not checked, an earlier step decided; `info`: shown, not a condition of acceptance. */
export type CheckStatus = 'pass' | 'fail' | 'skip' | 'info';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly expected?: string;
  readonly actual?: string;
  readonly note?: string;
}

export interface KeyInfo {
  readonly kid: string | null;
  readonly kty: string | null;
  readonly alg: string | null;
  readonly use: string | null;
  readonly crv: string | null;
}

export interface Verdict {
  readonly accepted: boolean;
  readonly status: 200 | 400 | 401 | 403 | 503;
  readonly code?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly challenge?: string;
  readonly detail?: string;
}

export interface CheckReport {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly algorithms: readonly string[];
  readonly jwksUri: string | null;
  readonly keys: readonly KeyInfo[];
  readonly checks: readonly Check[];
  readonly scopes: readonly string[] | null;
  readonly verdict: Verdict;
  readonly warnings: readonly string[];
}

/** The issuer's keys could not be obtained, or the options are wrong: exit 2, nothing verified. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  constructor(
    message: string,
    readonly causes: readonly string[],
  ) {
    super(message);
  }
}

interface Fetched {
  readonly url: string;
  readonly status: number;
  readonly body: unknown;
}

/** A fetch that lets the verifier's own requests through and keeps a copy of what came back. */
function recordingFetch(base: FetchLike, fetched: Fetched[]): FetchLike {
  return async (input, init) => {
    const response = await base(input, init);
    const copy = response.clone();
    fetched.push({ url: input, status: response.status, body: await readJson(copy, input) });
    return response;
  };
}

async function readJson(response: Response, url: string): Promise<unknown> {
  try {
    return parseJsonBody(await readCapped(response, MAX_RECORDED_BYTES, url), MAX_RECORDED_BYTES, url);
  } catch {
    // Too large or not JSON: the verifier's own fetch reports why; the record stays empty.
    return undefined;
  }
}

/** Messages of an error and its causes, outermost first (bounded). */
export function causeChain(error: unknown): string[] {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    if (current instanceof AggregateError) {
      for (const inner of current.errors.slice(0, 4)) out.push(...causeChain(inner).map((m) => `  ${m}`));
      break;
    }
    if (current instanceof Error) {
      if (!(current instanceof AuthError)) out.push(current.message);
      else if (current.detail) out.push(current.detail);
      current = current.cause;
    } else {
      out.push(String(current));
      break;
    }
  }
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function keyInfo(value: unknown): KeyInfo {
  const key = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const text = (name: string) => (typeof key[name] === 'string' ? (key[name] as string) : null);
  return { kid: text('kid'), kty: text('kty'), alg: text('alg'), use: text('use'), crv: text('crv') };
}

function relative(seconds: number, now: number): string {
  const delta = Math.round(seconds - now);
  const abs = Math.abs(delta);
  const span =
    abs < 120 ? `${abs} s` : abs < 7200 ? `${Math.round(abs / 60)} min` : `${(abs / 3600).toFixed(1)} h`;
  const when = Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : String(seconds);
  return delta === 0 ? `${when} (now)` : delta > 0 ? `${when} (in ${span})` : `${when} (${span} ago)`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why one JSON segment of the token is unreadable, or its object. */
function segmentObject(segment: string): { problem: string } | { value: Record<string, unknown> } {
  if (segment === '') return { problem: 'empty' };
  const bytes = decodeBase64url(segment);
  if (bytes === null) return { problem: 'not canonical base64url (padding, "+", "/", spaces or stray bits)' };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return { problem: 'not UTF-8 JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      problem: `JSON but not an object (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`,
    };
  }
  return { value: value as Record<string, unknown> };
}

/** Key type of each algorithm family (RS, PS, ES, Ed). */
const KEY_TYPE_OF: Readonly<Record<string, string>> = {
  RS: 'RSA',
  PS: 'RSA',
  ES: 'EC',
  Ed: 'OKP',
  HS: 'oct',
};
const JWE_PARAMETERS = ['enc', 'zip', 'epk', 'apu', 'apv', 'iv', 'tag', 'p2s', 'p2c'];
// Reasons the verifier gives only after the signature held (core/verifier.ts, claims.ts).
const AFTER_SIGNATURE = new Set([
  'token_expired',
  'token_not_yet_valid',
  'token_too_old',
  'invalid_audience',
  'invalid_claims',
]);

export interface CheckInput {
  readonly args: CheckArgs;
  readonly token: string;
  readonly fetch?: FetchLike;
  readonly now?: () => number;
}

/**
 * Builds the verifier the API would build, warms it up (discovery and JWKS, with the library's
 * own code), verifies the token and explains each step.
 * @throws SetupError when the options are invalid or the issuer's keys cannot be obtained
 */
export async function runCheck(input: CheckInput): Promise<CheckReport> {
  const { args, token } = input;
  const fetched: Fetched[] = [];
  const warnings: string[] = [];
  const algorithms = args.algorithms ?? DEFAULT_ALGORITHMS;
  const scopeClaims = args.scopeClaims ?? DEFAULT_SCOPE_CLAIMS;
  const issuer = args.domain !== undefined ? `https://${args.domain}/` : (args.issuer as string);
  const common = {
    audience: args.audience,
    algorithms,
    scopeClaims,
    strict: args.strict,
    allowInsecureLoopback: args.allowInsecureLoopback,
    fetch: recordingFetch(input.fetch ?? ((url, init) => fetch(url, init)), fetched),
    logger: {
      warn(message: string, details?: Readonly<Record<string, unknown>>) {
        const cause = details?.cause === undefined ? [] : causeChain(details.cause);
        warnings.push([message, ...cause].join(': '));
      },
    },
  };
  const options: VerifierOptions =
    args.domain !== undefined
      ? { ...common, domain: args.domain }
      : args.jwksUri !== undefined
        ? { ...common, issuer, jwksUri: args.jwksUri }
        : { ...common, issuer };

  let verifier: ReturnType<typeof createVerifier>;
  try {
    verifier = createVerifier(options);
  } catch (error) {
    throw new SetupError('invalid options', [error instanceof Error ? error.message : String(error)]);
  }
  try {
    await verifier.warmup();
  } catch (error) {
    throw new SetupError("the issuer's keys could not be obtained", setupCauses(error, issuer, fetched));
  }
  const jwksRecord = [...fetched].reverse().find((f) => f.status === 200 && hasKeys(f.body));
  const keys = jwksRecord ? (jwksRecord.body as { keys: unknown[] }).keys.map(keyInfo) : [];

  let verdict: Verdict;
  let verified: object | null = null;
  try {
    verified = await verifier.verify(token);
    verdict = { accepted: true, status: 200 };
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    verdict = {
      accepted: false,
      status: error.status,
      code: error.code,
      reason: error.reason,
      message: error.message,
      ...(error.wwwAuthenticate !== undefined ? { challenge: error.wwwAuthenticate } : {}),
      ...(error.detail !== undefined ? { detail: error.detail } : {}),
    };
  }

  const now = (input.now ?? Date.now)() / 1000;
  const checks = explain({ token, issuer, args, algorithms, keys, verdict, now });
  const payload = parseCompactJws(token)?.payload;
  const scopes = verified
    ? [...verifier.scopes(verified as never)]
    : payload
      ? [...grantedScopes(payload, scopeClaims)]
      : null;
  return {
    issuer,
    audience: args.audience,
    algorithms,
    jwksUri: jwksRecord?.url ?? null,
    keys,
    checks,
    scopes,
    verdict,
    warnings,
  };
}

function hasKeys(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Array.isArray((body as { keys?: unknown }).keys);
}

function setupCauses(error: unknown, issuer: string, fetched: readonly Fetched[]): string[] {
  const causes = causeChain(error);
  for (const record of fetched) {
    if (!/\/\.well-known\/(openid-configuration|oauth-authorization-server)/.test(record.url)) continue;
    const said = (record.body as { issuer?: unknown } | undefined)?.issuer;
    if (record.status === 200 && said !== issuer) {
      causes.push(
        `discovery: expected issuer ${show(issuer)}, the metadata at ${record.url} says ${show(said)}`,
      );
    }
  }
  for (const record of fetched) {
    if (record.status !== 200) causes.push(`${record.url} answered HTTP ${record.status}`);
  }
  return causes;
}

interface ExplainInput {
  readonly token: string;
  readonly issuer: string;
  readonly args: CheckArgs;
  readonly algorithms: readonly string[];
  readonly keys: readonly KeyInfo[];
  readonly verdict: Verdict;
  readonly now: number;
}

function explain({ token, issuer, args, algorithms, keys, verdict, now }: ExplainInput): Check[] {
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);

  add({
    name: 'length',
    status: token.length <= MAX_TOKEN_LENGTH ? 'pass' : 'fail',
    expected: `at most ${MAX_TOKEN_LENGTH} characters`,
    actual: `${token.length} characters`,
  });
  const parts = token.split('.');
  if (parts.length !== 3) {
    add({
      name: 'format',
      status: 'fail',
      expected: '3 dot-separated segments (header.payload.signature)',
      actual: `${parts.length} segment${parts.length === 1 ? '' : 's'}`,
      ...(parts.length === 5 ? { note: 'this looks like an encrypted JWE, which is never accepted' } : {}),
    });
    return checks;
  }
  add({ name: 'format', status: 'pass', expected: '3 segments', actual: '3 segments' });
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = segmentObject(headerSegment);
  const payload = segmentObject(payloadSegment);
  add(
    'problem' in header
      ? {
          name: 'header segment',
          status: 'fail',
          expected: 'base64url of a JSON object',
          actual: header.problem,
        }
      : { name: 'header segment', status: 'pass', actual: 'a JSON object' },
  );
  add(
    'problem' in payload
      ? {
          name: 'payload segment',
          status: 'fail',
          expected: 'base64url of a JSON object',
          actual: payload.problem,
        }
      : { name: 'payload segment', status: 'pass', actual: 'a JSON object' },
  );
  const signatureBytes = signatureSegment === '' ? null : decodeBase64url(signatureSegment);
  add(
    signatureBytes === null
      ? {
          name: 'signature segment',
          status: 'fail',
          expected: 'base64url, not empty',
          actual: signatureSegment === '' ? 'empty (an unsigned token)' : 'not canonical base64url',
        }
      : { name: 'signature segment', status: 'pass', actual: `${signatureBytes.byteLength} bytes` },
  );

  let signatureProven = verdict.accepted || AFTER_SIGNATURE.has(verdict.reason ?? '');
  if ('value' in header) {
    const h = header.value;
    const alg = Object.hasOwn(h, 'alg') ? h.alg : undefined;
    add({
      name: 'alg',
      status: isAlgorithm(alg) && algorithms.includes(alg) ? 'pass' : 'fail',
      expected: `one of ${algorithms.join(', ')}`,
      actual: show(alg),
      ...(typeof alg === 'string' && alg.toLowerCase() === 'none'
        ? { note: 'unsigned tokens are never accepted' }
        : {}),
    });
    const typ = Object.hasOwn(h, 'typ') ? h.typ : undefined;
    add(
      args.strict
        ? {
            name: 'typ',
            status: isAccessTokenType(typ) ? 'pass' : 'fail',
            expected: 'at+jwt (--strict, RFC 9068)',
            actual: show(typ),
          }
        : { name: 'typ', status: 'info', expected: 'any (not --strict)', actual: show(typ) },
    );
    const extra = ['crit', ...JWE_PARAMETERS].filter((name) => Object.hasOwn(h, name));
    const nested = typeof h.cty === 'string' && h.cty.toUpperCase() === 'JWT';
    add({
      name: 'header parameters',
      status: extra.length === 0 && !nested ? 'pass' : 'fail',
      expected: 'no crit, no JWE parameters, no nested JWT',
      actual: extra.length === 0 && !nested ? 'none' : [...extra, ...(nested ? ['cty: JWT'] : [])].join(', '),
    });
    const kid = Object.hasOwn(h, 'kid') ? h.kid : undefined;
    const listed = keys
      .map((k) => `${k.kid ?? '(no kid)'} ${k.kty ?? '?'}${k.alg ? ` ${k.alg}` : ''}`)
      .join('; ');
    const kty = typeof alg === 'string' ? KEY_TYPE_OF[alg.slice(0, 2)] : undefined;
    const matching = keys.filter(
      (k) =>
        (kid === undefined || k.kid === kid) &&
        (k.alg === null || k.alg === alg) &&
        (kty === undefined || k.kty === kty) &&
        k.use !== 'enc',
    );
    // The verifier's answer wins over this approximation (it also checks curves and key_ops).
    const found = verdict.reason === 'unknown_key' ? false : matching.length > 0 || signatureProven;
    add({
      name: 'kid',
      status: found ? 'pass' : 'fail',
      expected: `a key for ${show(alg)} in the key set (${keys.length} key${keys.length === 1 ? '' : 's'}: ${listed || 'none'})`,
      actual: kid === undefined ? '(absent: every key usable with the alg is tried)' : show(kid),
    });
  }
  if (
    verdict.reason === 'invalid_token_binding' &&
    'value' in payload &&
    Object.hasOwn(payload.value, 'cnf')
  ) {
    signatureProven = true;
  }
  add({
    name: 'signature',
    status: signatureProven ? 'pass' : verdict.reason === 'invalid_signature' ? 'fail' : 'skip',
    expected: 'verifies with a key of the issuer',
    actual: signatureProven
      ? 'valid'
      : verdict.reason === 'invalid_signature'
        ? 'does not verify with any matching key'
        : 'not checked: the verifier refused the token before the signature',
  });

  if (!('value' in payload)) return checks;
  const p = payload.value;
  const unverified = signatureProven ? {} : { note: 'read from an unverified payload' };
  const claim = (name: string) => (Object.hasOwn(p, name) ? p[name] : undefined);
  add({
    name: 'iss',
    status: claim('iss') === issuer ? 'pass' : 'fail',
    expected: show(issuer),
    actual: show(claim('iss')),
  });
  const aud = claim('aud');
  const audOk =
    typeof aud === 'string'
      ? args.audience.includes(aud)
      : Array.isArray(aud) &&
        aud.every((v) => typeof v === 'string') &&
        aud.some((v) => args.audience.includes(v as string));
  add({
    name: 'aud',
    status: audOk ? 'pass' : 'fail',
    expected: `contains one of ${args.audience.map((a) => show(a)).join(', ')}`,
    actual: show(aud),
    ...unverified,
  });
  const time = (name: 'exp' | 'nbf' | 'iat', required: boolean) => {
    const value = claim(name);
    if (value === undefined) {
      add({
        name,
        status: required ? 'fail' : 'info',
        expected: required ? 'present' : 'optional',
        actual: '(absent)',
        ...unverified,
      });
      return;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      add({
        name,
        status: 'fail',
        expected: 'a number (seconds since 1970)',
        actual: show(value),
        ...unverified,
      });
      return;
    }
    const ok = name === 'exp' ? value > now - CLOCK_TOLERANCE : value <= now + CLOCK_TOLERANCE;
    add({
      name,
      status: ok ? 'pass' : 'fail',
      expected:
        name === 'exp'
          ? `in the future (${CLOCK_TOLERANCE} s tolerance)`
          : `not in the future (${CLOCK_TOLERANCE} s tolerance)`,
      actual: relative(value, now),
      ...unverified,
    });
  };
  time('exp', true);
  time('nbf', false);
  time('iat', args.strict);
  if (args.strict) {
    const missing = ['sub', 'client_id', 'jti'].filter((name) => typeof claim(name) !== 'string');
    add({
      name: 'RFC 9068 claims',
      status: missing.length === 0 ? 'pass' : 'fail',
      expected: 'sub, client_id, jti as strings',
      actual: missing.length === 0 ? 'present' : `missing or not strings: ${missing.join(', ')}`,
      ...unverified,
    });
  }
  if (Object.hasOwn(p, 'cnf')) {
    add({
      name: 'cnf',
      status: 'fail',
      expected: 'absent (a bearer token)',
      actual: 'present: a sender-constrained (DPoP or mTLS) token is never accepted as a bearer token',
    });
  }
  return checks;
}
