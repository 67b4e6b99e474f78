/**
 * createAuthContext: where credentials are read from, laziness (no verification until asked),
 * and "never throws".
 */
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthError, createVerifier, type JwtClaims, type VerifierOptions } from '../../src/core/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { type AuthContext, type AuthContextOptions, createAuthContext } from '../../src/trpc/index.js';
import { type CountingSchema, countingSchema } from './support/counting.js';
import { AUDIENCE } from './support/tokens.js';

let issuer: TestIssuer;
let schema: CountingSchema;
let createContext: (opts: AuthContextOptions) => AuthContext<JwtClaims>;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE });
  schema = countingSchema();
  const verifier = createVerifier({
    ...issuer.verifierOptions,
    claims: schema,
  } as VerifierOptions<CountingSchema>);
  createContext = createAuthContext(verifier);
});

const request = (authorization?: string) =>
  new Request('http://127.0.0.1/trpc/me', authorization ? { headers: { authorization } } : {});

/** A real Node IncomingMessage, received by a real server; header lines sent exactly as given. */
async function incomingMessage(headerLines: readonly string[]): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      res.end();
      server.close();
      resolve(req);
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('data', () => socket.end());
      socket.write(['GET /me HTTP/1.1', 'Host: 127.0.0.1', ...headerLines, '', ''].join('\r\n'));
    });
  });
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof AuthError ? error.reason : String(error)),
  );
}

describe('createAuthContext', () => {
  it('verifies nothing until a procedure asks, then once however often it asks', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'a b' });
    const before = schema.verifications();
    const { auth } = createContext({ req: request(`Bearer ${token}`) });
    expect(auth.token).toBe(token);
    expect(schema.verifications()).toBe(before);
    const [claims, optional, scopes, required] = await Promise.all([
      auth.claims(),
      auth.optional(),
      auth.scopes(),
      auth.require({ scopes: 'a' }),
    ]);
    expect(claims.sub).toBe('alice');
    expect(optional).toBe(claims);
    expect(required).toBe(claims);
    expect([...scopes]).toEqual(['a', 'b']);
    expect(schema.verifications() - before).toBe(1);
  });

  it('puts the core RequestAuth in the context: consulted once anything reads it', async () => {
    const token = await issuer.sign();
    const reads: [string, (auth: AuthContext<JwtClaims>['auth']) => unknown][] = [
      ['token', (auth) => auth.token],
      ['claims', (auth) => auth.claims()],
      ['optional', (auth) => auth.optional()],
    ];
    for (const [name, read] of reads) {
      const { auth } = createContext({ req: request(`Bearer ${token}`) });
      expect(auth.consulted, name).toBe(false);
      await read(auth);
      expect(auth.consulted, name).toBe(true);
    }
  });

  it('reads a fetch Request, with duplicates joined by the runtime refused', async () => {
    const token = await issuer.sign();
    expect(await reasonOf(createContext({ req: request(`Bearer ${token}`) }).auth.claims())).toBe('resolved');
    expect(await reasonOf(createContext({ req: request() }).auth.claims())).toBe('missing_token');
    const joined = new Headers([
      ['authorization', `Bearer ${token}`],
      ['authorization', `Bearer ${token}`],
    ]);
    const duplicated = new Request('http://127.0.0.1/me', { headers: joined });
    expect(await reasonOf(createContext({ req: duplicated }).auth.claims())).toBe('invalid_request');
  });

  it('reads a Node IncomingMessage, and its duplicate Authorization lines', async () => {
    const token = await issuer.sign();
    const single = await incomingMessage([`Authorization: Bearer ${token}`]);
    expect(await reasonOf(createContext({ req: single }).auth.claims())).toBe('resolved');
    const twice = await incomingMessage([`Authorization: Bearer ${token}`, `Authorization: Bearer ${token}`]);
    expect(await reasonOf(createContext({ req: twice }).auth.claims())).toBe('invalid_request');
  });

  it("reads the IncomingMessage behind a wrapper request (Fastify's request.raw)", async () => {
    const token = await issuer.sign();
    const raw = await incomingMessage([`Authorization: Bearer ${token}`, `Authorization: Bearer ${token}`]);
    // Fastify's request keeps only the first duplicate in .headers; .raw still has both lines.
    const fastifyLike = { headers: { authorization: `Bearer ${token}` }, raw };
    expect(await reasonOf(createContext({ req: fastifyLike }).auth.claims())).toBe('invalid_request');
  });

  it('ignores info.connectionParams on HTTP: they come from the URL', async () => {
    const token = await issuer.sign();
    const ctx = createContext({ req: request(), info: { connectionParams: { token } } });
    expect(await reasonOf(ctx.auth.claims())).toBe('missing_token');
  });

  describe('on a WebSocket (the adapter passes the socket as res)', () => {
    const socket = { readyState: 1, send: () => undefined };
    const upgrade = { headers: {}, url: '/?connectionParams=1' };

    it.each<[string, Record<string, unknown>, string]>([
      ['a non-string authorization', { authorization: 42 }, 'invalid_request'],
      ['a non-string token', { token: ['a'] }, 'invalid_request'],
      ['an empty token', { token: '' }, 'invalid_request'],
      ['a token with a space', { token: 'a b' }, 'invalid_request'],
      [
        'Authorization and authorization',
        { Authorization: 'Bearer a', authorization: 'Bearer b' },
        'invalid_request',
      ],
      ['unrelated params only', { locale: 'en' }, 'missing_token'],
      ['a Basic credential', { authorization: 'Basic YTpi' }, 'missing_token'],
    ])('%s -> %s', async (_name, connectionParams, reason) => {
      const ctx = createContext({ req: upgrade, res: socket, info: { connectionParams } });
      expect(await reasonOf(ctx.auth.claims())).toBe(reason);
    });
  });

  it('never throws: a request whose headers cannot be read fails when asked', async () => {
    const hostile = {
      get headers(): never {
        throw new Error('headers exploded');
      },
    };
    const ctx = createContext({ req: hostile });
    expect(ctx.auth.consulted).toBe(false);
    expect(await reasonOf(ctx.auth.claims())).toBe('Error: headers exploded');
    expect(ctx.auth.consulted).toBe(true);
    expect(ctx.auth.token).toBeNull();
    expect(await reasonOf(ctx.auth.optional())).toBe('Error: headers exploded');
    expect(await reasonOf(ctx.auth.require({ scopes: 'a' }))).toBe('Error: headers exploded');
    expect(await reasonOf(ctx.auth.expired())).toBe('Error: headers exploded');
    expect(await reasonOf(createContext({}).auth.claims())).toBe('missing_token');
    expect(await reasonOf(createContext({ req: 'not a request' }).auth.claims())).toBe('missing_token');
  });

  it('never throws when a credentials reader throws: the failure waits for a procedure', async () => {
    const verifier = createVerifier(issuer.verifierOptions);
    const failing = createAuthContext(verifier, {
      credentials: (): never => {
        throw new Error('no event');
      },
    });
    expect(await reasonOf(failing({}).auth.scopes())).toBe('Error: no event');
  });

  it('takes a credentials reader for other adapters (e.g. AWS Lambda events)', async () => {
    const token = await issuer.sign({ sub: 'lambda' });
    const verifier = createVerifier(issuer.verifierOptions);
    const lambdaContext = createAuthContext(verifier, {
      credentials: (opts: { event: { headers: Record<string, string> } }) => opts.event.headers,
    });
    const claims = await lambdaContext({
      event: { headers: { Authorization: `Bearer ${token}` } },
    }).auth.claims();
    expect(claims.sub).toBe('lambda');
  });

  it('rejects a credentials reader that is not a function', () => {
    const verifier = createVerifier(issuer.verifierOptions);
    expect(() => createAuthContext(verifier, { credentials: 'authorization' as never })).toThrow(TypeError);
  });
});
