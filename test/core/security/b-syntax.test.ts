/**
 * SECURITY.md section B: token syntax and encoding (#11-#20). Real tokens come from the testing
 * kit; tokens whose header or payload text a JOSE library would not produce are signed by hand
 * with node:crypto and verified against a static JWKS.
 */
import { CompactEncrypt, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import {
  AUDIENCE,
  b64,
  badRequest,
  claims,
  createRawSigner,
  expectOutcome,
  forbidden,
  ISSUER,
  invalidToken,
  type Outcome,
  type RawSigner,
  withSegment,
} from './support.js';

const malformed = invalidToken('malformed_token');

let issuer: TestIssuer;
let verifier: Verifier;
let token: string;
let raw: RawSigner;
let rawVerifier: Verifier;

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions);
  token = await issuer.sign();
  raw = createRawSigner('RS256');
  rawVerifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: raw.jwks() });
});

const parts = () => token.split('.') as [string, string, string];

/** Checks `verify()` and, when the string is a b64token, `authenticate()` on the header value. */
async function expectRefused(candidate: string, outcome: Outcome, headerOutcome: Outcome = outcome) {
  await expectOutcome(verifier.verify(candidate), outcome);
  if (candidate !== '') {
    await expectOutcome(verifier.authenticate(`Bearer ${candidate}`).claims(), headerOutcome);
  }
}

describe('B. #11 wrong segment count', () => {
  const rows: readonly [string, () => string][] = [
    ['empty string', () => ''],
    ['1 segment', () => parts()[0]],
    ['2 segments', () => `${parts()[0]}.${parts()[1]}`],
    ['4 segments', () => `${token}.${parts()[2]}`],
    ['6 segments', () => `${token}.${token.split('.').slice(0, 3).join('.')}`],
    ['trailing "."', () => `${token}.`],
    ['leading "."', () => `.${token}`],
    ['extra empty component in the middle', () => `${parts()[0]}..${parts()[1]}.${parts()[2]}`],
    ['empty header', () => withSegment(token, 0, '')],
    ['empty payload', () => withSegment(token, 1, '')],
  ];
  for (const [name, build] of rows) {
    it(`#11 ${name}`, async () => {
      await expectRefused(build(), malformed);
    });
  }
  it('#11 an empty bearer credential is 400 at the header level', async () => {
    await expectOutcome(verifier.authenticate('Bearer ').claims(), badRequest);
  });
});

describe('B. #12 a JWE where a JWS is expected', () => {
  it('#12 JWE encrypted to the issuer public key (RSA-OAEP-256): never decrypted', async () => {
    const jwk = { ...issuer.jwks().keys[0] };
    delete jwk.use;
    const publicKey = await importJWK({ ...jwk, alg: 'RSA-OAEP-256' }, 'RSA-OAEP-256');
    const jwe = await new CompactEncrypt(
      new TextEncoder().encode(JSON.stringify(claims({ sub: 'attacker' }))),
    )
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: String(jwk.kid) })
      .encrypt(publicKey);
    expect(jwe.split('.')).toHaveLength(5);
    await expectRefused(jwe, malformed);
  });

  it('#12 a 3-segment token whose header carries "enc" (a JWE header on a JWS)', async () => {
    const signed = await issuer.signPayload(JSON.stringify(claims()), { enc: 'A256GCM' });
    await expectRefused(signed, malformed);
  });
});

describe('B. #13 null signature', () => {
  it('#13 header.payload. with alg RS256', async () => {
    await expectRefused(`${parts()[0]}.${parts()[1]}.`, malformed);
  });
});

describe('B. #14 non-base64url characters in a segment', () => {
  // '+', '/' and a final '=' are b64token characters (RFC 6750 2.1), so the header extraction
  // passes them on and the JWS parser refuses them (401); '=' anywhere but at the very end, and
  // the other characters, are 400 at the header level (#5).
  const padding = (index: number) => (index === 2 ? malformed : badRequest);
  const cases: readonly [string, (segment: string) => string, (index: number) => Outcome][] = [
    ['"+" replacing a character', (s) => `${s.slice(0, 4)}+${s.slice(5)}`, () => malformed],
    ['"/" replacing a character', (s) => `${s.slice(0, 4)}/${s.slice(5)}`, () => malformed],
    ['"=" padding appended', (s) => `${s}=`, padding],
    ['"==" padding appended', (s) => `${s}==`, padding],
    ['"?" inside', (s) => `${s.slice(0, 4)}?${s.slice(4)}`, () => badRequest],
    ['"#" inside', (s) => `${s.slice(0, 4)}#${s.slice(4)}`, () => badRequest],
    ['"!" inside', (s) => `${s.slice(0, 4)}!${s.slice(4)}`, () => badRequest],
    ['a space inside', (s) => `${s.slice(0, 4)} ${s.slice(4)}`, () => badRequest],
  ];
  for (const index of [0, 1, 2] as const) {
    for (const [name, mutate, headerOutcome] of cases) {
      it(`#14 ${name} in segment ${index}`, async () => {
        const segment = parts()[index];
        await expectRefused(withSegment(token, index, mutate(segment)), malformed, headerOutcome(index));
      });
    }
  }

  it('#14 "!!!!" appended to a valid signature (PyJWT GHSA-hxm8-2xgr-2p9m)', async () => {
    await expectRefused(`${token}!!!!`, malformed, badRequest);
  });

  it('#14 "-"/"_" swapped for "+"/"/" (same bytes to a lenient decoder) is refused', async () => {
    let candidate = '';
    for (let attempt = 0; attempt < 50 && candidate === ''; attempt++) {
      const signature = (await issuer.sign()).split('.');
      const swapped = (signature[2] as string).replace(/-/g, '+').replace(/_/g, '/');
      if (swapped !== signature[2]) candidate = [signature[0], signature[1], swapped].join('.');
    }
    expect(candidate).not.toBe('');
    expect(Buffer.from(candidate.split('.')[2] as string, 'base64')).toEqual(
      Buffer.from(candidate.split('.')[2] as string, 'base64url'),
    );
    await expectRefused(candidate, malformed);
  });
});

describe('B. #15 non-canonical base64url (unused low bits set)', () => {
  /** Sets a stray low bit in the last character of a segment whose length % 4 is 2 or 3. */
  function stray(segment: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect([2, 3]).toContain(segment.length % 4);
    const last = alphabet.indexOf(segment.charAt(segment.length - 1));
    return segment.slice(0, -1) + alphabet.charAt(last ^ 1);
  }

  it('#15 signature with stray bits (a lenient decoder yields the same valid signature)', async () => {
    // A 2048-bit RS256 signature is 256 bytes: 342 characters, the last carrying 4 spare bits.
    const segment = parts()[2];
    const altered = stray(segment);
    expect(Buffer.from(altered, 'base64url')).toEqual(Buffer.from(segment, 'base64url'));
    await expectRefused(withSegment(token, 2, altered), malformed);
  });

  it('#15 payload with stray bits, correctly signed over the altered text', async () => {
    // Pad the payload until its segment length leaves spare bits.
    let payload = JSON.stringify(claims());
    while (b64(payload).length % 4 === 0) payload += ' ';
    const header = b64(JSON.stringify({ alg: 'RS256', kid: raw.kid }));
    const input = `${header}.${stray(b64(payload))}`;
    const forged = `${input}.${b64(raw.signature(input))}`;
    await expectOutcome(rawVerifier.verify(forged), malformed);
    // Control: the canonical form of the same text verifies.
    await expect(rawVerifier.verify(raw.token(payload))).resolves.toMatchObject({ sub: 'alice' });
  });

  it('#15 header with stray bits, correctly signed over the altered text', async () => {
    let header = JSON.stringify({ alg: 'RS256', kid: raw.kid });
    while (b64(header).length % 4 === 0) header += ' ';
    const input = `${stray(b64(header))}.${b64(JSON.stringify(claims()))}`;
    await expectOutcome(rawVerifier.verify(`${input}.${b64(raw.signature(input))}`), malformed);
  });
});

describe('B. #16 header or payload that is not valid UTF-8', () => {
  const invalidUtf8: readonly [string, number[]][] = [
    ['a lone surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['an overlong NUL (E0 80 80)', [0xe0, 0x80, 0x80]],
    ['a truncated sequence (E2 82)', [0xe2, 0x82]],
    ['a byte that never occurs (FF)', [0xff]],
  ];
  for (const [name, bytes] of invalidUtf8) {
    it(`#16 payload with ${name} inside a claim string`, async () => {
      const json = JSON.stringify(claims({ sub: 'XX' }));
      const [before, after] = json.split('XX') as [string, string];
      const payload = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
      await expectRefused(await issuer.signPayload(new Uint8Array(payload)), malformed);
    });
    it(`#16 header with ${name} inside a parameter`, async () => {
      const header = Buffer.concat([
        Buffer.from(`{"alg":"RS256","kid":"${raw.kid}","x":"`),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]);
      const input = `${b64(header)}.${b64(JSON.stringify(claims()))}`;
      await expectOutcome(rawVerifier.verify(`${input}.${b64(raw.signature(input))}`), malformed);
    });
  }
});

describe('B. #16 a UTF-8 byte order mark', () => {
  // RFC 8259 8.1 lets a parser either ignore a BOM or refuse it; scopegate refuses (jose strips it).
  it('#16 a payload starting with EF BB BF', async () => {
    const payload = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(claims()))]);
    await expectRefused(await issuer.signPayload(new Uint8Array(payload)), malformed);
  });
});

describe('B. #17 header or payload that is not a JSON object', () => {
  for (const text of ['[]', '"x"', 'null', '1', 'true', '{', 'not json', ' ']) {
    it(`#17 payload ${JSON.stringify(text)}`, async () => {
      await expectRefused(await issuer.signPayload(text), malformed);
    });
    it(`#17 header ${JSON.stringify(text)}`, async () => {
      await expectOutcome(rawVerifier.verify(raw.token(claims(), text)), malformed);
    });
  }
  it('#17 a payload array of claim objects (fast-jwt GHSA-5hjw-83fp-phq9)', async () => {
    await expectRefused(await issuer.signPayload(JSON.stringify([claims()])), malformed);
  });
});

describe('B. #18 duplicate member names: the last one wins, everywhere', () => {
  const payloadWith = (duplicate: string) => {
    const json = JSON.stringify(claims());
    return `${json.slice(0, -1)},${duplicate}}`;
  };

  it('#18 {"sub":"alice","sub":"admin"} reads "admin"', async () => {
    const verified = await verifier.verify(await issuer.signPayload(payloadWith('"sub":"admin"')));
    expect(verified.sub).toBe('admin');
  });

  it('#18 {"scope":"a","scope":"admin"}: scopes come from the same parsed object', async () => {
    const signed = await issuer.signPayload(payloadWith('"scope":"a","scope":"admin"'));
    const auth = verifier.authenticate(`Bearer ${signed}`);
    const verified = await auth.require({ scopes: 'admin' });
    expect(verified.scope).toBe('admin');
    expect([...verifier.scopes(verified)]).toEqual(['admin']);
    expect([...(await auth.scopes())]).toEqual(['admin']);
    await expectOutcome(auth.require({ scopes: 'a' }), forbidden('a'));
  });

  it('#18 {"alg":"RS256","alg":"none"} is alg none', async () => {
    const header = `{"alg":"RS256","alg":"none","kid":"${raw.kid}"}`;
    await expectOutcome(
      rawVerifier.verify(raw.token(claims(), header)),
      invalidToken('unsupported_algorithm'),
    );
  });

  it('#18 {"alg":"none","alg":"RS256"} is RS256 (and verifies)', async () => {
    const header = `{"alg":"none","alg":"RS256","kid":"${raw.kid}"}`;
    await expect(rawVerifier.verify(raw.token(claims(), header))).resolves.toMatchObject({ sub: 'alice' });
  });

  it('#18 duplicate "iss": the last one is checked', async () => {
    const signed = await issuer.signPayload(payloadWith('"iss":"https://evil.example/"'));
    await expectOutcome(verifier.verify(signed), invalidToken('invalid_issuer'));
  });
});

describe('B. #19 JWS JSON serialization and polyglots', () => {
  const flattened = () =>
    JSON.stringify({ protected: parts()[0], payload: parts()[1], signature: parts()[2] });
  const general = () =>
    JSON.stringify({ payload: parts()[1], signatures: [{ protected: parts()[0], signature: parts()[2] }] });

  for (const [name, build] of [
    ['flattened JSON serialization', flattened],
    ['general JSON serialization', general],
    [
      'python-jwt polyglot (compact token as a JSON key)',
      () => `{"${token}":"","protected":"${parts()[0]}"}`,
    ],
  ] as const) {
    it(`#19 ${name}: 401 through verify(), 400 as a header value (illegal characters, #5)`, async () => {
      await expectRefused(build(), malformed, badRequest);
    });
  }

  it('#19 a JSON serialization base64url-encoded into one b64token', async () => {
    await expectRefused(b64(flattened()), malformed);
  });

  it('#19 a compact token with a JSON serialization appended', async () => {
    await expectRefused(`${token}${flattened()}`, malformed, badRequest);
  });
});

describe('B. #20 pathological but in-size JSON, __proto__ and constructor', () => {
  it('#20 deep nesting (10 000 levels) and 5 000 keys verify normally, no crash', async () => {
    const big = createVerifier({ ...issuer.verifierOptions, maxTokenLength: 200_000 });
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const keys = Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(',');
    const json = JSON.stringify(claims({ sub: 'test-user', iss: issuer.issuer }));
    const payload = `${json.slice(0, -1)},"deep":${deep},${keys}}`;
    const verified = await big.verify(await issuer.signPayload(payload));
    expect(verified.k4999).toBe(4999);
    expect(Array.isArray(verified.deep)).toBe(true);
  });

  it('#20 a "__proto__" claim grants nothing and pollutes nothing', async () => {
    const json = JSON.stringify(claims({ iss: issuer.issuer }));
    const payload = `${json.slice(0, -1)},"__proto__":{"scope":"admin","polluted":true,"sub":"root"}}`;
    const auth = verifier.authenticate(`Bearer ${await issuer.signPayload(payload)}`);
    const verified = await auth.claims();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    expect(Object.hasOwn(Object.prototype, 'scope')).toBe(false);
    expect(verified.scope).toBeUndefined();
    expect(verified.sub).toBe('alice');
    expect(verifier.scopes(verified).size).toBe(0);
    await expectOutcome(auth.require({ scopes: 'admin' }), forbidden('admin'));
  });

  it('#20 "constructor" and "prototype" claims pollute nothing', async () => {
    const payload = JSON.stringify(
      claims({
        iss: issuer.issuer,
        constructor: { prototype: { polluted: true, scope: 'admin' } },
        prototype: { polluted: true },
      }),
    );
    const auth = verifier.authenticate(`Bearer ${await issuer.signPayload(payload)}`);
    await auth.claims();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    await expectOutcome(auth.require({ scopes: 'admin' }), forbidden('admin'));
  });

  it('#20 an "alg" only under "__proto__" in the header is no alg', async () => {
    const header = `{"__proto__":{"alg":"RS256"},"kid":"${raw.kid}"}`;
    await expectOutcome(
      rawVerifier.verify(raw.token(claims(), header)),
      invalidToken('unsupported_algorithm'),
    );
    expect(Object.hasOwn(Object.prototype, 'alg')).toBe(false);
  });

  it('#20 "exp" and "aud" only under "__proto__" in the payload do not count', async () => {
    const noExp = JSON.stringify(claims({ exp: undefined }));
    const future = Math.floor(Date.now() / 1000) + 300;
    const payload = `${noExp.slice(0, -1)},"__proto__":{"exp":${future}}}`;
    await expectOutcome(rawVerifier.verify(raw.token(payload)), invalidToken('invalid_claims'));
    const noAud = JSON.stringify(claims({ aud: undefined }));
    const payload2 = `${noAud.slice(0, -1)},"__proto__":{"aud":"${AUDIENCE}"}}`;
    await expectOutcome(rawVerifier.verify(raw.token(payload2)), invalidToken('invalid_audience'));
  });
});
