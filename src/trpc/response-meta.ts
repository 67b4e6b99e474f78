/**
 * `authResponseMeta`: the HTTP side of auth for tRPC's `responseMeta` hook: the RFC 6750
 * challenge on refused calls, and no shared caching of responses that depended on credentials.
 */
import type { TRPCError } from '@trpc/server';
import type { AuthError } from '../core/errors.js';
import { answeringRefusal } from '../core/policy.js';
import { bindToRequest, presentationOfRequest } from '../core/request-auth.js';
import { authResponseHeaders, dpopNonceHeaders } from '../core/response.js';
import { accessRulesOf } from './access.js';
import { authErrorOf } from './errors.js';

/** What `responseMeta` receives (the parts this one reads). */
export interface AuthResponseMetaOptions {
  readonly ctx?: unknown;
  readonly errors: readonly TRPCError[];
  /** True when headers are sent before the results are known (SSE, streamed batches). */
  readonly eagerGeneration: boolean;
  readonly info?: { readonly calls: readonly { readonly procedure: unknown }[] } | undefined;
}

/** What `responseMeta` returns. */
export interface AuthResponseMeta {
  readonly status?: number;
  readonly headers?: Headers | Readonly<Record<string, string | string[]>>;
}

/** The refusal whose challenge the response carries: the core's one rule (see {@link authResponseMeta}). */
export function challengeError(errors: readonly TRPCError[]): AuthError | undefined {
  const refusal = answeringRefusal(errors.map(authErrorOf));
  // A 503 has no challenge: the token was not judged.
  return refusal?.status === 503 ? undefined : refusal;
}

function consultedAuth(opts: AuthResponseMetaOptions): boolean {
  const auth = (opts.ctx as { auth?: { consulted?: unknown } | null } | null | undefined)?.auth;
  if (auth?.consulted === true) return true;
  // Headers of a streamed response leave before the procedures run: judge by what they require.
  return (
    opts.eagerGeneration && (opts.info?.calls ?? []).some((call) => accessRulesOf(call.procedure).length > 0)
  );
}

/**
 * tRPC `responseMeta` for the HTTP adapters (standalone, node-http, express, fetch, next...):
 * - a response that consulted auth (any call read `ctx.auth`, or was refused by it) gets
 *   `Cache-Control: private, no-store` and `Vary: Authorization` (`, DPoP` when DPoP is
 *   enabled) (RFC 6750 5.3, RFC 9111), and a DPoP request's `DPoP-Nonce` when nonces are on;
 * - a response with a call refused with 400, 401 or 403 gets the RFC 6750 `WWW-Authenticate`
 *   challenge of that refusal. tRPC answers a batch with mixed results with 207; the challenge
 *   is sent then too (RFC 9110 11.6.1 allows it on any response). When several calls were
 *   refused, the challenge is that of the most basic problem: `invalid_request` (400) before
 *   `invalid_token` (401) before `insufficient_scope` (403), and the first in batch order among
 *   equals (a 503 only when every refusal is one: it has no challenge). Calls of one request share
 *   one verification, so their 400/401s are the same error. Yoga uses the same rule.
 * - 503 (`issuer_unavailable`) has no challenge: the token was not judged.
 *
 * Headers are returned as a `Headers` object, which tRPC appends to its own (its
 * `Vary: trpc-accept, accept` is kept). The status is left to tRPC. Streamed responses (SSE
 * subscriptions, `httpBatchStreamLink`) send headers before results: they get the caching
 * headers, and their errors travel in the stream with `data.auth`.
 *
 * @example
 * ```ts
 * createHTTPServer({ router: appRouter, createContext, responseMeta: authResponseMeta });
 * ```
 */
export function authResponseMeta(opts: AuthResponseMetaOptions): AuthResponseMeta {
  const auth = (opts.ctx as { auth?: unknown } | null | undefined)?.auth;
  const refusal = challengeError(opts.errors);
  if (refusal) bindToRequest(refusal, auth);
  if (!refusal && !consultedAuth(opts) && !opts.errors.some((error) => authErrorOf(error))) {
    const nonce = dpopNonceHeaders(auth);
    return Object.keys(nonce).length > 0 ? { headers: new Headers(nonce) } : {};
  }
  const headers = new Headers();
  // A refusal renders with the presentation bound to it; any other response with its request's
  // (`Vary: Authorization, DPoP`, and the `DPoP-Nonce` of a DPoP request, success included).
  const rendered = authResponseHeaders(refusal, refusal ? undefined : presentationOfRequest(auth));
  for (const [name, value] of Object.entries(rendered)) headers.set(name, value);
  return { headers };
}

/**
 * Composes {@link authResponseMeta} with your `responseMeta`: both sets of headers are sent
 * (yours appended after), and your status wins.
 *
 * @example
 * ```ts
 * responseMeta: withAuthResponseMeta(({ type, errors }) =>
 *   type === 'query' && errors.length === 0 ? { headers: { 'x-served-by': 'api' } } : {}),
 * ```
 */
export function withAuthResponseMeta<TOptions extends AuthResponseMetaOptions>(
  responseMeta: (opts: TOptions) => AuthResponseMeta,
): (opts: TOptions) => AuthResponseMeta {
  return (opts) => {
    const ours = authResponseMeta(opts);
    const theirs = responseMeta(opts);
    const headers = new Headers(ours.headers as Headers | undefined);
    appendHeaders(headers, theirs.headers);
    const status = theirs.status ?? ours.status;
    return status === undefined ? { headers } : { headers, status };
  };
}

function appendHeaders(target: Headers, source: AuthResponseMeta['headers']): void {
  if (!source) return;
  if (source instanceof Headers) {
    source.forEach((value, name) => {
      target.append(name, value);
    });
    return;
  }
  for (const [name, value] of Object.entries(source)) {
    for (const item of Array.isArray(value) ? value : [value]) target.append(name, item);
  }
}
