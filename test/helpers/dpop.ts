/**
 * Shared DPoP (RFC 9449) fixtures of the end-to-end tests: the exact challenges scopegate sends
 * (default realm and algorithms), the headers of a DPoP request signed by the testing kit's key,
 * a nonce secret, and a reader for responses (status, code, reason, challenge, nonce).
 */
import type { TestDpopKey } from '../../src/testing/index.js';

/** The default `dpop.algorithms`, as the `algs=` of the DPoP challenge lists them. */
export const DPOP_ALGS = 'ES256 EdDSA Ed25519 PS256 RS256';
const BEARER = 'Bearer realm="api"';
const DPOP = `DPoP realm="api", algs="${DPOP_ALGS}"`;
const INVALID = 'error_description="The access token is invalid"';

/**
 * `WWW-Authenticate` values. `allowed` mode (the default) challenges with both schemes, the
 * `error=` on the scheme it concerns; `required` mode with DPoP only.
 */
export const DPOP_CHALLENGES = {
  /** No credentials, `allowed` mode. */
  missing: `${BEARER}, ${DPOP}`,
  /** A proof check failed (or a replay). */
  invalidProof: `${BEARER}, ${DPOP}, error="invalid_dpop_proof", ${INVALID}`,
  /** Nonces on, the proof's nonce missing or stale. */
  useNonce: `${BEARER}, ${DPOP}, error="use_dpop_nonce", ${INVALID}`,
  /** A `cnf.jkt` token sent under `Bearer`: the Bearer challenge carries `invalid_token`. */
  bindingUnderBearer: `${BEARER}, error="invalid_token", ${INVALID}, ${DPOP}`,
  /** `required` mode, a Bearer token or no token: the bare DPoP challenge. */
  required: DPOP,
} as const;

/** A `DPoP-Nonce` value: RFC 9449 NQCHARs (no space, quote or backslash), long enough to be unguessable. */
export const NONCE_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]{16,}$/;

/** A nonce secret of 32+ bytes (the same on every instance of a fleet). */
export const NONCE_SECRET = 'the DPoP nonce secret of the e2e tests, 32+ bytes';

export interface DpopRequestOptions {
  readonly method: string;
  /** The URL the client addresses (the proof's `htu` drops its query and fragment). */
  readonly url: string;
  readonly token: string;
  readonly nonce?: string | undefined;
}

/** `Authorization: DPoP <token>` and a fresh proof for this method and URL. */
export async function dpopHeaders(
  key: TestDpopKey,
  options: DpopRequestOptions,
): Promise<Record<string, string>> {
  const proof = await key.proof({
    method: options.method,
    url: options.url,
    accessToken: options.token,
    ...(options.nonce !== undefined && { nonce: options.nonce }),
  });
  return { authorization: `DPoP ${options.token}`, dpop: proof };
}

/** What a client sees of a (GraphQL or tRPC) response: enough to assert every refusal exactly. */
export interface Seen {
  readonly status: number;
  readonly challenge: string | null;
  readonly nonce: string | null;
  readonly body: unknown;
}

export async function seen(response: Response): Promise<Seen> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (an SSE stream or a plain body): kept as text.
  }
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    nonce: response.headers.get('dpop-nonce'),
    body,
  };
}

/** The `{ code, reason }` of the first GraphQL error of a body, or undefined. */
export function graphqlAuthError(body: unknown): { code?: unknown; reason?: unknown } | undefined {
  const errors = (body as { errors?: { extensions?: { code?: unknown; reason?: unknown } }[] } | null)
    ?.errors;
  const extensions = errors?.[0]?.extensions;
  return extensions && { code: extensions.code, reason: extensions.reason };
}
