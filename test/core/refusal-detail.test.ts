/**
 * Issue 8, "say why": every refusal of the verifier carries a server-only `AuthError.detail`
 * naming the segment, header rule, issuer, key stage, signature or claim (expected vs actual),
 * and the detail never reaches a client (toJSON, challenge).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AuthError, createVerifier, isAuthError } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js';

let issuer: TestIssuer;
let other: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer({ kid: 'detail' });
  other = await createTestIssuer({ kid: 'other' });
});

const b64 = (value: string) => Buffer.from(value).toString('base64url');

async function refusal(action: Promise<unknown>): Promise<AuthError> {
  try {
    await action;
  } catch (error) {
    if (isAuthError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

function verifier(extra: Record<string, unknown> = {}) {
  return createVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwks: issuer.jwks(),
    ...extra,
  } as Parameters<typeof createVerifier>[0]);
}

function expectServerOnly(error: AuthError): void {
  const detail = error.detail as string;
  expect(detail.length).toBeGreaterThan(5);
  expect(JSON.stringify(error.toJSON())).not.toContain(detail);
  expect(error.wwwAuthenticate ?? '').not.toContain(detail);
  expect(Object.values(error.toJSON())).not.toContain(detail);
}

describe('AuthError.detail names what failed', () => {
  it('the malformed segment: structure, header, payload, signature', async () => {
    const v = verifier();
    const good = await issuer.sign();
    const [h, p] = good.split('.') as [string, string, string];
    const cases: readonly [string, string][] = [
      ['a.b', 'structure: 2 segments, a compact JWS has 3'],
      [`${h}=.${p}.AAAA`, 'header: not strict base64url'],
      [`${b64('{nope')}.${p}.AAAA`, 'header: not JSON'],
      [`${b64('[1]')}.${p}.AAAA`, 'header: not a JSON object'],
      [`${h}.${b64('"x"')}.AAAA`, 'payload: not a JSON object'],
      [`${h}..AAAA`, 'payload: empty segment'],
      [`${h}.${p}.`, 'signature: empty segment'],
      [`${h}.${p}.AA+A`, 'signature: not strict base64url'],
    ];
    for (const [token, detail] of cases) {
      const error = await refusal(v.verify(token));
      expect(error.reason, token).toBe('malformed_token');
      expect(error.detail, token).toContain(detail);
      expectServerOnly(error);
    }
  });

  it('the header rule: alg outside the list, crit, JWE parameters, cty, strict typ', async () => {
    const v = verifier();
    const crit = await refusal(v.verify(await issuer.sign({}, { header: { crit: ['b64'], b64: true } })));
    expect(crit).toMatchObject({
      reason: 'malformed_token',
      detail: 'header: "crit" is present (no extension is understood)',
    });
    const jwe = await refusal(v.verify(await issuer.sign({}, { header: { enc: 'A128GCM' } })));
    expect(jwe).toMatchObject({
      reason: 'malformed_token',
      detail: 'header: "enc" is a JWE parameter (not a JWS)',
    });
    const cty = await refusal(v.verify(await issuer.sign({}, { header: { cty: 'JWT' } })));
    expect(cty).toMatchObject({
      reason: 'invalid_token_type',
      detail: 'header: cty "JWT" (nested JWTs are refused)',
    });
    const typ = await refusal(verifier({ strict: true }).verify(await issuer.sign({ client_id: 'c' })));
    expect(typ).toMatchObject({
      reason: 'invalid_token_type',
      detail: 'header: typ expected "at+jwt" (strict), got "JWT"',
    });
    const unlisted = await refusal(
      verifier({
        algorithms: ['RS384'],
        jwks: { keys: issuer.jwks().keys.map(({ alg: _alg, ...jwk }) => jwk) },
      }).verify(await issuer.sign()),
    );
    expect(unlisted).toMatchObject({
      reason: 'unsupported_algorithm',
      detail: 'header: alg "RS256" is not accepted (algorithms: RS384)',
    });
  });

  it('the issuer, expected vs actual', async () => {
    const error = await refusal(verifier().verify(await issuer.wrongIssuer()));
    expect(error.reason).toBe('invalid_issuer');
    expect(error.detail).toBe(
      `iss: expected ["${issuer.issuer}"], got "https://another-issuer.example.test/"`,
    );
    expectServerOnly(error);
  });

  it('the key stage (unknown kid) and the signature', async () => {
    const unknown = await refusal(verifier().verify(await other.sign({ iss: issuer.issuer })));
    expect(unknown).toMatchObject({
      reason: 'unknown_key',
      detail: 'key: no usable RS256 key with kid "other-1" in the static key set',
    });
    const token = await other.sign({ iss: issuer.issuer }, { header: { kid: issuer.kid } });
    const bad = await refusal(verifier().verify(token));
    expect(bad.reason).toBe('invalid_signature');
    expect(bad.detail).toBe(
      `signature: does not verify with the 1 RS256 key(s) of ${issuer.issuer} matching kid "${issuer.kid}"`,
    );
  });

  it('the claim, with expected and actual values and times', async () => {
    const v = verifier({ requiredClaims: ['org'] });
    const aud = await refusal(v.verify(await issuer.wrongAudience({ org: 'o' })));
    expect(aud).toMatchObject({
      reason: 'invalid_audience',
      detail: `aud: expected ["${issuer.audience}"], got "https://another-api.example.test"`,
    });
    const exp = await refusal(v.verify(await issuer.sign({ org: 'o', exp: 1_000_000_000 })));
    expect(exp.reason).toBe('token_expired');
    expect(exp.detail).toMatch(
      /^exp: 1000000000 \(2001-09-09T01:46:40\.000Z\) is past \(now \d+ \(20\d\d-.*Z\), clockTolerance 5s\)$/,
    );
    const nbf = await refusal(v.verify(await issuer.notYetValid({ org: 'o' })));
    expect(nbf.reason).toBe('token_not_yet_valid');
    expect(nbf.detail).toMatch(/^nbf: \d+ \(.*\) is in the future/);
    const required = await refusal(v.verify(await issuer.sign()));
    expect(required).toMatchObject({
      reason: 'invalid_claims',
      detail: 'org: required (requiredClaims), missing',
    });
    const strict = await refusal(
      verifier({ strict: true }).verify(await issuer.sign({}, { header: { typ: 'at+jwt' } })),
    );
    expect(strict).toMatchObject({
      reason: 'invalid_claims',
      detail: 'client_id: required (strict, RFC 9068), missing',
    });
    const type = await refusal(v.verify(await issuer.sign({ org: 'o', sub: 42 })));
    expect(type).toMatchObject({ reason: 'invalid_claims', detail: 'sub: expected a string, got number' });
  });

  it('schema issues: how many and which claims, never the token values', async () => {
    const v = verifier({ claims: z.object({ org: z.enum(['acme']), tier: z.number() }) });
    const error = await refusal(v.verify(await issuer.sign({ org: 'secret-org-value', tier: 'gold' })));
    expect(error.reason).toBe('invalid_claims');
    expect(error.detail).toBe('claims schema: 2 issue(s) at org, tier');
    expect(error.detail).not.toContain('secret-org-value');
    expectServerOnly(error);
  });
});

describe('AuthError.detail of a failing key fetch names the cause', () => {
  let server: JwksServer;
  beforeAll(async () => {
    server = await startJwksServer({ jwks: () => issuer.jwks() });
  });
  afterAll(() => server.close());

  it('a 500 from the JWKS URL', async () => {
    await server.setBehaviour('error500');
    const v = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: server.jwksUri,
      allowInsecureLoopback: true,
      logger: false,
    });
    const error = await refusal(v.verify(await issuer.sign()));
    expect(error.reason).toBe('issuer_unavailable');
    expect(error.detail).toContain('keys: fetch failed:');
    expect(error.detail).toContain('500');
    expect(error.detail).toContain(server.jwksUri);
    expectServerOnly(error);
    await v.close();
  });
});
