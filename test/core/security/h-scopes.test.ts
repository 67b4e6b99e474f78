/**
 * SECURITY.md section H, the core part (#64-#69): exact-token scope matching through
 * `auth.require({ scopes })`, `checkScopes` and a real HTTP server. The adapter rows (#70, #71)
 * live with the tRPC and GraphQL tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthError,
  checkScopes,
  createVerifier,
  hasScopes,
  type Verifier,
} from '../../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import {
  type AuthServer,
  challengeInsufficientScopeUnbound,
  expectOutcome,
  expectReply,
  forbidden,
  startAuthServer,
} from './support.js';

let issuer: TestIssuer;
let verifier: Verifier;
let server: AuthServer;

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions);
  server = await startAuthServer(verifier, { policy: { scopes: 'read:orders' } });
});
afterAll(() => server.close());

/** Asserts the 403 through require(), checkScopes() and the HTTP server, or acceptance by all three. */
async function expectScopes(
  tokenClaims: Readonly<Record<string, unknown>>,
  allowed: boolean,
  target: Verifier = verifier,
  requirement = 'read:orders',
) {
  const token = await issuer.sign(tokenClaims);
  const auth = target.authenticate(`Bearer ${token}`);
  const granted = await auth.scopes();
  if (allowed) {
    await expect(auth.require({ scopes: requirement })).resolves.toMatchObject({ sub: 'test-user' });
    expect(hasScopes(granted, requirement)).toBe(true);
    expect(() => checkScopes(granted, requirement)).not.toThrow();
  } else {
    await expectOutcome(auth.require({ scopes: requirement }), forbidden(requirement));
    expect(hasScopes(granted, requirement)).toBe(false);
    let thrown: unknown;
    try {
      checkScopes(granted, requirement);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      status: 403,
      reason: 'insufficient_scope',
      requiredScopes: [requirement],
    });
    expect((thrown as AuthError).wwwAuthenticate).toBe(challengeInsufficientScopeUnbound(requirement));
  }
  if (target === verifier && requirement === 'read:orders') {
    const reply = await server.request({ headers: { authorization: `Bearer ${token}` } });
    if (allowed) expect(reply.status).toBe(200);
    else expectReply(reply, forbidden('read:orders'));
  }
}

describe('H. #64 no scope claim', () => {
  it('#64 a valid token without scope on a scoped check is 403, not 401', async () => {
    await expectScopes({}, false);
  });
});

describe('H. #65 whole-token matching, never substrings', () => {
  for (const scope of [
    'read:orders:all',
    'xread:orders',
    'read:ordersx',
    'read:order',
    'read:order s',
    'READ:ORDERS',
  ]) {
    it(`#65 token scope "${scope}" does not grant read:orders`, async () => {
      await expectScopes({ scope }, false);
    });
  }
  it('#65 control: "write:orders read:orders" grants read:orders', async () => {
    await expectScopes({ scope: 'write:orders read:orders' }, true);
  });
});

describe('H. #66 scope values are case-sensitive', () => {
  it('#66 required read:Orders, token read:orders', async () => {
    await expectScopes({ scope: 'read:orders' }, false, verifier, 'read:Orders');
  });
});

describe('H. #67 separators and claim types', () => {
  const refused: readonly [string, unknown][] = [
    ['a tab separator', 'write:orders\tread:orders'],
    ['a comma separator', 'write:orders,read:orders'],
    ['a newline separator', 'write:orders\nread:orders'],
    ['a no-break space separator', 'write:orders\u00a0read:orders'],
    ['null', null],
    ['5', 5],
    ['true', true],
    ['an object', { 'read:orders': true }],
    ['an array with a non-string member', ['read:orders', 5]],
    ['an array holding one space-joined string', ['write:orders read:orders']],
  ];
  for (const [name, scope] of refused) {
    it(`#67 scope as ${name} grants nothing`, async () => {
      await expectScopes({ scope }, false);
    });
  }
  const accepted: readonly [string, Readonly<Record<string, unknown>>][] = [
    ['runs of spaces', { scope: 'write:orders    read:orders' }],
    ['leading and trailing spaces', { scope: '  read:orders  ' }],
    ['a string array in scope (DESIGN.md: string or array)', { scope: ['read:orders'] }],
    ['an scp array', { scp: ['write:orders', 'read:orders'] }],
    ['an scp string', { scp: 'read:orders' }],
  ];
  for (const [name, tokenClaims] of accepted) {
    it(`#67 ${name} grants read:orders`, async () => {
      await expectScopes(tokenClaims, true);
    });
  }
  it('#67 Auth0 permissions count only when configured in scopeClaims', async () => {
    await expectScopes({ permissions: ['read:orders'] }, false);
    const rbac = createVerifier({ ...issuer.verifierOptions, scopeClaims: ['scope', 'permissions'] });
    await expectScopes({ permissions: ['read:orders'] }, true, rbac);
    await expectScopes({ permissions: 'read:orders' }, true, rbac);
    await expectScopes({ permissions: ['read:orders:all'] }, false, rbac);
    // scp is then no longer a scope claim.
    await expectScopes({ scp: ['read:orders'] }, false, rbac);
  });
});

describe('H. #68 scopes come only from the verified payload', () => {
  it('#68 scope in the JWT header, the query string and a custom header grant nothing', async () => {
    const token = await issuer.sign(
      { scope: 'profile' },
      { header: { scope: 'read:orders', scp: ['read:orders'] } },
    );
    const reply = await server.request({
      path: '/?scope=read:orders&scp=read:orders',
      headers: { authorization: `Bearer ${token}`, 'x-scope': 'read:orders' },
    });
    expectReply(reply, forbidden('read:orders'));
    const auth = verifier.authenticate(`Bearer ${token}`);
    expect([...(await auth.scopes())]).toEqual(['profile']);
  });

  it('#68 mutating the returned claims object does not change the token, and each request re-reads it', async () => {
    const token = await issuer.sign({ scope: 'profile' });
    const first = await verifier.authenticate(`Bearer ${token}`).claims();
    (first as Record<string, unknown>).scope = 'read:orders';
    const again = verifier.authenticate(`Bearer ${token}`);
    await expectOutcome(again.require({ scopes: 'read:orders' }), forbidden('read:orders'));
  });
});

describe('H. #69 the 403 carries the needed scopes', () => {
  it('#69 a single scope', async () => {
    const reply = await server.request({ headers: { authorization: `Bearer ${await issuer.sign()}` } });
    expectReply(reply, forbidden('read:orders'));
    expect(reply.body).toEqual({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      message: 'The access token does not grant the scopes this operation requires',
      requiredScopes: ['read:orders'],
    });
  });

  it('#69 all-of and DNF requirements: the challenge names the first alternative, toJSON all', async () => {
    const auth = verifier.authenticate(`Bearer ${await issuer.sign({ scope: 'read:orders' })}`);
    await expectOutcome(
      auth.require({ scopes: ['read:orders', 'write:orders'] }),
      forbidden('read:orders write:orders'),
    );
    const error = await expectOutcome(
      auth.require({ scopes: [['write:orders'], ['admin']] }),
      forbidden('write:orders'),
    );
    expect(error.toJSON()).toMatchObject({
      requiredScopes: ['write:orders'],
      anyOf: [['write:orders'], ['admin']],
    });
    await expect(auth.require({ scopes: { anyOf: ['admin', 'read:orders'] } })).resolves.toBeDefined();
  });
});
