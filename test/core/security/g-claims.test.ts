/**
 * SECURITY.md section G: claims (#52-#63). Time rows run under a fake `Date`, so boundaries are
 * exact to the second.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Algorithm, createVerifier, type Verifier } from '../../../src/core/index.js';
import { createTestIssuer } from '../../../src/testing/index.js';
import {
  AUDIENCE,
  claims,
  createRawSigner,
  expectOutcome,
  forbidden,
  ISSUER,
  invalidToken,
  type RawSigner,
} from './support.js';

const NOW = 1_700_000_000;

let signer: RawSigner;
let verifier: Verifier;

const build = (options: Record<string, unknown> = {}) =>
  createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['ES256'],
    jwks: signer.jwks(),
    ...options,
  } as Parameters<typeof createVerifier>[0]);

beforeAll(() => {
  signer = createRawSigner('ES256');
  verifier = build();
});

afterEach(() => {
  vi.useRealTimers();
});

const at = (seconds: number) => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(seconds * 1000);
};

const token = (overrides: Readonly<Record<string, unknown>>) => signer.token(claims(overrides));
const accepts = (target: Verifier, jwt: string) =>
  expect(target.verify(jwt)).resolves.toMatchObject({ iss: ISSUER });

describe('G. the testing kit helpers, per algorithm', () => {
  for (const algorithm of ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'] as Algorithm[]) {
    it(`#53/#54/#57/#58 ${algorithm}: expired, not yet valid, wrong audience, wrong issuer`, async () => {
      const issuer = await createTestIssuer({ algorithm });
      const kit = createVerifier(issuer.verifierOptions);
      await expect(kit.verify(await issuer.sign())).resolves.toMatchObject({ sub: 'test-user' });
      await expectOutcome(kit.verify(await issuer.expired()), invalidToken('token_expired'));
      await expectOutcome(kit.verify(await issuer.notYetValid()), invalidToken('token_not_yet_valid'));
      await expectOutcome(kit.verify(await issuer.wrongAudience()), invalidToken('invalid_audience'));
      await expectOutcome(kit.verify(await issuer.wrongIssuer()), invalidToken('invalid_issuer'));
    });
  }
});

describe('G. #52 exp is required', () => {
  it('#52 no exp', async () => {
    await expectOutcome(verifier.verify(token({ exp: undefined })), invalidToken('invalid_claims'));
  });
});

describe('G. #53 exp boundaries under a fake clock', () => {
  for (const tolerance of [0, 5, 60]) {
    it(`#53 tolerance ${tolerance}: exp = now - T fails, exp = now - T + 1 passes`, async () => {
      at(NOW);
      const target = build({ clockTolerance: tolerance });
      const iat = NOW - 600;
      await expectOutcome(target.verify(token({ iat, exp: NOW - tolerance })), invalidToken('token_expired'));
      await accepts(target, token({ iat, exp: NOW - tolerance + 1 }));
    });
  }
  it('#53 the default tolerance is 5 s', async () => {
    at(NOW);
    await expectOutcome(
      verifier.verify(token({ iat: NOW - 600, exp: NOW - 5 })),
      invalidToken('token_expired'),
    );
    await accepts(verifier, token({ iat: NOW - 600, exp: NOW - 4 }));
  });
  it('#53 a token accepted now is refused once the clock passes exp (same token)', async () => {
    at(NOW);
    const jwt = token({ iat: NOW, exp: NOW + 60 });
    await accepts(verifier, jwt);
    at(NOW + 65);
    await expectOutcome(verifier.verify(jwt), invalidToken('token_expired'));
  });
});

describe('G. #54 nbf', () => {
  it('#54 nbf = now + T + 1 fails, nbf = now + T passes', async () => {
    at(NOW);
    await expectOutcome(
      verifier.verify(token({ iat: NOW, nbf: NOW + 6 })),
      invalidToken('token_not_yet_valid'),
    );
    await accepts(verifier, token({ iat: NOW, nbf: NOW + 5 }));
  });
});

describe('G. #55 iat in the future', () => {
  it('#55 iat = now + 3600, without maxTokenAge', async () => {
    at(NOW);
    await expectOutcome(
      verifier.verify(token({ iat: NOW + 3600, exp: NOW + 7200 })),
      invalidToken('token_not_yet_valid'),
    );
  });
  it('#55 iat = now + T passes, now + T + 1 fails', async () => {
    at(NOW);
    await accepts(verifier, token({ iat: NOW + 5 }));
    await expectOutcome(verifier.verify(token({ iat: NOW + 6 })), invalidToken('token_not_yet_valid'));
  });
  it('#55 with maxTokenAge: a future iat still fails, an old one is too old, a missing one invalid', async () => {
    at(NOW);
    const aged = build({ maxTokenAge: 3600 });
    await expectOutcome(
      aged.verify(token({ iat: NOW + 3600, exp: NOW + 7200 })),
      invalidToken('token_not_yet_valid'),
    );
    await expectOutcome(
      aged.verify(token({ iat: NOW - 3606, exp: NOW + 60 })),
      invalidToken('token_too_old'),
    );
    await accepts(aged, token({ iat: NOW - 3605, exp: NOW + 60 }));
    await expectOutcome(aged.verify(token({ iat: undefined })), invalidToken('invalid_claims'));
  });
});

describe('G. #56 wrong types and absurd values', () => {
  const wrongTypes: readonly [string, Readonly<Record<string, unknown>>][] = [
    ['exp: "9999999999"', { exp: '9999999999' }],
    ['exp: null', { exp: null }],
    ['exp: true', { exp: true }],
    ['exp: []', { exp: [] }],
    ['exp: {}', { exp: {} }],
    ['nbf: "0"', { nbf: '0' }],
    ['nbf: null', { nbf: null }],
    ['iat: "0"', { iat: '0' }],
    ['iat: false', { iat: false }],
  ];
  for (const [name, overrides] of wrongTypes) {
    it(`#56 ${name}`, async () => {
      await expectOutcome(verifier.verify(token(overrides)), invalidToken('invalid_claims'));
    });
  }

  it('#56 exp: 1e400 (JSON.parse gives Infinity) and exp: -1e400', async () => {
    for (const literal of ['1e400', '-1e400']) {
      const json = JSON.stringify(claims({ exp: 0 })).replace('"exp":0', `"exp":${literal}`);
      expect(json).toContain(literal);
      await expectOutcome(verifier.verify(signer.token(json)), invalidToken('invalid_claims'));
    }
  });

  it('#56 exp: 1e308 is numeric (accepted by default), refused by maxTokenLifetime', async () => {
    await accepts(verifier, token({ exp: 1e308 }));
    const capped = build({ maxTokenLifetime: 86_400 });
    await expectOutcome(capped.verify(token({ exp: 1e308 })), invalidToken('invalid_claims'));
    await accepts(capped, token({}));
    // The lifetime cap needs both ends.
    await expectOutcome(capped.verify(token({ iat: undefined })), invalidToken('invalid_claims'));
  });

  it('#56 negative exp is simply expired', async () => {
    await expectOutcome(verifier.verify(token({ exp: -1 })), invalidToken('token_expired'));
  });
});

describe('G. #57 iss: exact, type-checked string equality', () => {
  const rows: readonly [string, unknown][] = [
    ['a wrong host', 'https://evil.example/'],
    ['no trailing slash', ISSUER.slice(0, -1)],
    ['an extra trailing slash', `${ISSUER}/`],
    ['upper-case host', ISSUER.toUpperCase()],
    ['http instead of https', ISSUER.replace('https', 'http')],
    ['an array holding the issuer', ['https://evil/', ISSUER]],
    ['[issuer]', [ISSUER]],
    ['null', null],
    ['a number', 1],
    ['an object', { toString: ISSUER }],
    ['missing', undefined],
  ];
  for (const [name, iss] of rows) {
    it(`#57 iss ${name}`, async () => {
      await expectOutcome(verifier.verify(token({ iss })), invalidToken('invalid_issuer'));
    });
  }
  it('#57 a configured issuer without the slash does not accept the slashed iss', async () => {
    const bare = build({ issuer: 'https://t.auth0.com' });
    await expectOutcome(bare.verify(token({ iss: 'https://t.auth0.com/' })), invalidToken('invalid_issuer'));
    await expect(bare.verify(token({ iss: 'https://t.auth0.com' }))).resolves.toBeDefined();
  });
});

describe('G. #58 aud: exact string membership, type-checked', () => {
  it('#58 our audience as a string, or in an array (Auth0 adds /userinfo)', async () => {
    await accepts(verifier, token({ aud: AUDIENCE }));
    await accepts(verifier, token({ aud: [AUDIENCE, 'https://issuer.example.test/userinfo'] }));
  });
  const rows: readonly [string, unknown][] = [
    ['an array without ours', ['https://other.example.test']],
    ['[]', []],
    ['missing', undefined],
    ['null', null],
    ['[123]', [123]],
    ['ours plus a number', [AUDIENCE, 123]],
    ['a client_id (an ID token)', 'client-abc123'],
    ['a suffix look-alike', `${AUDIENCE}.evil`],
    ['a path look-alike', `${AUDIENCE}/x`],
    ['a prefix of ours', AUDIENCE.slice(0, -1)],
    ['different case', AUDIENCE.toUpperCase()],
    ['a nested array', [[AUDIENCE]]],
    ['an object', { [AUDIENCE]: true }],
  ];
  for (const [name, aud] of rows) {
    it(`#58 aud ${name}`, async () => {
      await expectOutcome(verifier.verify(token({ aud })), invalidToken('invalid_audience'));
    });
  }
  it('#58 several configured audiences: any one matches, exactly', async () => {
    const multi = build({ audience: [AUDIENCE, 'https://admin.example.test'] });
    await accepts(multi, token({ aud: 'https://admin.example.test' }));
    await expectOutcome(
      multi.verify(token({ aud: 'https://admin.example.test/' })),
      invalidToken('invalid_audience'),
    );
  });
});

describe('G. #59 an ID token replayed as an access token', () => {
  const idToken = () =>
    signer.token(claims({ aud: 'client-abc123', azp: 'client-abc123', nonce: 'n', at_hash: 'x' }), {
      alg: 'ES256',
      kid: signer.kid,
      typ: 'JWT',
    });
  it('#59 refused by aud in the default mode', async () => {
    await expectOutcome(verifier.verify(idToken()), invalidToken('invalid_audience'));
  });
  it('#59 refused by typ in strict (RFC 9068) mode', async () => {
    await expectOutcome(build({ strict: true }).verify(idToken()), invalidToken('invalid_token_type'));
  });
});

describe('G. #60 typ in RFC 9068 mode', () => {
  const strictClaims = claims({ client_id: 'client-1' });
  const typed = (typ: unknown) => signer.token(strictClaims, { alg: 'ES256', kid: signer.kid, typ });
  for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/AT+JWT']) {
    it(`#60 typ "${typ}" is accepted`, async () => {
      await accepts(build({ strict: true }), typed(typ));
    });
  }
  for (const typ of [
    'JWT',
    undefined,
    'dpop+jwt',
    'logout+jwt',
    'secevent+jwt',
    'id_token+jwt',
    'at+jwt ',
    'application/at+jwt; charset=utf-8',
    'at+JWT+x',
    '',
    123,
    ['at+jwt'],
  ]) {
    it(`#60 typ ${JSON.stringify(typ) ?? 'missing'} is refused`, async () => {
      await expectOutcome(build({ strict: true }).verify(typed(typ)), invalidToken('invalid_token_type'));
    });
  }
  it('#60 outside strict mode typ is not checked', async () => {
    await accepts(verifier, typed('JWT'));
  });
});

describe('G. #61 RFC 9068 mode with a required claim missing', () => {
  for (const name of ['sub', 'client_id', 'iat', 'jti', 'exp']) {
    it(`#61 no ${name}`, async () => {
      const jwt = signer.token(claims({ client_id: 'client-1', [name]: undefined }), {
        alg: 'ES256',
        kid: signer.kid,
        typ: 'at+jwt',
      });
      await expectOutcome(build({ strict: true }).verify(jwt), invalidToken('invalid_claims'));
    });
  }
  it('#61 requiredClaims adds claims outside strict mode too', async () => {
    await expectOutcome(
      build({ requiredClaims: ['client_id'] }).verify(token({})),
      invalidToken('invalid_claims'),
    );
    await accepts(build({ requiredClaims: ['client_id'] }), token({ client_id: 'c' }));
  });
});

describe('G. #62 string claims with wrong types', () => {
  const rows: readonly [string, Readonly<Record<string, unknown>>][] = [
    ['sub: 1', { sub: 1 }],
    ['sub: null', { sub: null }],
    ['client_id: {}', { client_id: {} }],
    ['client_id: 5', { client_id: 5 }],
    ['jti: []', { jti: [] }],
    ['jti: true', { jti: true }],
  ];
  for (const [name, overrides] of rows) {
    it(`#62 ${name}`, async () => {
      await expectOutcome(verifier.verify(token(overrides)), invalidToken('invalid_claims'));
      await expectOutcome(
        build({ strict: true }).verify(
          signer.token(claims({ client_id: 'c', ...overrides }), {
            alg: 'ES256',
            kid: signer.kid,
            typ: 'at+jwt',
          }),
        ),
        invalidToken('invalid_claims'),
      );
    });
  }
  it('#62 iss: 1 is invalid_issuer', async () => {
    await expectOutcome(verifier.verify(token({ iss: 1 })), invalidToken('invalid_issuer'));
  });
  it('#62 scope: 5 is a valid token that grants no scopes: 403 on a scoped check', async () => {
    const auth = verifier.authenticate(`Bearer ${token({ scope: 5 })}`);
    await expect(auth.claims()).resolves.toMatchObject({ scope: 5 });
    expect((await auth.scopes()).size).toBe(0);
    await expectOutcome(auth.require({ scopes: 'read:orders' }), forbidden('read:orders'));
  });
});

describe('G. #63 sender-constrained tokens sent as Bearer', () => {
  for (const [name, cnf] of [
    ['cnf.jkt (DPoP)', { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' }],
    ['cnf["x5t#S256"] (mTLS)', { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }],
    ['an empty cnf', {}],
  ] as const) {
    it(`#63 ${name}: invalid_token_binding in the default mode ('allowed')`, async () => {
      await expectOutcome(verifier.verify(token({ cnf })), invalidToken('invalid_token_binding'));
      await expectOutcome(
        verifier.authenticate(`Bearer ${token({ cnf })}`).claims(),
        invalidToken('invalid_token_binding'),
      );
    });

    it(`#63 ${name}: invalid_token_binding in the 'disabled' and 'required' modes too`, async () => {
      const dpop = 'DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';
      const error = 'error="invalid_token", error_description="The access token is invalid"';
      for (const [mode, challenge] of [
        ['disabled', `Bearer realm="api", ${error}`],
        ['required', `${dpop}, ${error}`],
      ] as const) {
        const moded = build({ dpop: { mode } });
        for (const action of [
          moded.verify(token({ cnf })),
          moded.authenticate(`Bearer ${token({ cnf })}`).claims(),
        ]) {
          await expectOutcome(action, {
            ...invalidToken('invalid_token_binding'),
            wwwAuthenticate: challenge,
          });
        }
      }
    });
  }
});
