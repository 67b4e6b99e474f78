/**
 * What a response says about auth, read from its status and headers first (bodies may hide
 * reasons, and a body can be a stream the caller still has to read), the body only to tell
 * `token_expired` from other 401s and to recognise a 503 `issuer_unavailable`.
 */
import { getAuthError } from './recognise.js';

/** A refusal body is tiny; anything larger is not read (the caller keeps the whole response). */
const MAX_BODY_BYTES = 64 * 1024;
/** Items of a tRPC batch body looked at. */
const MAX_BATCH_ITEMS = 64;

/**
 * The `error` auth-params of every challenge in `WWW-Authenticate` (a DPoP server sends a `DPoP`
 * and a `Bearer` challenge). Tolerant: quoted or token values, any case for the name.
 */
export function challengeErrors(header: string | null): ReadonlySet<string> {
  const errors = new Set<string>();
  if (!header || header.length > 8192) return errors;
  const param = /(?:^|[\s,])error\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/gi;
  for (const match of header.matchAll(param)) {
    errors.add((match[1] ?? match[2] ?? '').replace(/\\(.)/g, '$1'));
  }
  return errors;
}

/** The `error_description` values, for RFC 6750 servers that say "expired" only there. */
function challengeDescriptions(header: string | null): string {
  if (!header || header.length > 8192) return '';
  const param = /(?:^|[\s,])error_description\s*=\s*"((?:[^"\\]|\\.)*)"/gi;
  return [...header.matchAll(param)].map((match) => match[1] ?? '').join(' ');
}

/** The first `MAX_BODY_BYTES` of a clone of `response`'s body, as JSON, or undefined. */
async function peekJson(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (!/\bjson\b/i.test(type) || !response.body) return undefined;
  const length = Number(response.headers.get('content-length'));
  if (length > MAX_BODY_BYTES) return undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    reader = response.clone().body?.getReader();
    if (!reader) return undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) return undefined;
      chunks.push(value);
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  } finally {
    reader?.cancel().catch(() => undefined);
  }
}

/** Every scopegate reason named in a body: tRPC (single or batch) or GraphQL. */
function bodyReasons(body: unknown): ReadonlySet<string> {
  const reasons = new Set<string>();
  const items = Array.isArray(body) ? body.slice(0, MAX_BATCH_ITEMS) : [body];
  for (const item of items) {
    const info = getAuthError(item);
    if (info) reasons.add(info.reason);
  }
  return reasons;
}

export type Verdict =
  /** 401 `use_dpop_nonce`: retry once with the `DPoP-Nonce` the response carries. */
  | 'nonce'
  /** 401 with an expired (or, as far as the server tells, possibly expired) token: refresh once. */
  | 'expired'
  /** 503 `issuer_unavailable` (or `replay_store_unavailable`): retry later. */
  | 'unavailable'
  /** Anything else: the response goes to the caller as it is. */
  | 'final';

/**
 * What to do with `response`. Only a WHOLE-request refusal is ever retried: the status itself is
 * 401 or 503 (a 207 batch, or a 200 with partial data, may hold a mutation that already ran).
 *
 * Expiry: a 401 whose challenge says `error="invalid_token"` and whose body either names
 * `token_expired`, names the collapsed `invalid_token` (`exposeReasons: false`), names no reason
 * at all (a tRPC API without `authErrorFormatter`, a body that is not JSON), or whose
 * `error_description` mentions "expired" (other RFC 6750 servers). A body naming another reason
 * (wrong audience, bad signature...) is final: a new token from the same place would not help.
 */
export async function judge(response: Response, dpop: boolean): Promise<Verdict> {
  if (response.status === 401) {
    const header = response.headers.get('www-authenticate');
    const errors = challengeErrors(header);
    if (dpop && errors.has('use_dpop_nonce') && response.headers.get('dpop-nonce')) return 'nonce';
    if (!errors.has('invalid_token')) return 'final';
    if (/expired/i.test(challengeDescriptions(header))) return 'expired';
    const reasons = bodyReasons(await peekJson(response));
    if (reasons.size === 0 || reasons.has('token_expired') || reasons.has('invalid_token')) return 'expired';
    return 'final';
  }
  if (response.status === 503) {
    const reasons = bodyReasons(await peekJson(response));
    if (reasons.has('issuer_unavailable') || reasons.has('replay_store_unavailable')) return 'unavailable';
  }
  return 'final';
}
