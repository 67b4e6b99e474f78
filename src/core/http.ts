/**
 * Bounded fetching of issuer metadata and key sets: a deadline that covers the body too, no
 * redirects, a byte cap read off the stream (jose has none, SECURITY.md #37), JSON only.
 */

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpLimits {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** Why key material could not be obtained. Kept as `cause` of `issuer_unavailable`, for logs. */
export class IssuerFetchError extends Error {
  override readonly name = 'IssuerFetchError';
  /**
   * A configuration mistake that retrying will not heal (a 404, a body that is not JSON, a
   * mismatching issuer, no usable key): logged once per issuer and cause, even without a logger.
   */
  readonly setupMistake: boolean;
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown; setupMistake?: boolean },
  ) {
    super(`${message} (${url})`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.setupMistake = options?.setupMistake ?? false;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a body of at most `maxBytes` from the stream (never trusting `content-length` alone). @throws IssuerFetchError */
export async function readCapped(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    // Release the connection now rather than when the unread body is collected.
    await response.body?.cancel().catch(() => {});
    throw new IssuerFetchError(`response larger than ${maxBytes} bytes`, url);
  }
  const body = response.body;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new IssuerFetchError(`response larger than ${maxBytes} bytes`, url);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Checks a response body as fetched, or as read back from a shared key cache (the same checks:
 * what a cache holds gets no more trust than the network): the byte cap, strict UTF-8, JSON.
 */
export function parseJsonBody(body: Uint8Array | string, maxBytes: number, url: string): unknown {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  if (bytes.byteLength > maxBytes) throw new IssuerFetchError(`response larger than ${maxBytes} bytes`, url);
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch (cause) {
    throw new IssuerFetchError('response is not JSON', url, { cause, setupMistake: true });
  }
}

/** GETs `url` and returns its JSON body, or throws {@link IssuerFetchError}. */
export async function fetchJson(url: string, limits: HttpLimits, signal?: AbortSignal): Promise<unknown> {
  return parseJsonBody(await fetchBody(url, limits, signal), limits.maxBytes, url);
}

/**
 * GETs `url` and returns its body (at most `maxBytes`), or throws {@link IssuerFetchError}.
 * `signal` (from `verifier.close()`) abandons the request.
 */
export async function fetchBody(url: string, limits: HttpLimits, signal?: AbortSignal): Promise<Uint8Array> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  // The race covers injected fetch implementations that ignore the abort signal.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new IssuerFetchError(`no complete response within ${limits.timeoutMs} ms`, url);
      controller.abort(error);
      reject(error);
    }, limits.timeoutMs);
    onAbort = () => {
      const error = new IssuerFetchError('the verifier was closed', url);
      controller.abort(error);
      reject(error);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  const exchange = (async () => {
    let response: Response;
    try {
      response = await limits.fetch(url, {
        method: 'GET',
        redirect: 'manual',
        signal: controller.signal,
        headers: { accept: 'application/json, application/jwk-set+json' },
      });
    } catch (cause) {
      throw cause instanceof IssuerFetchError
        ? cause
        : new IssuerFetchError('request failed', url, { cause });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      // 4xx (but timeouts and rate limits) is the URL or its access that is wrong, not an outage.
      const status = response.status;
      throw new IssuerFetchError(`expected 200 OK, got ${status}`, url, {
        setupMistake: status >= 300 && status < 500 && status !== 408 && status !== 429,
      });
    }
    return readCapped(response, limits.maxBytes, url);
  })();
  try {
    return await Promise.race([exchange, deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    exchange.catch(() => {});
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Whether a key or metadata URL may be used: `https:` only, or `http:` on loopback when
 * `allowInsecureLoopback` is set (tests and local development).
 */
export function isAllowedUrl(value: string, allowInsecureLoopback: boolean): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  return allowInsecureLoopback && url.protocol === 'http:' && LOOPBACK.has(url.hostname);
}
