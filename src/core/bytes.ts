/**
 * Byte helpers that use Node's Buffer when the runtime has it (fast, native) and fall back to
 * web APIs elsewhere, so core runs on edge runtimes too.
 */

const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const encoder = new TextEncoder();

/** Decodes base64url that the caller has already checked to be strict and canonical. */
export const fromBase64url: (segment: string) => Uint8Array = NodeBuffer
  ? (segment) => NodeBuffer.from(segment, 'base64url')
  : (segment) => {
      const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'));
      const out = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
      return out;
    };

/** Encodes bytes as unpadded base64url. */
export const toBase64url: (bytes: Uint8Array) => string = NodeBuffer
  ? (bytes) => NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  : (bytes) => {
      let binary = '';
      for (const byte of bytes) binary += String.fromCharCode(byte);
      return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    };

/** The bytes of an ASCII string (token segments are ASCII once validated). */
export const asciiBytes: (text: string) => Uint8Array = NodeBuffer
  ? (text) => NodeBuffer.from(text, 'latin1')
  : (text) => encoder.encode(text);
