/**
 * SECURITY.md section F: `crit`, `b64`, nested tokens and JWE-only parameters (#48-#51). The
 * headers are signed by hand: JOSE libraries refuse to produce most of them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../../src/core/index.js';
import {
  AUDIENCE,
  b64,
  claims,
  createRawSigner,
  expectOutcome,
  ISSUER,
  invalidToken,
  type RawSigner,
} from './support.js';

const malformed = invalidToken('malformed_token');

let signer: RawSigner;
let verifier: Verifier;

beforeAll(() => {
  signer = createRawSigner('RS256');
  verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: signer.jwks() });
});

const signed = (extra: Readonly<Record<string, unknown>>) =>
  signer.token(claims(), { alg: 'RS256', kid: signer.kid, ...extra });

describe('F. #48 crit', () => {
  const rows: readonly [string, Readonly<Record<string, unknown>>][] = [
    ['crit: ["exp"] (a registered claim name)', { crit: ['exp'], exp: 1 }],
    ['crit: ["x-unknown"] with x-unknown present', { crit: ['x-unknown'], 'x-unknown': true }],
    ['crit: [] (producers must not use it)', { crit: [] }],
    ['crit: "b64" (not an array)', { crit: 'b64', b64: true }],
    ['crit listing a parameter absent from the header', { crit: ['x-absent'] }],
    ['crit with duplicates', { crit: ['x-a', 'x-a'], 'x-a': 1 }],
    ['crit: ["b64"] with b64: true', { crit: ['b64'], b64: true }],
    ['crit: ["alg"]', { crit: ['alg'] }],
    ['crit: null', { crit: null }],
  ];
  for (const [name, extra] of rows) {
    it(`#48 ${name}`, async () => {
      await expectOutcome(verifier.verify(signed(extra)), malformed);
      await expectOutcome(verifier.authenticate(`Bearer ${signed(extra)}`).claims(), malformed);
    });
  }
});

describe('F. #49 b64', () => {
  it('#49 b64: false with crit: ["b64"] (an unencoded payload on an access token)', async () => {
    await expectOutcome(verifier.verify(signed({ b64: false, crit: ['b64'] })), malformed);
  });

  it('#49 b64: false with crit: ["b64"], signed over the raw payload as RFC 7797 does', async () => {
    const header = b64(JSON.stringify({ alg: 'RS256', kid: signer.kid, b64: false, crit: ['b64'] }));
    const payload = JSON.stringify(claims());
    const signature = b64(signer.signature(`${header}.${payload}`));
    // Detached form (RFC 7797 5.2): an empty payload segment.
    await expectOutcome(verifier.verify(`${header}..${signature}`), malformed);
  });

  it('#49 b64: false without crit is ignored: the JWS verifies normally', async () => {
    await expect(verifier.verify(signed({ b64: false }))).resolves.toMatchObject({ sub: 'alice' });
  });
});

describe('F. #50 nested JWT', () => {
  it('#50 cty: "JWT" whose payload is a valid inner JWT: never trusted', async () => {
    const inner = signer.token(claims({ sub: 'admin', scope: 'admin' }));
    const outer = signer.token(inner, { alg: 'RS256', kid: signer.kid, cty: 'JWT' });
    await expectOutcome(verifier.verify(outer), malformed);
  });

  for (const cty of ['JWT', 'jwt', 'Jwt']) {
    it(`#50 cty: "${cty}" over a claims object`, async () => {
      await expectOutcome(verifier.verify(signed({ cty })), invalidToken('invalid_token_type'));
    });
  }

  it('#50 an unrelated cty does not make the token nested', async () => {
    await expect(verifier.verify(signed({ cty: 'json' }))).resolves.toMatchObject({ sub: 'alice' });
  });
});

describe('F. #51 JWE-only parameters on any token', () => {
  const rows: readonly [string, Readonly<Record<string, unknown>>][] = [
    ['zip: "DEF"', { zip: 'DEF' }],
    ['p2c: 2147483647', { p2c: 2_147_483_647 }],
    ['p2s', { p2s: b64('salt') }],
    ['epk', { epk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }],
    ['enc', { enc: 'A256GCM' }],
    ['iv', { iv: b64('iv') }],
    ['tag', { tag: b64('tag') }],
    ['apu', { apu: b64('alice') }],
    ['apv', { apv: b64('bob') }],
  ];
  for (const [name, extra] of rows) {
    it(`#51 ${name}`, async () => {
      await expectOutcome(verifier.verify(signed(extra)), malformed);
    });
  }
});
