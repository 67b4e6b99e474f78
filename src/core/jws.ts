/**
 * Strict parsing of a compact JWS (RFC 7515 section 7.1). The token is split and decoded once;
 * everything downstream reads the objects returned here, never a second parse (SECURITY.md #18).
 */

import { asciiBytes, fromBase64url } from './bytes.js';

/** A parsed compact JWS whose signature has not been checked yet. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** ASCII bytes of `base64url(header) "." base64url(payload)`: what the signature covers. */
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes one base64url segment, refusing padding, foreign characters and non-canonical
 * encodings (unused low bits set): two encodings of one value would let a token be altered
 * without altering what it says (SECURITY.md #14, #15). Returns null when the segment is invalid.
 */
export function decodeBase64url(segment: string): Uint8Array | null {
  if (!BASE64URL.test(segment)) return null;
  const rest = segment.length % 4;
  if (rest === 1) return null;
  if (rest !== 0) {
    const last = ALPHABET.indexOf(segment.charAt(segment.length - 1));
    // 2 chars carry 1 byte (4 spare bits), 3 chars carry 2 bytes (2 spare bits).
    const spare = rest === 2 ? 0b1111 : 0b11;
    if ((last & spare) !== 0) return null;
  }
  return fromBase64url(segment);
}

function decodeJsonObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeBase64url(segment);
  if (bytes === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

// Tokens of one issuer share a handful of headers: parsing each once saves a JSON.parse per token.
// Bounded, and the cached objects are frozen, so sharing them is safe.
const HEADER_CACHE_MAX = 64;
const HEADER_CACHE_SEGMENT_MAX = 512;
const headerCache = new Map<string, Readonly<Record<string, unknown>>>();

function decodeHeader(segment: string): Readonly<Record<string, unknown>> | null {
  const hit = headerCache.get(segment);
  if (hit) return hit;
  const header = decodeJsonObject(segment);
  if (header === null || segment.length > HEADER_CACHE_SEGMENT_MAX) return header;
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.clear();
  headerCache.set(segment, Object.freeze(header));
  return header;
}

/** Parses a compact JWS, or returns null when it is not exactly three strict, well-formed parts. */
export function parseCompactJws(token: string): ParsedJws | null {
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) !== -1) return null;
  const header = decodeHeader(token.slice(0, first));
  if (header === null) return null;
  const payload = decodeJsonObject(token.slice(first + 1, second));
  if (payload === null) return null;
  // An empty signature is refused here: there is no unsecured JWS in this library.
  const signature = decodeBase64url(token.slice(second + 1));
  if (signature === null) return null;
  return {
    header,
    payload,
    signingInput: asciiBytes(token.slice(0, second)),
    signature,
  };
}
