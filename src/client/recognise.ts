/**
 * getAuthError / isAuthError: find scopegate's client view (`{ code, reason, message, ... }`) in
 * whatever a client threw or returned, duck-typed, with no client library imported.
 *
 * The walk must never throw and must end quickly whatever it is given: error objects come from
 * other code (getters that throw, revoked proxies, cycles, an `errors` array holding the same
 * error thousands of times). So every read is guarded, every object is visited at most once, and
 * the number of objects visited is capped: the cost is bounded by {@link MAX_VISITS}, not by the
 * shape of the input.
 */
import {
  AUTH_ERROR_CODES,
  AUTH_ERROR_REASONS,
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthErrorReason,
} from '../core/reasons.js';

const CODES: ReadonlySet<string> = new Set(AUTH_ERROR_CODES);
const REASONS: ReadonlySet<string> = new Set(AUTH_ERROR_REASONS);

/** Error objects nest (cause chains, wrapped client errors) a few levels at most. */
const MAX_DEPTH = 6;
/** Objects visited per call, whatever the fan-out. */
const MAX_VISITS = 256;
/** Array items looked at per array. */
const MAX_ITEMS = 64;
/** Apollo 4's `ServerError.bodyText` is parsed only when this small (an auth refusal is tiny). */
const MAX_BODY_TEXT = 64 * 1024;

type Bag = object;

/** `value[key]`, or undefined when reading it throws (a getter, a revoked proxy). */
function read(value: Bag, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

function isArray(value: unknown): value is readonly unknown[] {
  try {
    return Array.isArray(value); // throws on a revoked proxy
  } catch {
    return false;
  }
}

function stringList(value: unknown): readonly string[] | undefined {
  if (!isArray(value) || value.length > MAX_ITEMS) return undefined;
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const item = read(value, String(i));
    if (typeof item !== 'string') return undefined;
    out.push(item);
  }
  return out;
}

/** Reads `{ code, reason, message?, requiredScopes?, anyOf? }`, or null when it is not ours. */
function infoOf(value: unknown, fallbackMessage: unknown): AuthErrorInfo | null {
  if (!isBag(value)) return null;
  const code = read(value, 'code');
  const reason = read(value, 'reason');
  if (typeof code !== 'string' || !CODES.has(code) || typeof reason !== 'string' || !REASONS.has(reason)) {
    return null;
  }
  const ownMessage = read(value, 'message');
  const message =
    typeof ownMessage === 'string' ? ownMessage : typeof fallbackMessage === 'string' ? fallbackMessage : '';
  const info: { -readonly [K in keyof AuthErrorInfo]: AuthErrorInfo[K] } = {
    code: code as AuthErrorCode,
    reason: reason as AuthErrorReason,
    message,
  };
  const requiredScopes = stringList(read(value, 'requiredScopes'));
  if (requiredScopes) info.requiredScopes = requiredScopes;
  const anyOf = read(value, 'anyOf');
  if (isArray(anyOf) && anyOf.length <= MAX_ITEMS) {
    const alternatives: (readonly string[])[] = [];
    for (let i = 0; i < anyOf.length; i++) {
      const alternative = stringList(read(anyOf, String(i)));
      if (!alternative) break;
      alternatives.push(alternative);
    }
    if (alternatives.length === anyOf.length) info.anyOf = alternatives;
  }
  return info;
}

/** JSON from Apollo 4's `ServerError.bodyText` (a whole-request refusal answered as application/json). */
function parsedBody(text: unknown): unknown {
  if (typeof text !== 'string' || text.length > MAX_BODY_TEXT) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

class Walk {
  private readonly seen = new Set<object>();
  private visits = 0;

  find(value: unknown, depth: number): AuthErrorInfo | null {
    if (depth > MAX_DEPTH || !isBag(value) || this.seen.has(value) || this.visits >= MAX_VISITS) return null;
    this.seen.add(value);
    this.visits++;
    if (isArray(value)) {
      const length = Math.min(Number(read(value, 'length')) || 0, MAX_ITEMS);
      for (let i = 0; i < length; i++) {
        const found = this.find(read(value, String(i)), depth + 1);
        if (found) return found;
      }
      return null;
    }
    const message = read(value, 'message');
    const data = read(value, 'data');
    const shape = read(value, 'shape');
    const response = read(value, 'response');
    const networkError = read(value, 'networkError');
    return (
      // tRPC: TRPCClientError.data.auth (authErrorFormatter), or its shape.
      (isBag(data) ? infoOf(read(data, 'auth'), message) : null) ??
      (isBag(shape) && isBag(read(shape, 'data'))
        ? infoOf(read(read(shape, 'data') as Bag, 'auth'), message)
        : null) ??
      // GraphQL: a GraphQLError or its JSON form.
      infoOf(read(value, 'extensions'), message) ??
      // A bare AuthErrorInfo (AuthError.toJSON()).
      infoOf(value, undefined) ??
      // Execution results and client wrappers: { errors }, Apollo 3 / urql graphQLErrors,
      // Apollo 4 CombinedGraphQLErrors.errors, graphql-request ClientError.response.errors.
      this.find(read(value, 'errors'), depth + 1) ??
      this.find(read(value, 'graphQLErrors'), depth + 1) ??
      (isBag(response) ? this.find(read(response, 'errors'), depth + 1) : null) ??
      // Whole-request refusals: Apollo 3 ApolloError.networkError (a ServerError whose `result`
      // is the parsed body), Apollo 4 ServerError (`bodyText`), a tRPC response body's `error`.
      this.find(networkError, depth + 1) ??
      this.find(read(value, 'result'), depth + 1) ??
      this.find(parsedBody(read(value, 'bodyText')), depth + 1) ??
      this.find(read(value, 'error'), depth + 1) ??
      this.find(read(value, 'cause'), depth + 1)
    );
  }
}

/**
 * The scopegate auth error carried by `error`, or null. Never throws; bounded time whatever the
 * object.
 *
 * @example
 * ```ts
 * import { getAuthError } from 'scopegate/client';
 * try { await trpc.orders.list.query(); } catch (error) {
 *   const auth = getAuthError(error);
 *   if (auth?.code === 'UNAUTHORIZED') await signIn();
 *   else if (auth?.code === 'FORBIDDEN') showMissingScopes(auth.requiredScopes);
 *   else if (auth?.code === 'SERVICE_UNAVAILABLE') retryLater(); // keep the token
 * }
 * ```
 */
export function getAuthError(error: unknown): AuthErrorInfo | null {
  try {
    return new Walk().find(error, 0);
  } catch {
    return null; // a Proxy trap we did not foresee: not an auth error we can read
  }
}

/** True when `error` carries a scopegate auth error (of `code`, when given). */
export function isAuthError(error: unknown, code?: AuthErrorCode): boolean {
  const info = getAuthError(error);
  return info !== null && (code === undefined || info.code === code);
}
