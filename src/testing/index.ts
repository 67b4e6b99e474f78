/**
 * scopegate/testing: a local token issuer for tests. Real key pairs, a real JWKS (in memory
 * through an injected `fetch`, or on a 127.0.0.1 port), tokens with any claims. No IdP, no mocks.
 * @module scopegate/testing
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Algorithm, FetchLike, JsonWebKeySet } from '../core/index.js';

export interface TestIssuerOptions {
  /** Audience the tokens are issued for. @default 'https://api.example.test' */
  readonly audience?: string | readonly string[];
  /** `iss` of the tokens. @default 'https://issuer.example.test/' */
  readonly issuer?: string;
  /** Signing algorithm. HS256/384/512 use a random secret instead of a JWKS. @default 'RS256' */
  readonly algorithm?: Algorithm;
}

export interface SignOptions {
  /** Seconds until `exp`, from `issuedAt`. @default 300 */
  readonly expiresIn?: number;
  /** `iat` in seconds since the epoch. @default now */
  readonly issuedAt?: number;
  /** Extra or overriding protected header parameters; `undefined` removes one. */
  readonly header?: Readonly<Record<string, unknown>>;
}

/** The options for `createVerifier` that trust this issuer (spread them, add your own). */
export type TestVerifierOptions = {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly algorithms: readonly Algorithm[];
} & (
  | { readonly fetch: FetchLike }
  | { readonly secret: Uint8Array }
  | { readonly jwksUri: string; readonly allowInsecureLoopback: true }
);

export interface ServedIssuer {
  /** Origin of the server, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly jwksUri: string;
  /** Verifier options that fetch keys from this server. */
  readonly verifierOptions: TestVerifierOptions;
  /** Requests the server answered, by path. */
  readonly hits: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly algorithm: Algorithm;
  /** The current public key set (empty for HS*). */
  jwks(): JsonWebKeySet;
  /** Verifier options using discovery and the JWKS through an in-memory `fetch`. */
  readonly verifierOptions: TestVerifierOptions;
  /** The in-memory `fetch`: answers discovery and JWKS URLs of this issuer, 404 otherwise. */
  readonly fetch: FetchLike;
  /**
   * Signs a token. Defaults: `iss`, `aud`, `sub: 'test-user'`, `iat` now, `exp` in 300 s,
   * `jti`. `claims` override them; a claim set to `undefined` is removed.
   */
  sign(claims?: Readonly<Record<string, unknown>>, options?: SignOptions): Promise<string>;
  /** Signs any payload (even one that is not a JSON object) with any header, using the current key. */
  signPayload(payload: string | Uint8Array, header?: Readonly<Record<string, unknown>>): Promise<string>;
  /** A token that expired `secondsAgo` (default 60) seconds ago. */
  expired(claims?: Readonly<Record<string, unknown>>, secondsAgo?: number): Promise<string>;
  /** A token whose `nbf` is `secondsAhead` (default 60) seconds in the future. */
  notYetValid(claims?: Readonly<Record<string, unknown>>, secondsAhead?: number): Promise<string>;
  /** A token for another audience. */
  wrongAudience(claims?: Readonly<Record<string, unknown>>): Promise<string>;
  /** A token from another issuer (same key). */
  wrongIssuer(claims?: Readonly<Record<string, unknown>>): Promise<string>;
  /**
   * Replaces the signing key with a new one (new `kid`). The previous public key stays in the
   * JWKS unless `dropPrevious` is set.
   */
  rotateKeys(options?: { readonly dropPrevious?: boolean }): Promise<void>;
  /** Serves discovery and the JWKS on 127.0.0.1 (an ephemeral port). */
  serve(): Promise<ServedIssuer>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey | Uint8Array;
  readonly publicJwk: JWK | undefined;
}

const SECRET_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Creates a test issuer with a fresh key pair.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'scopegate';
 * import { createTestIssuer } from 'scopegate/testing';
 * const issuer = await createTestIssuer({ audience: 'https://api.example.com' });
 * const verifier = createVerifier(issuer.verifierOptions);
 * const token = await issuer.sign({ scope: 'read:data' });
 * ```
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const issuer = options.issuer ?? 'https://issuer.example.test/';
  const audience = options.audience ?? 'https://api.example.test';
  const algorithm = options.algorithm ?? 'RS256';
  const secretLength = SECRET_BYTES[algorithm];
  const secret = secretLength ? new Uint8Array(randomBytes(secretLength)) : undefined;
  let generation = 0;

  const newKey = async (): Promise<SigningKey> => {
    generation++;
    const kid = `test-key-${generation}`;
    if (secret) return { kid, privateKey: secret, publicJwk: undefined };
    const { privateKey, publicKey } = await generateKeyPair(algorithm, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: algorithm, use: 'sig' };
    return { kid, privateKey, publicJwk };
  };

  let keys: SigningKey[] = [await newKey()];
  const current = () => keys[0] as SigningKey;
  const jwks = (): JsonWebKeySet => ({
    keys: keys.flatMap((key) => (key.publicJwk ? [{ ...key.publicJwk }] : [])),
  });

  const jwksUri = new URL('.well-known/jwks.json', issuer.endsWith('/') ? issuer : `${issuer}/`).href;
  const discoveryUri = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  const memoryFetch: FetchLike = async (input) => {
    const url = String(input);
    if (url === discoveryUri) return json({ issuer, jwks_uri: jwksUri });
    if (url === jwksUri) return json(jwks());
    return json({ error: 'not_found' }, 404);
  };

  const signPayload = async (
    payload: string | Uint8Array,
    header: Readonly<Record<string, unknown>> = {},
  ) => {
    const key = current();
    const protectedHeader: Record<string, unknown> = { alg: algorithm, typ: 'JWT', kid: key.kid, ...header };
    for (const name of Object.keys(protectedHeader)) {
      if (protectedHeader[name] === undefined) delete protectedHeader[name];
    }
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    return new CompactSign(bytes).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
  };

  const sign = (claims: Readonly<Record<string, unknown>> = {}, signOptions: SignOptions = {}) => {
    const iat = signOptions.issuedAt ?? Math.floor(Date.now() / 1000);
    const payload = {
      iss: issuer,
      aud: audience,
      sub: 'test-user',
      iat,
      exp: iat + (signOptions.expiresIn ?? 300),
      jti: randomUUID(),
      ...claims,
    };
    // JSON.stringify drops claims set to undefined: that is how a default is removed.
    return signPayload(JSON.stringify(payload), signOptions.header);
  };

  const verifierOptions: TestVerifierOptions = secret
    ? { issuer, audience, algorithms: [algorithm], secret }
    : { issuer, audience, algorithms: [algorithm], fetch: memoryFetch };

  return {
    issuer,
    audience,
    algorithm,
    jwks,
    verifierOptions,
    fetch: memoryFetch,
    sign,
    signPayload,
    expired: (claims, secondsAgo = 60) => {
      const now = Math.floor(Date.now() / 1000);
      return sign({ exp: now - secondsAgo, ...claims }, { issuedAt: now - secondsAgo - 300 });
    },
    notYetValid: (claims, secondsAhead = 60) =>
      sign({ nbf: Math.floor(Date.now() / 1000) + secondsAhead, ...claims }),
    wrongAudience: (claims) => sign({ aud: 'https://another-api.example.test', ...claims }),
    wrongIssuer: (claims) => sign({ iss: 'https://another-issuer.example.test/', ...claims }),
    async rotateKeys(rotation = {}) {
      const next = await newKey();
      keys = rotation.dropPrevious ? [next] : [next, ...keys];
    },
    serve: () => serve(issuer, audience, algorithm, jwks),
  };
}

async function serve(
  issuer: string,
  audience: string | readonly string[],
  algorithm: Algorithm,
  jwks: () => JsonWebKeySet,
): Promise<ServedIssuer> {
  const hits = new Map<string, number>();
  let origin = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    let body: unknown;
    if (path === '/.well-known/jwks.json') body = jwks();
    else if (path === '/.well-known/openid-configuration') {
      body = { issuer, jwks_uri: `${origin}/.well-known/jwks.json` };
    }
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not_found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwksUri = `${origin}/.well-known/jwks.json`;
  return {
    url: origin,
    jwksUri,
    hits,
    verifierOptions: { issuer, audience, algorithms: [algorithm], jwksUri, allowInsecureLoopback: true },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
