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
// The whole compact form in one test: three non-empty base64url segments (no padding, no space).
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Node's SIMD ASCII check and latin1 decode (both exact on ASCII), where the runtime has them:
// JSON is nearly always ASCII, and the strict UTF-8 decoder is the costly part of a decode.
const nodeBuffer = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:buffer') as
  | { isAscii?: (bytes: Uint8Array) => boolean; Buffer: typeof Buffer }
  | undefined;
const isAscii = nodeBuffer?.isAscii;
const NodeBuffer = nodeBuffer?.Buffer;

/** Text of a JSON segment: ASCII fast, anything else through the strict (fatal) UTF-8 decoder. */
function textOf(bytes: Uint8Array): string {
  if (isAscii !== undefined && NodeBuffer !== undefined && bytes instanceof NodeBuffer && isAscii(bytes)) {
    return (bytes as Buffer).toString('latin1');
  }
  return utf8.decode(bytes);
}

/** Decodes a segment already known to be base64url characters only: the canonical checks. */
function decodeChecked(segment: string): Uint8Array | null {
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

/**
 * Decodes one base64url segment, refusing padding, foreign characters and non-canonical
 * encodings (unused low bits set): two encodings of one value would let a token be altered
 * without altering what it says (SECURITY.md #14, #15). Returns null when the segment is invalid.
 */
export function decodeBase64url(segment: string): Uint8Array | null {
  return BASE64URL.test(segment) ? decodeChecked(segment) : null;
}

function decodeJsonObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeChecked(segment);
  if (bytes === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(textOf(bytes));
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

// The last hit first: a string comparison is cheaper than hashing the segment for the Map.
let lastSegment = '';
let lastHeader: Readonly<Record<string, unknown>> | undefined;

function decodeHeader(segment: string): Readonly<Record<string, unknown>> | null {
  if (segment === lastSegment && lastHeader !== undefined) return lastHeader;
  let header: Readonly<Record<string, unknown>> | null | undefined = headerCache.get(segment);
  if (header === undefined) {
    header = decodeJsonObject(segment);
    if (header === null || segment.length > HEADER_CACHE_SEGMENT_MAX) return header;
    if (headerCache.size >= HEADER_CACHE_MAX) headerCache.clear();
    header = Object.freeze(header);
    headerCache.set(segment, header);
  }
  lastSegment = segment;
  lastHeader = header;
  return header;
}

/** Parses a compact JWS, or returns null when it is not exactly three strict, well-formed parts. */
export function parseCompactJws(token: string): ParsedJws | null {
  // One pass over the token checks every character; the segments are then decoded unchecked.
  // An empty signature is refused here: there is no unsecured JWS in this library.
  if (!COMPACT.test(token)) return null;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const header = decodeHeader(token.slice(0, first));
  if (header === null) return null;
  const payload = decodeJsonObject(token.slice(first + 1, second));
  if (payload === null) return null;
  const signature = decodeChecked(token.slice(second + 1));
  if (signature === null) return null;
  return {
    header,
    payload,
    signingInput: asciiBytes(token.slice(0, second)),
    signature,
  };
}
