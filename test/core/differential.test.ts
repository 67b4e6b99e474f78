/**
 * Differential test against jose, the oracle (issue 2): thousands of deterministically generated
 * tokens (valid, mutated, re-signed, confused, with bad claims) go through scopegate (both
 * engines) and `jose.jwtVerify` with equivalent options, and must get the same accept/reject
 * decision. scopegate is stricter than jose on purpose in a few documented ways; each is a
 * predicate below, and every disagreement must be one jose accepts, scopegate rejects, and one of
 * those predicates explains.
 */
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError, createVerifier, type Verifier } from '../../src/core/index.js';

const NOW = 1_900_000_000; // seconds; Date is faked to it for both libraries
const TOLERANCE = 5;
const ISSUER = 'https://issuer.example.test/';
const AUDIENCE = 'https://api.example.test';
const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
const TOKENS = 3000;
const SEED = 0x5c09e6a7;
const MAX_TOKEN_LENGTH = 8192;

// --- deterministic choices --------------------------------------------------------------------

/** mulberry32: small, seeded, good enough to pick test cases reproducibly. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;

// --- keys and signing ---------------------------------------------------------------------------

type SignAlg = 'RS256' | 'RS384' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA' | 'Ed25519' | 'HS256';

interface Signer {
  readonly alg: SignAlg;
  readonly kid: string | undefined;
  readonly key: KeyObject | Buffer;
}

function signBytes(
  alg: SignAlg,
  key: KeyObject | Buffer,
  input: string,
  options: { der?: boolean; pssMaxSalt?: boolean } = {},
): Buffer {
  const data = Buffer.from(input, 'latin1');
  const k = key as KeyObject;
  switch (alg) {
    case 'RS256':
      return sign('sha256', data, k);
    case 'RS384':
      return sign('sha384', data, k);
    case 'PS256':
      return sign('sha256', data, {
        key: k,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: options.pssMaxSalt ? constants.RSA_PSS_SALTLEN_MAX_SIGN : 32,
      } as SignKeyObjectInput);
    case 'ES256':
      return sign('sha256', data, { key: k, dsaEncoding: options.der ? 'der' : 'ieee-p1363' });
    case 'ES384':
      return sign('sha384', data, { key: k, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
    case 'Ed25519':
      return sign(null, data, k);
    case 'HS256':
      return createHmac('sha256', key).update(data).digest();
  }
}

const b64 = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

function header(signer: Signer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const value: Record<string, unknown> = { alg: signer.alg, typ: 'JWT', ...extra };
  if (signer.kid !== undefined && !Object.hasOwn(extra, 'kid')) value.kid = signer.kid;
  for (const name of Object.keys(value)) if (value[name] === undefined) delete value[name];
  return value;
}

/** Signs exactly the given segment texts, so even odd encodings carry a valid signature. */
function signSegments(
  h: string,
  p: string,
  signer: Signer,
  options?: { der?: boolean; pssMaxSalt?: boolean },
): string {
  return `${h}.${p}.${b64(signBytes(signer.alg, signer.key, `${h}.${p}`, options))}`;
}

function token(signer: Signer, claims: unknown, extraHeader: Record<string, unknown> = {}): string {
  const p = typeof claims === 'string' ? b64(claims) : b64(JSON.stringify(claims));
  return signSegments(b64(JSON.stringify(header(signer, extraHeader))), p, signer);
}

interface Keys {
  readonly good: readonly Signer[];
  readonly rs: Signer;
  readonly es: Signer;
  readonly ed: Signer;
  /** Keys the verifier does not know, some reusing a known kid. */
  readonly outsiders: readonly Signer[];
  readonly jwks: { keys: Record<string, unknown>[] };
  readonly rsaPublicPem: string;
}

function makeKeys(): Keys {
  const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const [rs, ps, rsAny, rsOut] = [rsa(), rsa(), rsa(), rsa()];
  const [ec, ecOut] = [
    generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ];
  const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const [ed, edOut] = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')];
  const jwk = (pair: { publicKey: KeyObject }, kid: string, alg?: string) => ({
    ...pair.publicKey.export({ format: 'jwk' }),
    kid,
    ...(alg ? { alg } : {}),
    use: 'sig',
  });
  const signers = {
    rs: { alg: 'RS256', kid: 'rs', key: rs.privateKey },
    es: { alg: 'ES256', kid: 'es', key: ec.privateKey },
    ed: { alg: 'EdDSA', kid: 'ed', key: ed.privateKey },
  } as const;
  return {
    ...signers,
    good: [
      signers.rs,
      { alg: 'PS256', kid: 'ps', key: ps.privateKey },
      // One RSA key without `alg`: usable for RS256 and PS256 alike.
      { alg: 'RS256', kid: 'rsa-any', key: rsAny.privateKey },
      { alg: 'PS256', kid: 'rsa-any', key: rsAny.privateKey },
      signers.es,
      signers.ed,
      { alg: 'Ed25519', kid: 'ed', key: ed.privateKey },
    ],
    outsiders: [
      { alg: 'RS256', kid: 'rs', key: rsOut.privateKey },
      { alg: 'RS256', kid: 'unknown', key: rsOut.privateKey },
      { alg: 'ES256', kid: 'es', key: ecOut.privateKey },
      { alg: 'EdDSA', kid: 'ed', key: edOut.privateKey },
      { alg: 'ES384', kid: 'es384', key: ec384.privateKey },
      { alg: 'RS384', kid: 'rs', key: rs.privateKey },
    ],
    jwks: {
      keys: [
        jwk(rs, 'rs', 'RS256'),
        jwk(ps, 'ps', 'PS256'),
        jwk(rsAny, 'rsa-any'),
        jwk(ec, 'es', 'ES256'),
        jwk(ed, 'ed'),
        jwk(ec384, 'es384', 'ES384'),
      ],
    },
    rsaPublicPem: createPublicKey(rs.privateKey).export({ format: 'pem', type: 'spki' }) as string,
  };
}

// --- token generators ---------------------------------------------------------------------------

function validClaims(): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: random() < 0.3 ? ['https://other.example.test', AUDIENCE] : AUDIENCE,
    sub: `user-${int(1000)}`,
    iat: NOW - int(600),
    exp: NOW + 1 + int(3600),
    jti: `jti-${int(1_000_000)}`,
    scope: 'read write',
  };
  if (random() < 0.3) claims.nbf = NOW - int(60);
  if (random() < 0.2) claims.client_id = 'client-1';
  return claims;
}

const seg = (t: string) => t.split('.');

function flipBit(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  if (copy.length === 0) return copy;
  const index = int(copy.length);
  copy[index] = (copy[index] as number) ^ (1 << int(8));
  return copy;
}

/** Makes a canonical base64url segment non-canonical: same bytes, stray low bits set. */
function strayBits(segment: string): string | null {
  const rest = segment.length % 4;
  if (rest === 0) return null;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(segment.slice(-1));
  return `${segment.slice(0, -1)}${alphabet[last | (rest === 2 ? 0b0001 : 0b01)]}`;
}

const padded = (segment: string) => segment + '='.repeat((4 - (segment.length % 4)) % 4);

type Generator = (keys: Keys) => string;

const GENERATORS: Readonly<Record<string, readonly [weight: number, Generator]>> = {
  valid: [5, (k) => token(pick(k.good), validClaims(), pick([{}, { typ: undefined }, { typ: 'at+jwt' }]))],

  timeBoundaries: [
    4,
    (k) => {
      const claims = validClaims();
      const offset = int(17) - 8 + pick([0, 0, 0, 0.5]);
      const which = pick(['exp', 'nbf', 'iat', 'iatFar'] as const);
      if (which === 'exp') claims.exp = NOW - TOLERANCE + offset;
      else if (which === 'nbf') claims.nbf = NOW + TOLERANCE + offset;
      else if (which === 'iat') claims.iat = NOW + TOLERANCE + offset;
      else claims.iat = NOW + 3600;
      return token(pick(k.good), claims);
    },
  ],

  claimTypes: [
    3,
    (k) => {
      const claims = validClaims();
      const name = pick(['exp', 'nbf', 'iat']);
      const value = pick<unknown>([
        '9999999999',
        null,
        true,
        [],
        {},
        1e308,
        -1,
        0,
        2.5e9 + 0.25,
        'now',
        'INF',
        'NEGINF',
      ]);
      claims[name] = value;
      if (random() < 0.2) delete claims.exp;
      // 1e400 and -1e400 parse to ±Infinity: JSON.stringify cannot write them, so write the text.
      const json = JSON.stringify(claims).replace('"INF"', '1e400').replace('"NEGINF"', '-1e400');
      return token(pick(k.good), json);
    },
  ],

  issuer: [
    2,
    (k) => {
      const claims = validClaims();
      claims.iss = pick<unknown>([
        'https://evil.example.test/',
        'https://issuer.example.test',
        'https://ISSUER.example.test/',
        [ISSUER],
        ['https://evil/', ISSUER],
        null,
        undefined,
        42,
        ISSUER,
      ]);
      return token(pick(k.good), claims);
    },
  ],

  audience: [
    3,
    (k) => {
      const claims = validClaims();
      claims.aud = pick<unknown>([
        'https://another-api.example.test',
        [],
        undefined,
        null,
        [123],
        [AUDIENCE, 123],
        [null, AUDIENCE],
        ['https://other.example.test'],
        'https://api.example.test.evil',
        'https://api.example.test/x',
        { aud: AUDIENCE },
        [[AUDIENCE]],
        AUDIENCE,
        [AUDIENCE, AUDIENCE],
      ]);
      return token(pick(k.good), claims);
    },
  ],

  registeredStrings: [
    2,
    (k) => {
      const claims = validClaims();
      const name = pick(['sub', 'client_id', 'jti', 'cnf', 'scope']);
      claims[name] =
        name === 'cnf'
          ? pick([{ jkt: 'abc' }, { 'x5t#S256': 'abc' }, null])
          : pick<unknown>([1, {}, [], null, true, 'ok']);
      return token(pick(k.good), claims);
    },
  ],

  payloadShape: [
    2,
    (k) => {
      const signer = pick(k.good);
      const json = JSON.stringify(validClaims());
      const raw = pick<string | Uint8Array>([
        '[]',
        '"claims"',
        '42',
        'null',
        'true',
        '',
        '{',
        `\uFEFF${json}`,
        `${json} `,
        ` ${json}`,
        json.replace('"read write"', '"read \\ud800 write"'),
        Buffer.concat([Buffer.from(json.slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]),
        Buffer.concat([
          Buffer.from(json.slice(0, -1)),
          Buffer.from([0x2c, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
        ]),
      ]);
      const bomHeader = random() < 0.2;
      const h = bomHeader
        ? b64(`\uFEFF${JSON.stringify(header(signer))}`)
        : b64(JSON.stringify(header(signer)));
      return signSegments(h, b64(raw), signer);
    },
  ],

  headerParameters: [
    4,
    (k) => {
      const signer = pick(k.good);
      const extra = pick<Record<string, unknown>>([
        { crit: ['b64'], b64: true },
        { crit: ['b64'], b64: false },
        { crit: ['exp'], exp: 1 },
        { crit: ['x-unknown'] },
        { crit: [] },
        { crit: 'b64' },
        { crit: ['b64', 'b64'], b64: true },
        { b64: false },
        { enc: 'A256GCM' },
        { zip: 'DEF' },
        { p2c: 2147483647, p2s: 'c2FsdA' },
        { epk: { kty: 'EC' } },
        { iv: 'aXY', tag: 'dGFn' },
        { cty: 'JWT' },
        { cty: 'jwt' },
        { cty: 'application/json' },
        { kid: undefined },
        { kid: 'nope' },
        { kid: 123 },
        { kid: null },
        { kid: ['rs'] },
        { kid: '../../../../dev/null' },
        { jku: 'https://evil.example.test/jwks' },
        { x5u: 'https://evil.example.test/cert' },
        { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
        { x5c: ['MIIB'] },
        { typ: 'at+jwt' },
        { typ: 'dpop+jwt' },
        { typ: 5 },
        { alg: 'none' },
        { alg: 'HS256' },
        { alg: signer.alg.toLowerCase() },
        { alg: undefined },
        { alg: ['RS256'] },
        { alg: 'RS384' },
      ]);
      const h = header(signer, extra);
      // The header is what `extra` says, signed with the signer's real algorithm.
      return signSegments(b64(JSON.stringify(h)), b64(JSON.stringify(validClaims())), signer);
    },
  ],

  encoding: [
    3,
    (k) => {
      const signer = pick(k.good);
      let h = b64(JSON.stringify(header(signer)));
      let p = b64(JSON.stringify(validClaims()));
      const variant = pick([
        'padHeader',
        'padPayload',
        'strayHeader',
        'strayPayload',
        'padSig',
        'straySig',
        'spaceSig',
        'stdAlphabet',
        'spaceInside',
      ]);
      if (variant === 'padHeader') h = padded(h);
      if (variant === 'padPayload') p = padded(p);
      if (variant === 'strayHeader') h = strayBits(h) ?? `${h}=`;
      if (variant === 'strayPayload') p = strayBits(p) ?? `${p}=`;
      if (variant === 'stdAlphabet')
        p = Buffer.from(JSON.stringify(validClaims())).toString('base64').replace(/=+$/, '');
      if (variant === 'spaceInside') p = `${p.slice(0, 8)} ${p.slice(8)}`;
      const signed = signSegments(h, p, signer);
      const [sh, sp, sig] = seg(signed) as [string, string, string];
      if (variant === 'padSig') return `${sh}.${sp}.${padded(sig)}`;
      if (variant === 'straySig') return `${sh}.${sp}.${strayBits(sig) ?? `${sig}=`}`;
      if (variant === 'spaceSig') return `${sh}.${sp}.${sig.slice(0, 10)} ${sig.slice(10)}`;
      return signed;
    },
  ],

  bitFlip: [
    4,
    (k) => {
      const parts = seg(token(pick(k.good), validClaims()));
      const index = int(3);
      parts[index] = b64(flipBit(Buffer.from(parts[index] as string, 'base64url')));
      return parts.join('.');
    },
  ],

  textFlip: [
    2,
    (k) => {
      const t = token(pick(k.good), validClaims());
      const index = int(t.length);
      const flipped = String.fromCharCode(t.charCodeAt(index) ^ (1 << int(7)));
      return t.slice(0, index) + flipped + t.slice(index + 1);
    },
  ],

  structure: [
    3,
    (k) => {
      const t = token(pick(k.good), validClaims());
      const other = token(pick(k.good), validClaims());
      const [h, p, s] = seg(t) as [string, string, string];
      const [oh, op, os] = seg(other) as [string, string, string];
      return pick([
        `${p}.${h}.${s}`,
        `${h}.${p}.${os}`,
        `${oh}.${p}.${s}`,
        `${h}.${op}.${s}`,
        `${h}.${p}.`,
        `${h}.${p}`,
        `${h}.${p}.${s}.`,
        `${h}.${p}.${s}.${s}`,
        `${h}..${s}`,
        `.${p}.${s}`,
        `${h}.${p}.${s.slice(0, -1 - int(8))}`,
        t.slice(0, int(t.length)),
        `${h}.${p}.${s}${s.slice(0, 4)}`,
        `${h}.${p}.${os.slice(0, 1)}${s.slice(1)}`,
        '',
        t,
      ]);
    },
  ],

  resigned: [
    3,
    (k) => {
      const claims = validClaims();
      const variant = pick([
        'outsider',
        'algSwap',
        'hsConfusion',
        'hsJwk',
        'none',
        'der',
        'highS',
        'pssMaxSalt',
        'edAsEs',
      ]);
      if (variant === 'outsider') return token(pick(k.outsiders), claims);
      if (variant === 'algSwap') {
        // Signed with one algorithm, labelled with another the same key could serve.
        const signer = pick(k.good);
        const label = pick(ALGORITHMS);
        return signSegments(
          b64(JSON.stringify(header(signer, { alg: label }))),
          b64(JSON.stringify(claims)),
          signer,
        );
      }
      if (variant === 'hsConfusion') {
        const signer: Signer = {
          alg: 'HS256',
          kid: pick(['rs', undefined]),
          key: Buffer.from(k.rsaPublicPem),
        };
        return token(signer, claims);
      }
      if (variant === 'hsJwk') {
        const n = k.jwks.keys[0]?.n as string;
        return token({ alg: 'HS256', kid: 'rs', key: Buffer.from(n, 'base64url') }, claims);
      }
      if (variant === 'none') {
        return `${b64(JSON.stringify({ alg: pick(['none', 'None', 'NONE']), typ: 'JWT' }))}.${b64(JSON.stringify(claims))}.`;
      }
      if (variant === 'der') {
        return signSegments(b64(JSON.stringify(header(k.es))), b64(JSON.stringify(claims)), k.es, {
          der: true,
        });
      }
      if (variant === 'pssMaxSalt') {
        const ps = k.good[1] as Signer;
        return signSegments(b64(JSON.stringify(header(ps))), b64(JSON.stringify(claims)), ps, {
          pssMaxSalt: true,
        });
      }
      if (variant === 'edAsEs') {
        return signSegments(
          b64(JSON.stringify(header(k.ed, { alg: 'ES256', kid: 'es' }))),
          b64(JSON.stringify(claims)),
          k.ed,
        );
      }
      // ECDSA malleability: (r, n - s) is also valid; JOSE does not require low S.
      const [h, p, s] = seg(token(k.es, claims)) as [string, string, string];
      const raw = Buffer.from(s, 'base64url');
      const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
      const high = n - BigInt(`0x${raw.subarray(32).toString('hex')}`);
      const sBytes = Buffer.from(high.toString(16).padStart(64, '0'), 'hex');
      return `${h}.${p}.${b64(Buffer.concat([raw.subarray(0, 32), sBytes]))}`;
    },
  ],

  oversized: [
    1,
    (k) => token(pick(k.good), { ...validClaims(), padding: 'x'.repeat(MAX_TOKEN_LENGTH - 700 + int(1400)) }),
  ],
};

function generate(keys: Keys, count: number): { category: string; token: string }[] {
  const table = Object.entries(GENERATORS);
  const total = table.reduce((sum, [, [weight]]) => sum + weight, 0);
  const out: { category: string; token: string }[] = [];
  for (let i = 0; i < count; i++) {
    let roll = random() * total;
    let chosen = table[0] as (typeof table)[number];
    for (const entry of table) {
      roll -= entry[1][0];
      chosen = entry;
      if (roll < 0) break;
    }
    const [category, [, generator]] = chosen;
    out.push({ category, token: generator(keys) });
  }
  return out;
}

// --- documented strictness: "scopegate rejects, jose accepts" -----------------------------------

interface Decoded {
  readonly raw: string;
  readonly segments: readonly string[];
  readonly header: Record<string, unknown> | undefined;
  readonly payload: Record<string, unknown> | undefined;
  readonly bytes: readonly Buffer[];
}

function lenientJson(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function decode(raw: string): Decoded {
  const segments = raw.split('.');
  // Lenient on purpose (like atob): these predicates describe what jose tolerates.
  const bytes = segments.map((s) => Buffer.from(s.replace(/\s/g, ''), 'base64url'));
  return {
    raw,
    segments,
    header: bytes[0] ? lenientJson(bytes[0]) : undefined,
    payload: bytes[1] ? lenientJson(bytes[1]) : undefined,
    bytes,
  };
}

const isCanonicalBase64url = (s: string) =>
  /^[A-Za-z0-9_-]+$/.test(s) && s.length % 4 !== 1 && Buffer.from(s, 'base64url').toString('base64url') === s;
const has = (object: Record<string, unknown> | undefined, name: string) =>
  object !== undefined && Object.hasOwn(object, name);
const numericDates = (d: Decoded) =>
  ['exp', 'nbf', 'iat'].filter((n) => has(d.payload, n)).map((n) => d.payload?.[n]);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Each way scopegate is deliberately stricter than jose, with where it is documented. */
const STRICTER: readonly { readonly name: string; readonly applies: (d: Decoded) => boolean }[] = [
  // SECURITY.md #14/#15: padding, foreign characters (jose's atob skips whitespace), stray bits.
  { name: 'non-canonical base64url', applies: (d) => d.segments.some((s) => !isCanonicalBase64url(s)) },
  // SECURITY.md #10/#72: the length cap; jose has none.
  { name: `longer than ${MAX_TOKEN_LENGTH} chars`, applies: (d) => d.raw.length > MAX_TOKEN_LENGTH },
  // SECURITY.md #55: jose checks a future iat only with maxTokenAge.
  {
    name: 'future iat without maxTokenAge',
    applies: (d) => typeof d.payload?.iat === 'number' && d.payload.iat > NOW + TOLERANCE,
  },
  // claims.ts: 1e400 parses to Infinity, which jose takes as a number.
  {
    name: 'non-finite NumericDate',
    applies: (d) => numericDates(d).some((v) => typeof v === 'number' && !Number.isFinite(v)),
  },
  // SECURITY.md #48 and defaults: no extension is recognized, so any `crit` fails (jose knows b64).
  { name: 'crit header', applies: (d) => has(d.header, 'crit') },
  // SECURITY.md #51: JWE-only parameters on a JWS.
  {
    name: 'JWE header parameter',
    applies: (d) =>
      ['enc', 'zip', 'epk', 'apu', 'apv', 'iv', 'tag', 'p2s', 'p2c'].some((n) => has(d.header, n)),
  },
  // SECURITY.md #50: nested JWTs are unsupported.
  {
    name: 'cty JWT (nested)',
    applies: (d) => typeof d.header?.cty === 'string' && d.header.cty.toUpperCase() === 'JWT',
  },
  // SECURITY.md #63: a sender-constrained token sent as Bearer.
  { name: 'cnf claim', applies: (d) => has(d.payload, 'cnf') },
  // SECURITY.md #58 and defaults ("reject non-strings"): jose only looks for a match.
  {
    name: 'non-string aud element',
    applies: (d) =>
      Array.isArray(d.payload?.aud) && (d.payload.aud as unknown[]).some((v) => typeof v !== 'string'),
  },
  // SECURITY.md #62: jose checks sub only against a `subject` option, and never client_id or jti.
  {
    name: 'non-string sub/client_id/jti',
    applies: (d) =>
      ['sub', 'client_id', 'jti'].some((n) => has(d.payload, n) && typeof d.payload?.[n] !== 'string'),
  },
  // Found by this test, not yet in SECURITY.md: jose's TextDecoder strips a leading UTF-8 BOM
  // from the header and claims JSON; scopegate decodes with ignoreBOM and refuses it (RFC 8259
  // section 8.1: senders MUST NOT add a BOM).
  {
    name: 'leading UTF-8 BOM in header or claims',
    applies: (d) => d.bytes.slice(0, 2).some((b) => b.subarray(0, 3).equals(BOM)),
  },
];

// --- the run -------------------------------------------------------------------------------------

type Decision = 'accept' | `reject:${string}`;

async function decide(promise: Promise<unknown>, label: 'scopegate' | 'jose'): Promise<Decision> {
  try {
    await promise;
    return 'accept';
  } catch (error) {
    if (label === 'scopegate') {
      // scopegate must fail only with AuthError: anything else is a bug.
      if (!(error instanceof AuthError)) return `reject:BUG ${String(error)}`;
      return `reject:${error.reason}`;
    }
    return `reject:${error instanceof joseErrors.JOSEError ? error.code : (error as Error).name}`;
  }
}

interface Row {
  readonly category: string;
  readonly token: string;
  readonly node: Decision;
  readonly webcrypto: Decision;
  readonly jose: Decision;
  readonly explanations: readonly string[];
}

let keys: Keys;
let rows: Row[] = [];

beforeAll(async () => {
  keys = makeKeys();
  const corpus = generate(keys, TOKENS);
  vi.useFakeTimers({ toFake: ['Date'], now: NOW * 1000 });
  const options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ALGORITHMS,
    clockTolerance: TOLERANCE,
    jwks: keys.jwks,
  };
  const verifiers: Record<'node' | 'webcrypto', Verifier> = {
    node: createVerifier({ ...options, crypto: 'node' }),
    webcrypto: createVerifier({ ...options, crypto: 'webcrypto' }),
  };
  const joseKeys = createLocalJWKSet(keys.jwks as Parameters<typeof createLocalJWKSet>[0]);
  const joseOptions = {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: [...ALGORITHMS],
    clockTolerance: TOLERANCE,
    requiredClaims: ['exp'],
  };
  // jose leaves a kid-less token matching several keys to its caller: JWKSMultipleMatchingKeys is
  // an async iterable of the candidates, to be tried in turn (jose docs). scopegate does the same
  // (SECURITY.md #35), so the oracle does too.
  const joseVerify = async (token: string): Promise<unknown> => {
    try {
      return await jwtVerify(token, joseKeys, joseOptions);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error;
      for await (const key of error) {
        try {
          return await jwtVerify(token, key, joseOptions);
        } catch (inner) {
          if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new joseErrors.JWSSignatureVerificationFailed();
    }
  };
  rows = [];
  for (const { category, token } of corpus) {
    const [node, webcrypto, jose] = await Promise.all([
      decide(verifiers.node.verify(token), 'scopegate'),
      decide(verifiers.webcrypto.verify(token), 'scopegate'),
      decide(joseVerify(token), 'jose'),
    ]);
    const decoded = decode(token);
    const explanations = STRICTER.filter((rule) => rule.applies(decoded)).map((rule) => rule.name);
    rows.push({ category, token, node, webcrypto, jose, explanations });
  }
}, 120_000);

afterAll(() => {
  vi.useRealTimers();
});

describe(`differential: scopegate vs jose.jwtVerify on ${TOKENS} generated tokens`, () => {
  it('the corpus is varied: every generator ran, and both outcomes are well represented', () => {
    const categories = new Set(rows.map((row) => row.category));
    expect([...categories].sort()).toEqual(Object.keys(GENERATORS).sort());
    const accepted = rows.filter((row) => row.jose === 'accept').length;
    expect(rows).toHaveLength(TOKENS);
    expect(accepted).toBeGreaterThan(TOKENS * 0.15);
    expect(TOKENS - accepted).toBeGreaterThan(TOKENS * 0.5);
  });

  it('both engines decide every token identically, with the same reason, and never throw anything but AuthError', () => {
    const split = rows.filter((row) => row.node !== row.webcrypto);
    expect(split.map((row) => [row.category, row.node, row.webcrypto, row.token])).toEqual([]);
    expect(rows.filter((row) => row.node.includes('BUG'))).toEqual([]);
  });

  it('scopegate never accepts what jose rejects', () => {
    const looser = rows.filter((row) => row.node === 'accept' && row.jose !== 'accept');
    expect(looser.map((row) => [row.category, row.jose, row.token])).toEqual([]);
  });

  it('every token jose accepts and scopegate rejects is explained by the documented list', () => {
    const unexplained = rows.filter(
      (row) => row.jose === 'accept' && row.node !== 'accept' && row.explanations.length === 0,
    );
    expect(unexplained.map((row) => [row.category, row.node, row.token])).toEqual([]);
  });

  it('every token matching a documented strictness is rejected by scopegate', () => {
    const missed = rows.filter((row) => row.explanations.length > 0 && row.node === 'accept');
    expect(missed.map((row) => [row.category, row.explanations, row.token])).toEqual([]);
  });

  it('each documented strictness shows up as a real disagreement; the counts', () => {
    const counts: Record<string, number> = Object.fromEntries(STRICTER.map((rule) => [rule.name, 0]));
    const disagreements = rows.filter((row) => row.jose === 'accept' && row.node !== 'accept');
    for (const row of disagreements)
      for (const name of row.explanations) counts[name] = (counts[name] ?? 0) + 1;
    const agreed = rows.length - disagreements.length;
    console.info(
      `differential: ${rows.length} tokens, ${rows.filter((r) => r.node === 'accept').length} accepted by scopegate, ` +
        `${rows.filter((r) => r.jose === 'accept').length} by jose, ${agreed} same decision, ` +
        `${disagreements.length} scopegate-only rejections: ${JSON.stringify(counts)}`,
    );
    for (const rule of STRICTER) expect.soft(counts[rule.name], rule.name).toBeGreaterThan(0);
  });
});
