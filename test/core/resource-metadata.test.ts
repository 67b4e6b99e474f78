/**
 * RFC 9728 protected resource metadata: the document derived from the verifier's configuration,
 * served from a real node:http server on 127.0.0.1 and read by an independent client (panva's
 * oauth4webapi: resourceDiscoveryRequest builds the well-known URL itself and
 * processResourceDiscoveryResponse checks the `resource` it gets back).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createVerifier,
  type ProtectedResourceMetadata,
  protectedResourceMetadata,
  type Verifier,
  type VerifierOptions,
} from '../../src/core/index.js';
import { describeSchema } from '../../src/graphql/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { describeProcedures } from '../../src/trpc/index.js';
import { buildSchema } from '../graphql/support.js';
import { buildApp } from '../trpc/support/app.js';

let issuer: TestIssuer;
let verifier: Verifier;
let server: Server;
let origin: string;
// What the server answers with: swapped per test (one server for the file).
let served: ProtectedResourceMetadata[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = createVerifier(issuer.verifierOptions);
  // A plain node:http server: handle() gets the Node request's method and path-only url.
  server = createServer((req, res) => {
    void (async () => {
      for (const metadata of served) {
        const response = await metadata.handle({ method: req.method, url: req.url });
        if (response) {
          res.writeHead(response.status, Object.fromEntries(response.headers));
          res.end(Buffer.from(await response.arrayBuffer()));
          return;
        }
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
);

/** Discovery as an independent client does it, from the resource identifier alone. */
async function discover(resource: string): Promise<oauth.ResourceServer> {
  const response = await oauth.resourceDiscoveryRequest(new URL(resource), {
    [oauth.allowInsecureRequests]: true,
  });
  return oauth.processResourceDiscoveryResponse(new URL(resource), response);
}

describe('served and read by an independent RFC 9728 client (oauth4webapi)', () => {
  it('an MCP endpoint: the well-known segment goes before the path (/mcp)', async () => {
    const resource = `${origin}/mcp`;
    const metadata = protectedResourceMetadata({ resource, verifier, scopes: ['notes:read', 'notes:write'] });
    served = [metadata];
    expect(metadata.path).toBe('/.well-known/oauth-protected-resource/mcp');
    expect(metadata.url).toBe(`${origin}/.well-known/oauth-protected-resource/mcp`);
    const read = await discover(resource);
    expect(read).toEqual({
      resource,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['notes:read', 'notes:write'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'],
    });
    expect(read).toEqual(metadata.document);
  });

  it('a resource at the root: /.well-known/oauth-protected-resource', async () => {
    const metadata = protectedResourceMetadata({ resource: origin, verifier });
    served = [metadata];
    expect(metadata.path).toBe('/.well-known/oauth-protected-resource');
    const read = await discover(origin);
    expect(read.resource).toBe(origin);
    expect(read.authorization_servers).toEqual([issuer.issuer]);
    expect(read).not.toHaveProperty('scopes_supported');
  });

  it('a nested path keeps every segment', async () => {
    const resource = `${origin}/api/v2/graphql`;
    const metadata = protectedResourceMetadata({ resource, verifier });
    served = [metadata];
    expect(metadata.path).toBe('/.well-known/oauth-protected-resource/api/v2/graphql');
    expect((await discover(resource)).resource).toBe(resource);
  });

  it('headers: JSON, cacheable, readable cross-origin; HEAD has no body; POST is 405', async () => {
    const metadata = protectedResourceMetadata({ resource: `${origin}/mcp`, verifier });
    served = [metadata];
    const get = await fetch(metadata.url);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/json');
    expect(get.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
    const head = await fetch(metadata.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(metadata.url, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    // Other paths are not the handler's: the server's own 404.
    expect((await fetch(`${origin}/.well-known/oauth-protected-resource`)).status).toBe(404);
    expect((await fetch(`${origin}/mcp`)).status).toBe(404);
  });
});

describe('handle() with fetch Requests', () => {
  it('answers its path, ignores the query, returns null elsewhere', async () => {
    const metadata = protectedResourceMetadata({ resource: 'https://api.example.com/mcp', verifier });
    const response = await metadata.handle(
      new Request('https://api.example.com/.well-known/oauth-protected-resource/mcp?x=1'),
    );
    expect(response?.status).toBe(200);
    expect(await response?.json()).toEqual(metadata.document);
    expect(await metadata.handle(new Request('https://api.example.com/mcp'))).toBeNull();
    expect(
      await metadata.handle(new Request('https://api.example.com/.well-known/oauth-protected-resource')),
    ).toBeNull();
    expect(await metadata.handle({ url: 'http://[' })).toBeNull();
  });
});

describe('authorization_servers and scopes_supported come from the configuration', () => {
  it('a multi-issuer verifier lists every issuer, in order', async () => {
    const other = await createTestIssuer({ issuer: 'https://other.example.test/' });
    const multi = createVerifier({
      issuers: [
        { issuer: issuer.issuer, jwks: issuer.jwks() },
        { issuer: other.issuer, jwks: other.jwks() },
      ],
      audience: issuer.audience,
    } as VerifierOptions);
    const metadata = protectedResourceMetadata({ resource: 'https://api.example.com', verifier: multi });
    expect(metadata.document.authorization_servers).toEqual([issuer.issuer, 'https://other.example.test/']);
  });

  it('an Auth0 domain: the issuer URL', () => {
    const auth0 = createVerifier({ domain: 'tenant.us.auth0.com', audience: 'https://api.example.com' });
    const metadata = protectedResourceMetadata({ resource: 'https://api.example.com', verifier: auth0 });
    expect(metadata.document.authorization_servers).toEqual(['https://tenant.us.auth0.com/']);
  });

  it('scopes from describeProcedures (tRPC): every scope of every alternative, sorted, once', async () => {
    const app = buildApp(verifier);
    const metadata = protectedResourceMetadata({
      resource: 'https://api.example.com',
      verifier,
      scopes: await describeProcedures(app.router),
    });
    expect(metadata.document.scopes_supported).toEqual([
      'admin',
      'export:reports',
      'read:orders',
      'read:reports',
      'write:orders',
    ]);
  });

  it('scopes from describeSchema (GraphQL)', () => {
    const metadata = protectedResourceMetadata({
      resource: 'https://api.example.com/graphql',
      verifier,
      scopes: describeSchema(buildSchema({ sideEffects: 0 })),
    });
    expect(metadata.document.scopes_supported).toEqual([
      'admin',
      'read:articles',
      'read:email',
      'read:notes',
      'read:orders',
      'read:prices',
      'read:ticks',
      'support',
      'write:orders',
    ]);
  });

  it('the document is frozen', () => {
    const metadata = protectedResourceMetadata({
      resource: 'https://api.example.com',
      verifier,
      scopes: ['a'],
    });
    expect(Object.isFrozen(metadata.document)).toBe(true);
    expect(Object.isFrozen(metadata.document.scopes_supported)).toBe(true);
  });
});

// The `dpop` verifier option arrives with the DPoP work; until then these run only where it exists.
const dpopOption = (() => {
  try {
    createVerifier({
      issuer: 'https://a.example/',
      jwks: { keys: [] },
      audience: 'x',
      dpop: { mode: 'required' },
    } as never);
    return true;
  } catch {
    return false;
  }
})();

describe('DPoP fields follow the verifier DPoP mode', () => {
  it('no dpop option (allowed): the default algorithms, tokens not required to be bound', () => {
    const { document } = protectedResourceMetadata({ resource: 'https://api.example.com', verifier });
    expect(document.dpop_signing_alg_values_supported).toEqual([
      'ES256',
      'EdDSA',
      'Ed25519',
      'PS256',
      'RS256',
    ]);
    expect(document).not.toHaveProperty('dpop_bound_access_tokens_required');
  });

  it.runIf(dpopOption)(
    "mode 'required': dpop_bound_access_tokens_required, the configured algorithms",
    () => {
      const required = createVerifier({
        ...issuer.verifierOptions,
        dpop: { mode: 'required', algorithms: ['ES256'] },
      } as never);
      const { document } = protectedResourceMetadata({
        resource: 'https://api.example.com',
        verifier: required,
      });
      expect(document.dpop_bound_access_tokens_required).toBe(true);
      expect(document.dpop_signing_alg_values_supported).toEqual(['ES256']);
    },
  );

  it.runIf(dpopOption)("mode 'disabled': no DPoP fields", () => {
    const disabled = createVerifier({ ...issuer.verifierOptions, dpop: { mode: 'disabled' } } as never);
    const { document } = protectedResourceMetadata({
      resource: 'https://api.example.com',
      verifier: disabled,
    });
    expect(document).not.toHaveProperty('dpop_signing_alg_values_supported');
    expect(document).not.toHaveProperty('dpop_bound_access_tokens_required');
  });
});

describe('setup mistakes fail with a TypeError naming the option', () => {
  const RESOURCE =
    '"resource" option must be an absolute https URL (http only on a loopback host) without query or fragment';
  it.each([
    'http://api.example.com/mcp',
    'https://api.example.com/mcp#frag',
    'https://api.example.com/mcp#',
    'https://api.example.com/mcp?tenant=1',
    '/mcp',
    'api.example.com',
    'https://user:pw@api.example.com/',
    '',
    42,
    undefined,
  ])('resource %j', (resource) => {
    expect(() => protectedResourceMetadata({ resource, verifier } as never)).toThrow(new TypeError(RESOURCE));
  });

  it.each(['http://127.0.0.1:8080/mcp', 'http://localhost/mcp', 'http://[::1]/'])(
    'http on a loopback host is accepted (%s)',
    (resource) => {
      expect(protectedResourceMetadata({ resource, verifier }).document.resource).toBe(resource);
    },
  );

  it.each([{}, undefined, { verify() {}, authenticate() {} }])('verifier %j', (bad) => {
    expect(() =>
      protectedResourceMetadata({ resource: 'https://api.example.com', verifier: bad } as never),
    ).toThrow(new TypeError('"verifier" option must be a verifier from createVerifier()'));
  });

  it.each([
    ['a string', 'notes:read notes:write', /^"scopes" option must be an array/],
    ['a scope with a space', ['notes read'], /^"scopes" option: "notes read" is not a scope$/],
    ['an empty scope', [''], /^"scopes" option: "" is not a scope$/],
    ['a number', [42], /^"scopes" option must be an array/],
  ])('scopes: %s', (_name, scopes, message) => {
    expect(() =>
      protectedResourceMetadata({ resource: 'https://api.example.com', verifier, scopes } as never),
    ).toThrow(message);
  });

  it('an unknown option', () => {
    expect(() =>
      protectedResourceMetadata({ resource: 'https://api.example.com', verifier, scope: ['a'] } as never),
    ).toThrow(new TypeError('"scope" is not a protectedResourceMetadata option'));
  });
});
