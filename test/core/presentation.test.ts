/**
 * The one renderer of refusals (src/core/presentation.ts): challenges per DPoP mode and request
 * scheme (RFC 6750 3, RFC 9449 7.1), `resource_metadata` on 401 (RFC 9728 5.1), `DPoP-Nonce`, the
 * client view under `exposeReasons`, and the verifier's settings reaching errors the application
 * throws itself (`checkScopes`). AuthErrors of another copy of the package are recognised.
 */
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  type AuthRefusalReason,
  checkScopes,
  createVerifier,
  isAuthError,
} from '../../src/core/index.js';
import {
  type Presentation,
  renderChallenges,
  renderClientView,
  renderResponseHeaders,
} from '../../src/core/presentation.js';
import { createTestIssuer } from '../../src/testing/index.js';

const BASE: Presentation = { realm: 'api', exposeReasons: true };
const ALGS = { algorithms: ['ES256', 'EdDSA'] };
const allowed = (extra: Partial<Presentation> = {}): Presentation => ({
  ...BASE,
  dpop: { mode: 'allowed', ...ALGS },
  ...extra,
});
const required: Presentation = { ...BASE, dpop: { mode: 'required', ...ALGS } };
const INVALID_TOKEN = 'error="invalid_token", error_description="The access token is invalid"';
const DPOP_BARE = 'DPoP realm="api", algs="ES256 EdDSA"';

describe('renderChallenges', () => {
  it.each<[string, AuthRefusalReason, Presentation, string[]]>([
    ['Bearer only: missing_token', 'missing_token', BASE, ['Bearer realm="api"']],
    ['Bearer only: a 401', 'token_expired', BASE, [`Bearer realm="api", ${INVALID_TOKEN}`]],
    ['Bearer only: 503', 'issuer_unavailable', BASE, []],
    [
      'disabled mode is Bearer only',
      'token_expired',
      { ...BASE, dpop: { mode: 'disabled', ...ALGS } },
      [`Bearer realm="api", ${INVALID_TOKEN}`],
    ],
    ['allowed: missing_token, both bare', 'missing_token', allowed(), ['Bearer realm="api"', DPOP_BARE]],
    [
      'allowed: a Bearer request, error on Bearer',
      'token_expired',
      allowed({ scheme: 'Bearer' }),
      [`Bearer realm="api", ${INVALID_TOKEN}`, DPOP_BARE],
    ],
    [
      'allowed: a DPoP request, error on DPoP',
      'token_expired',
      allowed({ scheme: 'DPoP' }),
      ['Bearer realm="api"', `${DPOP_BARE}, ${INVALID_TOKEN}`],
    ],
    [
      "allowed: invalid_dpop_proof is DPoP's",
      'invalid_dpop_proof',
      allowed({ scheme: 'Bearer' }),
      [
        'Bearer realm="api"',
        `${DPOP_BARE}, error="invalid_dpop_proof", error_description="The access token is invalid"`,
      ],
    ],
    [
      "allowed: use_dpop_nonce is DPoP's",
      'use_dpop_nonce',
      allowed({ scheme: 'DPoP' }),
      [
        'Bearer realm="api"',
        `${DPOP_BARE}, error="use_dpop_nonce", error_description="The access token is invalid"`,
      ],
    ],
    [
      'allowed: invalid_token_binding under Bearer',
      'invalid_token_binding',
      allowed({ scheme: 'Bearer' }),
      [`Bearer realm="api", ${INVALID_TOKEN}`, DPOP_BARE],
    ],
    [
      'allowed: two DPoP headers (400)',
      'invalid_request',
      allowed({ scheme: 'DPoP' }),
      [
        'Bearer realm="api"',
        `${DPOP_BARE}, error="invalid_request", error_description="The request is malformed"`,
      ],
    ],
    ['required: dpop_required is the bare DPoP challenge', 'dpop_required', required, [DPOP_BARE]],
    ['required: a 401', 'invalid_signature', required, [`${DPOP_BARE}, ${INVALID_TOKEN}`]],
    ['required: replay store down (503)', 'replay_store_unavailable', required, []],
  ])('%s', (_name, reason, presentation, expected) => {
    expect(renderChallenges(new AuthError(reason), presentation)).toEqual(expected);
  });

  it("403 carries the scope on the request scheme's challenge", () => {
    const error = new AuthError('insufficient_scope', { requirement: [['read:a', 'read:b']] });
    expect(renderChallenges(error, allowed({ scheme: 'DPoP' }))).toEqual([
      'Bearer realm="api"',
      `${DPOP_BARE}, error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="read:a read:b"`,
    ]);
  });

  it('resource_metadata on every 401 challenge, never on 400 or 403', () => {
    const resourceMetadata = 'https://api.example.com/.well-known/oauth-protected-resource';
    const rm = `resource_metadata="${resourceMetadata}"`;
    expect(renderChallenges(new AuthError('missing_token'), allowed({ resourceMetadata }))).toEqual([
      `Bearer realm="api", ${rm}`,
      `${DPOP_BARE}, ${rm}`,
    ]);
    expect(renderChallenges(new AuthError('token_expired'), { ...BASE, resourceMetadata })).toEqual([
      `Bearer realm="api", ${INVALID_TOKEN}, ${rm}`,
    ]);
    expect(
      renderChallenges(new AuthError('invalid_request'), { ...BASE, resourceMetadata })[0],
    ).not.toContain('resource_metadata');
    expect(
      renderChallenges(new AuthError('claim_check_failed'), { ...BASE, resourceMetadata })[0],
    ).not.toContain('resource_metadata');
  });
});

describe('renderClientView and headers', () => {
  it('exposeReasons: false hides 401 reasons, never missing_token or use_dpop_nonce', () => {
    const hidden = { ...BASE, exposeReasons: false };
    expect(renderClientView(new AuthError('token_expired'), hidden)).toMatchObject({
      reason: 'invalid_token',
    });
    expect(renderClientView(new AuthError('invalid_dpop_proof'), hidden)).toMatchObject({
      reason: 'invalid_token',
    });
    expect(renderClientView(new AuthError('use_dpop_nonce'), hidden)).toMatchObject({
      reason: 'use_dpop_nonce',
    });
    expect(renderClientView(new AuthError('missing_token'), hidden)).toMatchObject({
      reason: 'missing_token',
    });
    expect(renderClientView(new AuthError('invalid_request'), hidden)).toMatchObject({
      reason: 'invalid_request',
    });
  });

  it('DPoP-Nonce when the request facts carry one; Vary on DPoP when DPoP is accepted', () => {
    expect(
      renderResponseHeaders(new AuthError('use_dpop_nonce'), allowed({ scheme: 'DPoP', dpopNonce: 'n-1' })),
    ).toEqual({
      'cache-control': 'private, no-store',
      vary: 'Authorization, DPoP',
      'www-authenticate': `Bearer realm="api", ${DPOP_BARE}, error="use_dpop_nonce", error_description="The access token is invalid"`,
      'dpop-nonce': 'n-1',
    });
  });
});

describe("the verifier's settings reach every refusal", () => {
  it('resourceMetadata: an https URL (http on loopback with allowInsecureLoopback); TypeError otherwise', async () => {
    const issuer = await createTestIssuer();
    for (const bad of ['http://api.example.com/.well-known/oauth-protected-resource', 'not a url', 42, '']) {
      expect(() => createVerifier({ ...issuer.verifierOptions, resourceMetadata: bad as string })).toThrow(
        /"resourceMetadata"/,
      );
    }
    expect(() =>
      createVerifier({
        ...issuer.verifierOptions,
        resourceMetadata: 'http://127.0.0.1:9/.well-known/oauth-protected-resource',
      }),
    ).toThrow(/"resourceMetadata"/);
    const loopback = createVerifier({
      ...issuer.verifierOptions,
      allowInsecureLoopback: true,
      resourceMetadata: 'http://127.0.0.1:9/.well-known/oauth-protected-resource',
    });
    const error = (await loopback.verify('x.y.z').catch((e: unknown) => e)) as AuthError;
    const rm = 'resource_metadata="http://127.0.0.1:9/.well-known/oauth-protected-resource"';
    expect(error.wwwAuthenticate).toBe(
      `Bearer realm="api", ${INVALID_TOKEN}, ${rm}, DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256", ${rm}`,
    );
  });

  it('realm and exposeReasons of the verifier, on its errors and on checkScopes through its request auth', async () => {
    const issuer = await createTestIssuer();
    const verifier = createVerifier({ ...issuer.verifierOptions, realm: 'orders', exposeReasons: false });
    const expired = (await verifier.verify(await issuer.expired()).catch((e: unknown) => e)) as AuthError;
    expect(expired.wwwAuthenticate).toBe(
      `Bearer realm="orders", ${INVALID_TOKEN}, DPoP realm="orders", algs="ES256 EdDSA Ed25519 PS256 RS256"`,
    );
    expect(expired.toJSON().reason).toBe('invalid_token');
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({ scope: 'a' })}`);
    const denied = (await auth.require({ scopes: 'b' }).catch((e: unknown) => e)) as AuthError;
    expect(denied.wwwAuthenticate).toContain('Bearer realm="orders", error="insufficient_scope"');
  });

  it('an unbound checkScopes error renders with the defaults (realm "api")', () => {
    let error: unknown;
    try {
      checkScopes(new Set(), 'a');
    } catch (e) {
      error = e;
    }
    expect((error as AuthError).wwwAuthenticate).toContain('Bearer realm="api", error="insufficient_scope"');
  });
});

describe('isAuthError across copies of the package', () => {
  it('recognises an AuthError of another copy (the built dist) by its Symbol.for brand', async () => {
    // A path TypeScript does not resolve: dist exists only after the build (npm test builds first).
    const dist = '../../dist/core/index.js';
    const other = (await import(dist)) as typeof import('../../src/core/index.js');
    const foreign = new other.AuthError('token_expired');
    expect(foreign instanceof AuthError).toBe(false);
    expect(isAuthError(foreign)).toBe(true);
    expect(isAuthError(foreign, 'UNAUTHORIZED')).toBe(true);
    expect(isAuthError(foreign, 'FORBIDDEN')).toBe(false);
    expect(other.isAuthError(new AuthError('missing_token'))).toBe(true);
    expect(isAuthError({ name: 'AuthError', code: 'UNAUTHORIZED' })).toBe(false);
  });
});
