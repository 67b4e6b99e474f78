/**
 * Why a token the strict parser refused is malformed: the cold path of a refusal, run only after
 * `parseCompactJws` returned null, so the hot path keeps its single pass. It names the segment
 * (structure, header, payload, signature) for `AuthError.detail`, and returns the header when it
 * decoded: `alg: none` with an empty signature is an unsupported algorithm, not a parse error.
 */
import { decodeBase64url } from './jws.js';

export interface MalformedDiagnosis {
  readonly detail: string;
  /** The protected header, when that segment is a well-formed JSON object. */
  readonly header: Readonly<Record<string, unknown>> | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function segmentProblem(segment: string, name: 'header' | 'payload'): string | Record<string, unknown> {
  if (segment === '') return `${name}: empty segment`;
  const bytes = decodeBase64url(segment);
  if (bytes === null)
    return `${name}: not strict base64url (padding, foreign characters or non-canonical bits)`;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return `${name}: not UTF-8`;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${name}: not JSON`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${name}: not a JSON object`;
  }
  return value as Record<string, unknown>;
}

/** Explains why `token` is not a strict compact JWS (call only when the parser refused it). */
export function diagnoseMalformed(token: string): MalformedDiagnosis {
  const parts = token.split('.');
  if (parts.length !== 3) {
    return { detail: `structure: ${parts.length} segments, a compact JWS has 3`, header: undefined };
  }
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = segmentProblem(headerSegment, 'header');
  if (typeof header === 'string') return { detail: header, header: undefined };
  const payload = segmentProblem(payloadSegment, 'payload');
  if (typeof payload === 'string') return { detail: payload, header };
  const detail =
    signatureSegment === ''
      ? 'signature: empty segment (unsecured JWS)'
      : 'signature: not strict base64url (padding, foreign characters or non-canonical bits)';
  return { detail, header };
}
