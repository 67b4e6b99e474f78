/**
 * SHA-256 and HMAC-SHA-256 for DPoP: synchronous through `node:crypto` when the runtime has it,
 * Web Crypto elsewhere (core stays importable without `node:crypto`, as in engine.ts).
 */
import type * as NodeCrypto from 'node:crypto';
import { toBase64url } from '../bytes.js';

const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined;

const encoder = new TextEncoder();

/** base64url(SHA-256(UTF-8 of `text`)): the `ath` of a token, the replay key of a proof. */
export function sha256Base64url(text: string): string | Promise<string> {
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(text, 'utf8').digest('base64url');
  return globalThis.crypto.subtle
    .digest('SHA-256', encoder.encode(text))
    .then((digest) => toBase64url(new Uint8Array(digest)));
}

/** A keyed HMAC-SHA-256, base64url output. The key is imported once. */
export type Hmac = (text: string) => string | Promise<string>;

export function createHmac(secret: Uint8Array): Hmac {
  if (nodeCrypto) {
    const key = nodeCrypto.createSecretKey(secret);
    return (text) => nodeCrypto.createHmac('sha256', key).update(text, 'utf8').digest('base64url');
  }
  const { subtle } = globalThis.crypto;
  const key = subtle.importKey('raw', secret as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  // Awaited at each use; this keeps a failed import from being an unhandled rejection meanwhile.
  key.catch(() => undefined);
  return async (text) =>
    toBase64url(new Uint8Array(await subtle.sign('HMAC', await key, encoder.encode(text))));
}

/** Compares two strings in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
