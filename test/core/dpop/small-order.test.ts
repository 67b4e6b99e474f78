/**
 * The Ed25519 small-order table, checked with the curve's own arithmetic: every listed y decodes
 * to points P with [8]P = identity, and real keys are not in it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSmallOrderEd25519 } from '../../../src/core/dpop/small-order.js';

const p = 2n ** 255n - 19n;
const mod = (a: bigint) => ((a % p) + p) % p;
const pow = (base: bigint, exp: bigint): bigint => {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = mod(result * b);
    b = mod(b * b);
    e >>= 1n;
  }
  return result;
};
const inv = (a: bigint) => pow(a, p - 2n);
const d = mod(-121665n * inv(121666n));

type Point = readonly [bigint, bigint];
// Twisted Edwards addition, a = -1 (RFC 8032 5.1.4, affine form).
const add = ([x1, y1]: Point, [x2, y2]: Point): Point => {
  const t = mod(d * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
};

/** RFC 8032 5.1.3 decoding (y reduced mod p, as verifiers that accept y >= p do). */
function decode(bytes: Uint8Array): Point | null {
  let y = 0n;
  for (let i = 31; i >= 0; i--)
    y = (y << 8n) | BigInt(i === 31 ? (bytes[i] as number) & 0x7f : (bytes[i] as number));
  y = mod(y);
  const u = mod(y * y - 1n);
  const v = mod(d * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (p - 5n) / 8n));
  if (mod(v * x * x) !== u) x = mod(x * pow(2n, (p - 1n) / 4n));
  if (mod(v * x * x) !== u) return null;
  return [x, y];
}

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const LISTED = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  `ec${'ff'.repeat(30)}7f`,
  `ed${'ff'.repeat(30)}7f`,
  `ee${'ff'.repeat(30)}7f`,
];

describe('Ed25519 small-order keys', () => {
  it('every listed encoding (both signs of x) is a point of order dividing 8', () => {
    for (const encoding of LISTED) {
      for (const sign of [0, 0x80]) {
        const bytes = hex(encoding);
        bytes[31] = (bytes[31] as number) | sign;
        expect(isSmallOrderEd25519(bytes), encoding).toBe(true);
        const point = decode(bytes);
        expect(point, encoding).not.toBeNull();
        let q = point as Point;
        for (let i = 0; i < 3; i++) q = add(q, q);
        expect(q).toEqual([0n, 1n]);
      }
    }
  });

  it('real keys are not small-order; other lengths are refused', () => {
    for (let i = 0; i < 20; i++) {
      const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
      expect(isSmallOrderEd25519(Buffer.from(jwk.x as string, 'base64url'))).toBe(false);
    }
    expect(isSmallOrderEd25519(new Uint8Array(31))).toBe(true);
    expect(isSmallOrderEd25519(new Uint8Array(33))).toBe(true);
  });
});
