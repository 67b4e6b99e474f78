/**
 * SECURITY.md section J: response hygiene (#75) and logging (#76), plus the `exposeReasons`
 * decision of #47/#75.
 */
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type AuthError,
  authResponseHeaders,
  checkScopes,
  createVerifier,
  isAuthError,
  type Verifier,
} from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import {
  b64,
  CHALLENGE_INVALID_TOKEN,
  CHALLENGE_MISSING,
  expectOutcome,
  flipBit,
  invalidToken,
  recordingLogger,
  tokenWith,
  withSegment,
} from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions);
});

async function caught(action: Promise<unknown>): Promise<AuthError> {
  try {
    await action;
  } catch (error) {
    if (isAuthError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Failing tokens, one per 401 reason the verifier can reach with a static key source. */
async function failingTokens(): Promise<[string, string][]> {
  const token = await issuer.sign({ scope: 'read:orders', secret_claim: 'S3CR3T-CLAIM-VALUE' });
  return [
    ['malformed_token', `${token}.`],
    ['unsupported_algorithm', withSegment(token, 0, b64(JSON.stringify({ alg: 'HS256' })))],
    ['invalid_signature', flipBit(token, 2, 3)],
    ['unknown_key', await issuer.sign({}, { header: { kid: 'nope' } })],
    ['token_expired', await issuer.expired({ secret_claim: 'S3CR3T-CLAIM-VALUE' })],
    ['token_not_yet_valid', await issuer.notYetValid()],
    ['invalid_issuer', await issuer.wrongIssuer()],
    ['invalid_audience', await issuer.wrongAudience()],
    ['invalid_claims', await issuer.sign({ exp: 'soon' })],
    ['invalid_token_binding', await issuer.sign({ cnf: { jkt: 'x' } })],
  ];
}

/** error_description and realm values: %x20-21 / %x23-5B / %x5D-7E only (RFC 6750 3). */
const QUOTED_VALUE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function attributes(challenge: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const match of challenge.matchAll(/([a-z_]+)="([^"]*)"/g)) {
    const [, name = '', value = ''] = match;
    found.set(name, [...(found.get(name) ?? []), value]);
  }
  return found;
}

describe('J. #75 every failure has a generic, safe client view', () => {
  it('#75 toJSON, message and the challenge never carry the token, claims, jose text or a stack', async () => {
    for (const [reason, token] of await failingTokens()) {
      const error = await caught(verifier.authenticate(`Bearer ${token}`).claims());
      expect(error.reason, reason).toBe(reason);
      const view = error.toJSON();
      expect(Object.keys(view).sort()).toEqual(['code', 'message', 'reason']);
      const serialized = JSON.stringify(error);
      expect(serialized).toBe(JSON.stringify(view));
      for (const part of [token, ...token.split('.').filter((segment) => segment.length > 8)]) {
        expect(serialized).not.toContain(part);
        expect(error.message).not.toContain(part);
        expect(error.wwwAuthenticate).not.toContain(part);
      }
      expect(serialized).not.toMatch(/S3CR3T|stack|JWS|jose|kid|\\n|\n/);
      expect(error.wwwAuthenticate).toBe(CHALLENGE_INVALID_TOKEN);
    }
  });

  it('#75 every challenge has realm, error, error_description and scope at most once, in the allowed characters', async () => {
    const errors: AuthError[] = [];
    for (const [, token] of await failingTokens()) errors.push(await caught(verifier.verify(token)));
    errors.push(await caught(verifier.authenticate(null).claims()));
    errors.push(await caught(verifier.authenticate('Bearer a b').claims()));
    errors.push(
      await caught(
        verifier.authenticate(`Bearer ${await issuer.sign()}`).require({ scopes: [['a:b', 'c'], ['d']] }),
      ),
    );
    for (const error of errors) {
      const challenge = error.wwwAuthenticate as string;
      expect(challenge.startsWith('Bearer realm="api"')).toBe(true);
      // One Bearer and one DPoP challenge (default mode 'allowed'): each has every attribute once.
      const [bearer, dpop, ...more] = challenge.split(/, (?=DPoP )/);
      expect(more).toEqual([]);
      expect(dpop).toMatch(/^DPoP realm="api", algs="[^"]+"/);
      for (const one of [bearer as string, dpop as string]) {
        for (const [name, values] of attributes(one)) {
          expect(values, `${name} in ${one}`).toHaveLength(1);
          expect(values[0]).toMatch(QUOTED_VALUE);
        }
      }
    }
  });

  it('#75 the 503 view carries no challenge, no cause and no URL', async () => {
    const down = createVerifier({
      ...issuer.verifierOptions,
      fetch: undefined,
      jwksUri: 'http://127.0.0.1:1/private-path/jwks.json',
      allowInsecureLoopback: true,
      timeoutMs: 2000,
    } as never);
    const error = await expectOutcome(down.verify(await issuer.sign()), {
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      reason: 'issuer_unavailable',
      wwwAuthenticate: undefined,
    });
    expect(error.cause).toBeDefined();
    expect(JSON.stringify(error)).not.toMatch(/127\.0\.0\.1|private-path|ECONNREFUSED/);
    expect(authResponseHeaders(error)).toEqual({
      'cache-control': 'private, no-store',
      vary: 'Authorization, DPoP',
    });
  });

  it('#75 a claims schema failure keeps its issues in cause, never in the client view', async () => {
    const typed = createVerifier({ ...issuer.verifierOptions, claims: z.object({ tenant: z.string() }) });
    const error = await expectOutcome(typed.verify(await issuer.sign()), invalidToken('invalid_claims'));
    expect(error.cause).toBeDefined();
    expect(JSON.stringify(error)).not.toMatch(/tenant|expected|string/i);
  });

  it('#75 a realm with quotes, backslashes, CTLs and CRLF is sanitized', () => {
    const realm = 'my "api"\\\u0001\u007f\u00e9\r\nSet-Cookie: x=1';
    const strange = createVerifier({ ...issuer.verifierOptions, realm });
    const error = strange.authenticate(null);
    return error.claims().catch((thrown: AuthError) => {
      expect(thrown.wwwAuthenticate).toBe(
        'Bearer realm="my apiSet-Cookie: x=1", DPoP realm="my apiSet-Cookie: x=1", algs="ES256 EdDSA Ed25519 PS256 RS256"',
      );
      expect(thrown.wwwAuthenticate).toMatch(/^[\x20-\x7e]*$/);
    });
  });

  it('#75 the challenge for a missing token has no error code (RFC 6750 3.1)', async () => {
    const error = await caught(verifier.authenticate(undefined).claims());
    expect(error.wwwAuthenticate).toBe(CHALLENGE_MISSING);
  });
});

describe('J. #47/#75 exposeReasons: false', () => {
  it('#75 every 401 reason but missing_token reads invalid_token; 400/403 keep theirs', async () => {
    const quiet = createVerifier({ ...issuer.verifierOptions, exposeReasons: false });
    for (const [reason, token] of await failingTokens()) {
      const error = await caught(quiet.verify(token));
      expect(error.reason).toBe(reason);
      expect(error.publicReason).toBe('invalid_token');
      expect(error.toJSON()).toEqual({
        code: 'UNAUTHORIZED',
        reason: 'invalid_token',
        message: 'The access token is invalid',
      });
      expect(error.wwwAuthenticate).toBe(CHALLENGE_INVALID_TOKEN);
    }
    expect((await caught(quiet.authenticate(null).claims())).toJSON().reason).toBe('missing_token');
    expect((await caught(quiet.authenticate('Bearer').claims())).toJSON().reason).toBe('invalid_request');
    const forbidden = await caught(
      quiet.authenticate(`Bearer ${await issuer.sign()}`).require({ scopes: 'x' }),
    );
    expect(forbidden.toJSON().reason).toBe('insufficient_scope');
  });

  it('#75 checkScopes without a verifier uses the default presentation', () => {
    let thrown: unknown;
    try {
      checkScopes(new Set(['a']), 'b');
    } catch (error) {
      thrown = error;
    }
    expect((thrown as AuthError).wwwAuthenticate).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="b"',
    );
  });
});

describe('J. #76 logs never carry the raw token', () => {
  it('#76 warnings for weak keys, duplicate kids and JWKS failures hold no token text', async () => {
    const logger = recordingLogger();
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' };
    const withWeakKey = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: { keys: [jwk, { ...jwk }] },
      logger,
    });
    const weakToken = tokenWith(
      'RS256',
      weak.privateKey,
      { iss: issuer.issuer },
      { alg: 'RS256', kid: 'weak' },
    );
    await caught(withWeakKey.verify(weakToken));

    const down = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: 'http://127.0.0.1:1/jwks.json',
      allowInsecureLoopback: true,
      logger,
    });
    const goodToken = await issuer.sign();
    await caught(down.verify(goodToken));
    await caught(down.authenticate(`Bearer ${goodToken}`).claims());

    expect(logger.calls.length).toBeGreaterThanOrEqual(3);
    const dump = inspect(logger.calls, { depth: 20 });
    for (const token of [weakToken, goodToken]) {
      for (const part of token.split('.')) expect(dump).not.toContain(part);
    }
  });

  it('#76 an AuthError inspected for a log (with its cause) holds no token text', async () => {
    for (const [, token] of await failingTokens()) {
      const dump = inspect(await caught(verifier.verify(token)), { depth: 20 });
      for (const part of token.split('.').filter((segment) => segment.length > 8)) {
        expect(dump).not.toContain(part);
      }
    }
  });
});
