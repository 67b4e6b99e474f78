/**
 * SECURITY.md section D, key selection (#29-#32, #35, #38): header key material is ignored, kid is
 * an opaque string, and keys are resolved per issuer. The JWKS-fetching rows (#33, #34, #36, #37,
 * #39) are covered by the JWKS tests against a real server.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type FetchLike, type Verifier } from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import {
  AUDIENCE,
  b64,
  claims,
  createRawSigner,
  expectOutcome,
  ISSUER,
  invalidToken,
  type RawSigner,
  recordingLogger,
  tokenWith,
} from './support.js';

const invalidSignature = invalidToken('invalid_signature');
const unknownKey = invalidToken('unknown_key');

let issuer: TestIssuer;
let attacker: RawSigner;
let fetched: string[];
let verifier: Verifier;
let realKid: string;

/** A spy, not a mock: it records every URL and forwards to the testing kit's in-memory fetch. */
const countingFetch =
  (inner: FetchLike): FetchLike =>
  (input, init) => {
    fetched.push(String(input));
    return inner(input, init);
  };

beforeAll(async () => {
  issuer = await createTestIssuer();
  attacker = createRawSigner('RS256');
  fetched = [];
  verifier = createVerifier({ ...issuer.verifierOptions, fetch: countingFetch(issuer.fetch) });
  realKid = String(issuer.jwks().keys[0]?.kid);
  // Warm the key cache so that later rows show what the token header makes happen.
  await verifier.verify(await issuer.sign());
});

const allowedUrls = () => [
  `${issuer.issuer}.well-known/openid-configuration`,
  `${issuer.issuer}.well-known/jwks.json`,
];

/** A token over the kit issuer's claims, signed by the attacker's key, with this header. */
const forged = (header: Readonly<Record<string, unknown>>) =>
  tokenWith('RS256', attacker.privateKey, claims({ iss: issuer.issuer }), { alg: 'RS256', ...header });

describe('D. #29 embedded jwk header', () => {
  it('#29 the attacker public key in "jwk", with the real kid', async () => {
    await expectOutcome(verifier.verify(forged({ kid: realKid, jwk: attacker.jwk })), invalidSignature);
  });
  it('#29 the attacker public key in "jwk", no kid', async () => {
    await expectOutcome(verifier.verify(forged({ jwk: attacker.jwk })), invalidSignature);
  });
  it('#29 the attacker key as a JWKS under "jwks" in the header', async () => {
    await expectOutcome(verifier.verify(forged({ kid: attacker.kid, jwks: attacker.jwks() })), unknownKey);
  });
});

describe('D. #30 jku / x5u are never fetched', () => {
  const targets = [
    'https://attacker.example/jwks.json',
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'file:///etc/passwd',
    'http://127.0.0.1:1/jwks.json',
  ];
  for (const url of targets) {
    for (const parameter of ['jku', 'x5u']) {
      it(`#30 ${parameter} = ${url}`, async () => {
        await expectOutcome(verifier.verify(forged({ kid: realKid, [parameter]: url })), invalidSignature);
        await expectOutcome(verifier.verify(forged({ kid: attacker.kid, [parameter]: url })), unknownKey);
        await expectOutcome(verifier.verify(forged({ [parameter]: url })), invalidSignature);
        expect(fetched.every((fetchedUrl) => allowedUrls().includes(fetchedUrl))).toBe(true);
        expect(fetched).not.toContain(url);
      });
    }
  }

  it('#30 a token signed by the real key with a jku is verified with the configured keys only', async () => {
    const before = fetched.length;
    const signed = await issuer.sign({}, { header: { jku: 'https://attacker.example/jwks.json' } });
    await expect(verifier.verify(signed)).resolves.toMatchObject({ sub: 'test-user' });
    expect(fetched.length).toBe(before);
  });

  it('#30 a fresh verifier fetches discovery and the configured JWKS, and nothing else', async () => {
    const urls: string[] = [];
    const spy: FetchLike = (input, init) => {
      urls.push(String(input));
      return issuer.fetch(input, init);
    };
    const fresh = createVerifier({ ...issuer.verifierOptions, fetch: spy });
    await expectOutcome(
      fresh.verify(forged({ kid: realKid, jku: 'https://attacker.example/jwks.json' })),
      invalidSignature,
    );
    expect(urls).toEqual(allowedUrls());
  });
});

describe('D. #30 with a static key set nothing is ever fetched', () => {
  it('#30 jku / x5u tokens against a static JWKS make zero requests', async () => {
    const urls: string[] = [];
    const spy: FetchLike = (input, init) => {
      urls.push(String(input));
      return issuer.fetch(input, init);
    };
    const staticKeys = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: issuer.jwks(),
      fetch: spy,
    });
    for (const parameter of ['jku', 'x5u']) {
      await expectOutcome(
        staticKeys.verify(forged({ kid: realKid, [parameter]: 'https://attacker.example/jwks.json' })),
        invalidSignature,
      );
      await expectOutcome(
        staticKeys.verify(forged({ kid: 'other', [parameter]: 'https://attacker.example/jwks.json' })),
        unknownKey,
      );
    }
    expect(urls).toEqual([]);
  });
});

describe('D. #31 x5c, x5t and x5t#S256 in the header', () => {
  it('#31 an x5c chain holding the attacker key, with and without the real kid', async () => {
    const der = attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    await expectOutcome(verifier.verify(forged({ x5c: [der] })), invalidSignature);
    await expectOutcome(verifier.verify(forged({ kid: realKid, x5c: [der] })), invalidSignature);
  });
  it('#31 x5t / x5t#S256 only', async () => {
    const thumbprint = b64(new Uint8Array(32));
    await expectOutcome(verifier.verify(forged({ x5t: b64(new Uint8Array(20)) })), invalidSignature);
    await expectOutcome(verifier.verify(forged({ 'x5t#S256': thumbprint })), invalidSignature);
  });
});

describe('D. #32 kid injection: kid is an opaque string matched with ===', () => {
  const kids: readonly [string, unknown][] = [
    ['path traversal to /dev/null', '../../../../dev/null'],
    ['/proc path', '/proc/sys/kernel/randomize_va_space'],
    ['SQL injection', "x' UNION SELECT '1';--"],
    ['shell sleep', '|sleep 10'],
    ['shell curl', '| curl http://attacker.example/'],
    ['an empty string', ''],
    ['a Cyrillic look-alike of the real kid', 'tеst-key-1'],
    ['a U+2010 hyphen look-alike', 'test\u2010key\u20101'],
    ['the real kid with a NUL appended', 'test-key-1\u0000'],
    ['the real kid in upper case', 'TEST-KEY-1'],
    ['the number 123', 123],
    ['null', null],
    ['{}', {}],
    ['["test-key-1"]', ['test-key-1']],
    ['true', true],
  ];
  for (const [name, kid] of kids) {
    it(`#32 kid ${name}, signed by the real key`, async () => {
      const before = fetched.length;
      const signed = await issuer.sign({}, { header: { kid } });
      await expectOutcome(verifier.verify(signed), unknownKey);
      // Within the cooldown an unknown kid costs no fetch; in any case only the JWKS URL.
      expect(fetched.slice(before).every((url) => allowedUrls().includes(url))).toBe(true);
    });
  }
  it('#32 a 10 KB kid (under a raised length cap)', async () => {
    const long = createVerifier({ ...issuer.verifierOptions, maxTokenLength: 32_768 });
    const signed = await issuer.sign({}, { header: { kid: 'k'.repeat(10_240) } });
    await expectOutcome(long.verify(signed), unknownKey);
  });
  it('#32 control: the real kid verifies', async () => {
    await expect(verifier.verify(await issuer.sign({}, { header: { kid: realKid } }))).resolves.toMatchObject(
      {
        sub: 'test-user',
      },
    );
  });
});

describe('D. #35 no kid while the set holds several keys', () => {
  let first: RawSigner;
  let second: RawSigner;
  let ec: RawSigner;
  let pss: RawSigner;
  let keyring: Verifier;
  beforeAll(() => {
    first = createRawSigner('RS256');
    second = createRawSigner('RS256');
    ec = createRawSigner('ES256');
    pss = createRawSigner('PS256');
    keyring = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256', 'PS256', 'ES256'],
      jwks: { keys: [first.jwk, second.jwk, ec.jwk, pss.jwk] },
    });
  });
  const noKid = (signer: RawSigner, alg = signer.alg) => tokenWith(alg, signer.privateKey, claims(), { alg });

  it('#35 signed by the second RSA key: every fitting key is tried, not only the first', async () => {
    await expect(keyring.verify(noKid(second))).resolves.toMatchObject({ sub: 'alice' });
    await expect(keyring.verify(noKid(first))).resolves.toMatchObject({ sub: 'alice' });
  });
  it('#35 ES256 without kid: only the EC key fits', async () => {
    await expect(keyring.verify(noKid(ec))).resolves.toMatchObject({ sub: 'alice' });
  });
  it('#35 signed by a key outside the set: invalid signature', async () => {
    await expectOutcome(keyring.verify(noKid(attacker)), invalidSignature);
  });
  it('#35 PS256 signed with an RS256-tagged key: no key fits that algorithm', async () => {
    await expectOutcome(keyring.verify(noKid(first, 'PS256')), invalidSignature);
    const rsOnly = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256', 'PS256'],
      jwks: { keys: [first.jwk, second.jwk] },
    });
    await expectOutcome(rsOnly.verify(noKid(first, 'PS256')), unknownKey);
  });
  it('#35 duplicate kid in the set is reported to the logger', () => {
    const logger = recordingLogger();
    createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [first.jwk, { ...second.jwk, kid: first.kid }] },
      logger,
    });
    expect(logger.calls.map((call) => call.message)).toEqual([expect.stringMatching(/duplicate "kid"/)]);
  });
});

describe('D. #38 issuer/key binding', () => {
  const A = 'https://a.example.test/';
  const B = 'https://b.example.test/';
  let signerA: RawSigner;
  let signerB: RawSigner;
  let multi: Verifier;
  beforeAll(() => {
    signerA = createRawSigner('RS256');
    signerB = createRawSigner('RS256');
    multi = createVerifier({
      issuers: [
        { issuer: A, jwks: signerA.jwks() },
        { issuer: B, jwks: signerB.jwks() },
      ],
      audience: AUDIENCE,
    });
  });

  it("#38 iss = A, signed by B with B's kid", async () => {
    await expectOutcome(multi.verify(signerB.token(claims({ iss: A }))), unknownKey);
  });
  it("#38 iss = A, signed by B with A's kid", async () => {
    const token = tokenWith('RS256', signerB.privateKey, claims({ iss: A }), {
      alg: 'RS256',
      kid: signerA.kid,
    });
    await expectOutcome(multi.verify(token), invalidSignature);
  });
  it('#38 iss = A, signed by B without kid', async () => {
    const token = tokenWith('RS256', signerB.privateKey, claims({ iss: A }), { alg: 'RS256' });
    await expectOutcome(multi.verify(token), invalidSignature);
  });
  it("#38 an issuer outside the allow-list, signed by a listed issuer's key", async () => {
    await expectOutcome(
      multi.verify(signerA.token(claims({ iss: 'https://c.example.test/' }))),
      invalidToken('invalid_issuer'),
    );
  });
  it('#38 control: each issuer with its own key verifies', async () => {
    await expect(multi.verify(signerA.token(claims({ iss: A })))).resolves.toMatchObject({ iss: A });
    await expect(multi.verify(signerB.token(claims({ iss: B })))).resolves.toMatchObject({ iss: B });
  });
});
