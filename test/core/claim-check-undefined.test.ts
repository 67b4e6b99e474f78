/**
 * Issue 8 item 3: `requireClaims({ org: undefined })` (a missing configuration value) let every
 * token through. An `undefined` (or any non-primitive) expected value is a TypeError where the
 * check is declared, and the runtime path validates any check that skipped declaration.
 */
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClaimCheck,
  checkClaims,
  claimEquals,
  claimIncludes,
  createVerifier,
} from '../../src/core/index.js';
import { compileClaimCheck } from '../../src/core/scopes.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  authErrorFormatter,
  createAuthContext,
  createAuthProcedures,
  requireClaims,
} from '../../src/trpc/index.js';

const config: { org?: string } = {};

describe('declaration', () => {
  it('requireClaims({ org: undefined }) is a TypeError naming the claim', () => {
    expect(() => requireClaims({ org: config.org } as never)).toThrow(TypeError);
    expect(() => requireClaims({ org: config.org } as never)).toThrow(
      /claim check "org": expected a string, number, boolean or null.*got undefined; a missing configuration value\?/,
    );
  });

  it('compileClaimCheck refuses undefined, NaN, functions, symbols, bigints, in lists too', () => {
    for (const bad of [undefined, Number.NaN, () => true, Symbol('x'), 1n, ['acme', undefined], []]) {
      expect(() => compileClaimCheck({ org: bad } as never), String(bad)).toThrow(TypeError);
    }
    expect(compileClaimCheck({ org: 'acme', tier: [1, 2], admin: true, deleted: null })).toBeDefined();
  });

  it('claimEquals and claimIncludes refuse an undefined expected value', () => {
    expect(() => claimEquals('org', config.org as never)).toThrow(TypeError);
    expect(() => claimIncludes('roles', 'admin', config.org as never)).toThrow(TypeError);
  });
});

describe('the runtime path cannot skip compilation', () => {
  it('checkClaims with an uncompiled { org: undefined } throws a TypeError instead of passing', async () => {
    const check = { org: undefined } as unknown as ClaimCheck<object>;
    await expect(checkClaims({ sub: 'mallory' }, check)).rejects.toThrow(TypeError);
  });

  describe('over HTTP (tRPC): auth.require({ claims: { org: undefined } }) never serves', () => {
    let issuer: TestIssuer;
    let url: string;
    let close: () => Promise<void>;
    beforeAll(async () => {
      issuer = await createTestIssuer();
      const verifier = createVerifier(issuer.verifierOptions as never);
      const createContext = createAuthContext(verifier);
      const t = initTRPC.context<typeof createContext>().create({ errorFormatter: authErrorFormatter });
      const { protectedProcedure } = createAuthProcedures(t);
      const router = t.router({
        secret: protectedProcedure.query(async ({ ctx }) => {
          await ctx.auth.require({ claims: { org: config.org } as never });
          return 'acme secret';
        }),
      });
      const server = createHTTPServer({ router, createContext });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      close = () => new Promise((resolve) => server.close(() => resolve()));
    });
    afterAll(() => close?.());

    it('a token without org gets a 500, not the data', async () => {
      const token = await issuer.sign({ sub: 'mallory' });
      const response = await fetch(`${url}/secret`, { headers: { authorization: `Bearer ${token}` } });
      const body = await response.text();
      expect(response.status).toBe(500);
      expect(body).not.toContain('acme secret');
    });
  });
});
