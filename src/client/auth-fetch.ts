/**
 * createAuthFetch: a `fetch` that adds the access token (Bearer, or DPoP with a fresh proof per
 * request) and recovers from the few refusals a client can fix by itself, each at most once:
 * a DPoP nonce challenge, an expired token, an issuer outage (with backoff). Anything else is the
 * caller's response, untouched.
 */
import { judge } from './challenge.js';
import { assertKeyPair, type DpopKeyPair, proofFor } from './dpop.js';

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
type Token = string | null | undefined;

export interface AuthFetchOptions {
  /** The current access token; null or undefined sends the request without credentials. */
  readonly getToken: () => Token | Promise<Token>;
  /** Called once when a request is refused for an expired token; its token is used for one retry. */
  readonly refresh?: () => Token | Promise<Token>;
  /** Sender-constrained tokens: `Authorization: DPoP <token>` and a fresh proof per request. */
  readonly dpop?: { readonly keyPair: DpopKeyPair };
  /** The fetch to wrap. @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** Retries of a 503 `issuer_unavailable`. @default 2 (0 to 10) */
  readonly maxRetries?: number;
  /** Origins (besides the first request's) that may receive the token, e.g. `['https://api.example.com']`. */
  readonly origins?: readonly string[];
}

/**
 * The request options an {@link AuthFetch} reads: `RequestInit`, loosened so that each client's
 * own `fetch` type accepts it (tRPC's `RequestInitEsque` may pass `signal: undefined`).
 */
export interface AuthFetchInit {
  readonly method?: string | undefined;
  readonly headers?: HeadersInit | undefined;
  readonly body?: BodyInit | null | undefined;
  readonly signal?: AbortSignal | null | undefined;
}

/** A `fetch`: assignable to the `fetch` option of tRPC links, urql, graphql-request and Apollo's HttpLink. */
export type AuthFetch = (
  input: string | URL | Request,
  init?: RequestInit | AuthFetchInit,
) => Promise<Response>;

/** Longest wait a `Retry-After` may ask for; a longer one returns the 503 at once. */
const MAX_RETRY_AFTER_MS = 10_000;
/** Backoff without `Retry-After`: 250 ms, 500 ms, 1 s... */
const BASE_BACKOFF_MS = 250;
/** Origins whose `DPoP-Nonce` is remembered. */
const MAX_NONCES = 32;

function typeError(message: string): TypeError {
  return new TypeError(`scopegate/client: createAuthFetch ${message}`);
}

/** Milliseconds `Retry-After` asks for (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isStream(body: unknown): boolean {
  return (
    (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) ||
    (typeof body === 'object' && body !== null && Symbol.asyncIterator in body && !(body instanceof Blob))
  );
}

/**
 * A `fetch` for `@trpc/client` links, urql, graphql-request and Apollo's `HttpLink`.
 *
 * @example
 * ```ts
 * const authFetch = createAuthFetch({ getToken: () => store.accessToken, refresh: () => store.renew() });
 * const trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url, fetch: authFetch })] });
 * ```
 */
export function createAuthFetch(options: AuthFetchOptions): AuthFetch {
  if (typeof options !== 'object' || options === null) throw typeError('needs an options object');
  const { getToken, refresh, dpop, maxRetries = 2, origins = [] } = options;
  if (typeof getToken !== 'function') throw typeError('getToken must be a function returning the token');
  if (refresh !== undefined && typeof refresh !== 'function') throw typeError('refresh must be a function');
  if (dpop !== undefined) {
    if (typeof dpop !== 'object' || dpop === null) throw typeError('dpop must be { keyPair }');
    assertKeyPair(dpop.keyPair, 'dpop.keyPair');
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) {
    throw typeError('maxRetries must be an integer from 0 to 10');
  }
  if (!Array.isArray(origins)) throw typeError('origins must be an array of origins');
  const allowed = new Set<string>();
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(String(origin));
    } catch {}
    // An origin exactly (no path, no trailing slash): a typo must not widen or silently narrow the list.
    if (!parsed || parsed.origin === 'null' || parsed.origin !== origin) {
      throw typeError(`origins: ${JSON.stringify(origin)} is not an origin like "https://api.example.com"`);
    }
    allowed.add(parsed.origin);
  }
  const given: Fetch | undefined = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof given !== 'function') throw typeError('fetch must be a function (no global fetch here)');
  const baseFetch: Fetch = given;

  let pinned: string | undefined;
  const nonces = new Map<string, string>();
  const keyPair = dpop?.keyPair;

  function remember(origin: string, response: Response): void {
    const nonce = response.headers.get('dpop-nonce');
    if (!nonce || !keyPair) return;
    nonces.delete(origin);
    nonces.set(origin, nonce);
    if (nonces.size > MAX_NONCES) nonces.delete(nonces.keys().next().value as string);
  }

  return async function authFetch(input, init) {
    const template = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    const url = new URL(template ? template.url : String(input instanceof URL ? input.href : input), base);
    const method = (init?.method ?? template?.method ?? 'GET').toUpperCase();
    pinned ??= url.origin;
    const authorised = url.origin === pinned || allowed.has(url.origin);

    // A body we can send again, or not: a stream is consumed by the first attempt.
    const body = init?.body;
    const templateBody = init?.body === undefined && template?.body ? template : undefined;
    const replayable = !isStream(body);
    // A Request's own body is kept replayable by cloning it before each attempt but the last.
    let spare = templateBody?.clone();

    const headers = new Headers(template?.headers);
    new Headers(init?.headers).forEach((value, name) => {
      headers.set(name, value);
    });

    async function send(token: Token): Promise<Response> {
      const attemptHeaders = new Headers(headers);
      if (authorised && token) {
        if (keyPair) {
          attemptHeaders.set('authorization', `DPoP ${token}`);
          attemptHeaders.set('dpop', await proofFor(keyPair, url, method, token, nonces.get(url.origin)));
        } else {
          attemptHeaders.set('authorization', `Bearer ${token}`);
        }
      }
      let request: string | Request = url.href;
      if (templateBody) {
        request = spare ?? templateBody;
        spare = spare?.clone();
      } else if (template) {
        request = template;
      }
      const response = await baseFetch(request, {
        ...(init as RequestInit),
        method,
        headers: attemptHeaders,
      });
      if (authorised) remember(url.origin, response);
      return response;
    }

    let token = authorised ? await getToken() : undefined;
    let response = await send(token);
    if (!authorised || !replayable) return response;

    let nonceRetried = false;
    let refreshed = false;
    let unavailableRetries = 0;
    // Each kind of retry happens at most once (503: maxRetries times): at most 2 + maxRetries retries.
    for (;;) {
      const verdict = await judge(response, keyPair !== undefined);
      if (verdict === 'nonce' && !nonceRetried) {
        nonceRetried = true;
      } else if (verdict === 'expired' && refresh && !refreshed && token) {
        refreshed = true;
        const renewed = await refresh();
        if (!renewed || renewed === token) return response;
        token = renewed;
      } else if (verdict === 'unavailable' && unavailableRetries < maxRetries) {
        const asked = retryAfterMs(response.headers.get('retry-after'));
        if (asked !== undefined && asked > MAX_RETRY_AFTER_MS) return response;
        const delay = asked ?? BASE_BACKOFF_MS * 2 ** unavailableRetries;
        unavailableRetries++;
        await response.body?.cancel().catch(() => undefined);
        await sleep(delay, init?.signal ?? template?.signal);
        response = await send(token);
        continue;
      } else {
        return response;
      }
      await response.body?.cancel().catch(() => undefined);
      response = await send(token);
    }
  };
}
