/** A `claims` schema types the verified claims for the whole app (DESIGN.md, Core). */
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createVerifier, type JwtClaims, type RequestAuth, type Verifier } from '../../src/core/index.js';

const base = { issuer: 'https://issuer.example.test/', audience: 'https://api.example.test' } as const;

describe('claims types', () => {
  it('without a schema: the registered claims', () => {
    const verifier = createVerifier(base);
    expectTypeOf(verifier).toEqualTypeOf<Verifier<JwtClaims>>();
    expectTypeOf(verifier.verify).returns.resolves.toHaveProperty('iss').toEqualTypeOf<string>();
    expectTypeOf(verifier.verify).returns.resolves.toHaveProperty('sub').toEqualTypeOf<string | undefined>();
  });

  it('with a zod v4 schema: its output joins the registered claims', () => {
    const verifier = createVerifier({
      ...base,
      claims: z.object({ org_id: z.string(), roles: z.array(z.enum(['admin', 'member'])).default([]) }),
    });
    type Claims = Awaited<ReturnType<typeof verifier.verify>>;
    expectTypeOf<Claims['org_id']>().toEqualTypeOf<string>();
    expectTypeOf<Claims['roles']>().toEqualTypeOf<('admin' | 'member')[]>();
    expectTypeOf<Claims['iss']>().toEqualTypeOf<string>();
    expectTypeOf<Claims['exp']>().toEqualTypeOf<number>();
    expectTypeOf(verifier.authenticate(null)).toEqualTypeOf<RequestAuth<Claims>>();
    expectTypeOf(verifier.authenticate(null).claims).returns.resolves.toHaveProperty('org_id');
  });

  it('options that cannot be combined do not compile', () => {
    // @ts-expect-error: jwksUri and jwks are exclusive
    createVerifier({ ...base, jwksUri: 'https://x.example.test/jwks', jwks: { keys: [] } });
    // @ts-expect-error: domain gives the issuer
    createVerifier({ domain: 'tenant.example.test', issuer: 'https://x/', audience: 'a' });
    // @ts-expect-error: the audience is required
    createVerifier({ issuer: 'https://issuer.example.test/' });
    // @ts-expect-error: not an algorithm
    createVerifier({ ...base, algorithms: ['rs256'] });
    // @ts-expect-error: a RegExp is no issuer (SECURITY.md #74)
    createVerifier({ issuer: /issuer/g, audience: 'a' });
  });
});
