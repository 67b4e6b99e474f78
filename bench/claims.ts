/**
 * Section "claims": `verify()` per-token cost beyond the signature check, on RS256 tokens shaped
 * like Auth0's access tokens (typ at+jwt, iss, sub, aud, iat, exp, scope, client_id, jti) and on
 * the small tokens of verify.bench.ts, for scopegate, jose and fast-jwt.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { createVerifier as createFastJwtVerifier } from 'fast-jwt';
import { importJWK, type JWK, jwtVerify } from 'jose';
import { createVerifier } from '../src/core/index.js';
import { createTestIssuer } from '../src/testing/index.js';
import { baselineLabel, baselineModule } from './baseline.js';
import { check, fmt, interleave, table } from './common.js';

const AUDIENCE = 'https://api.bench';

export type TokenShape = 'auth0' | 'small';

/** `count` unique RS256 tokens of one shape, the verifiers, and a forged and an expired token. */
export async function claimsSetup(shape: TokenShape, count: number) {
  const auth0 = shape === 'auth0';
  const issuerOptions = {
    algorithm: 'RS256',
    audience: AUDIENCE,
    ...(auth0 && { issuer: 'https://bench-tenant.eu.auth0.test/', header: { typ: 'at+jwt' } }),
  } as const;
  const issuer = await createTestIssuer(issuerOptions);
  const forger = await createTestIssuer(issuerOptions);
  const claims = (i: number) =>
    auth0
      ? {
          sub: `auth0|65f1c0ffee${String(i).padStart(14, '0')}`,
          aud: [AUDIENCE, 'https://bench-tenant.eu.auth0.test/userinfo'],
          scope: 'openid profile email read:items write:items',
          client_id: 'Xq3bL9kZpN2wR7vT5mY8cJ4hF6dG1sA0',
        }
      : { scope: 'read:data', n: i };
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) => issuer.sign(claims(i), { expiresIn: 3600 })),
  );
  const jwk = issuer.jwks().keys[0] as JWK;
  const keyObject = createPublicKey({ key: jwk as never, format: 'jwk' });
  const cryptoKey = await importJWK(jwk, 'RS256');
  const options = { issuer: issuer.issuer, audience: AUDIENCE, algorithms: ['RS256'] } as const;
  const scopegate = createVerifier({ ...options, jwks: issuer.jwks() });
  const beforeCore = await baselineModule<typeof import('../src/core/index.js')>('core/index.ts');
  const before = beforeCore?.createVerifier({ ...options, jwks: issuer.jwks() });
  const fastJwt = createFastJwtVerifier({
    key: keyObject.export({ type: 'spki', format: 'pem' }) as string,
    algorithms: ['RS256'],
    allowedIss: issuer.issuer,
    allowedAud: AUDIENCE,
    cache: false,
  });
  const verifiers: Record<string, (token: string) => unknown> = {
    'node:crypto (floor)': (token) => {
      const dot = token.lastIndexOf('.');
      const ok = cryptoVerify(
        'sha256',
        Buffer.from(token.slice(0, dot), 'latin1'),
        keyObject,
        Buffer.from(token.slice(dot + 1), 'base64url'),
      );
      if (!ok) throw new Error('raw verify failed');
    },
    scopegate: (token) => scopegate.verify(token),
    ...(before && {
      [`scopegate ${baselineLabel()}`]: (token: string) => before.verify(token),
    }),
    'jose.jwtVerify': (token) =>
      jwtVerify(token, cryptoKey, { ...options, algorithms: ['RS256'], requiredClaims: ['exp'] }),
    'fast-jwt': (token) => fastJwt(token),
  };
  return {
    tokens,
    verifiers,
    scopegate,
    bad: {
      missing: '',
      forged: await forger.sign(claims(0), { expiresIn: 3600 }),
      expired: await issuer.expired(claims(0)),
    },
  };
}

async function refuses(run: () => unknown): Promise<boolean> {
  try {
    await run();
    return false;
  } catch {
    return true;
  }
}

export async function claimsSection(options: { rounds: number; tokens: number }): Promise<string> {
  const rows: string[][] = [];
  for (const shape of ['auth0', 'small'] as const) {
    const { tokens, verifiers, bad } = await claimsSetup(shape, options.tokens);
    for (const [name, verify] of Object.entries(verifiers)) {
      await verify(tokens[0] as string);
      if (name.includes('floor')) continue;
      for (const [what, token] of Object.entries(bad)) {
        check(await refuses(() => verify(token)), `${name} refuses a ${what} token`);
      }
    }
    const perToken = await interleave(
      Object.entries(verifiers).map(([name, verify]) => {
        let i = 0;
        return { name, run: () => verify(tokens[i++ % tokens.length] as string) };
      }),
      { rounds: options.rounds, iterations: options.tokens, warmup: 300 },
    );
    const floor = perToken.get('node:crypto (floor)') as number;
    const payloadBytes = Buffer.from((tokens[0] as string).split('.')[1] as string, 'base64url').length;
    for (const [name, us] of perToken) {
      rows.push([
        `${shape === 'auth0' ? 'Auth0-shaped' : 'small'} (${payloadBytes} B payload)`,
        name,
        fmt(us, 1),
        name.includes('floor') ? '-' : fmt(us - floor, 1),
        fmt(1e6 / us),
      ]);
    }
  }
  return [
    `verify() cost per RS256 token beyond the floor (crypto.verify with a KeyObject + base64url decode of the signature), ${options.tokens} unique tokens, median of ${options.rounds} interleaved rounds, Node ${process.version}`,
    '',
    table(
      ['tokens', 'verifier', 'us / token', 'us beyond floor', 'verifies per CPU-second'],
      ['l', 'l', 'r', 'r', 'r'],
      rows,
    ),
  ].join('\n');
}
