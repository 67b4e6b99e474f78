/**
 * Ed25519 public keys of small order. With such a key `A`, the signature R = identity, S = 0
 * satisfies the verification equation [S]B = R + [h]A for many or all messages (h·A is the
 * identity), so anyone can "sign" as that key: a proof carrying one proves possession of nothing.
 * Key sets can use the same check.
 */

// The y coordinates (little-endian, sign bit of x cleared) of every point of order 1, 2, 4 or 8,
// with the non-canonical encodings y = p and y = p + 1 (libsodium's `has_small_order` list).
const SMALL_ORDER_Y: readonly (readonly number[])[] = [
  // 0 (order 4)
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  // 1 (order 1: the identity)
  [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  // order 8
  [
    0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5,
    0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
  ],
  // order 8
  [
    0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a,
    0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
  ],
  // p - 1 (order 2), p (= 0, order 4), p + 1 (= 1, order 1)
  [0xec, ...new Array<number>(30).fill(0xff), 0x7f],
  [0xed, ...new Array<number>(30).fill(0xff), 0x7f],
  [0xee, ...new Array<number>(30).fill(0xff), 0x7f],
];

/**
 * True when `x` (the 32 octets of an Ed25519 JWK's `x`, RFC 8037) encodes a point of small order.
 * Lengths other than 32 are not Ed25519 keys at all and also answer true (refuse them).
 */
export function isSmallOrderEd25519(x: Uint8Array): boolean {
  if (x.length !== 32) return true;
  return SMALL_ORDER_Y.some((y) => {
    // The top bit is the sign of x: both points with this y are of small order.
    for (let i = 0; i < 31; i++) if (x[i] !== y[i]) return false;
    return ((x[31] as number) & 0x7f) === y[31];
  });
}
