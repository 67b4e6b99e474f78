/**
 * scopegate/testing: a local token issuer for tests. Real key pairs, a real JWKS (in memory
 * through an injected `fetch`, or on a 127.0.0.1 port), tokens with any claims. No IdP, no mocks.
 * @module scopegate/testing
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { Algorithm, AsymmetricAlgorithm } from '../core/algorithms.js';
import type { FetchLike } from '../core/http.js';
import type { JsonWebKeySet } from '../core/options.js';

type Claims = Readonly<Record<string, unknown>>;
type Header = Readonly<Record<string, unknown>>;

export interface TestIssuerOptions {
  /** Audience the tokens are issued for. @default 'https://api.example.test' */
  readonly audience?: string | readonly string[];
  /**
   * `iss` of the tokens. An `https:` issuer is found by OIDC discovery through the in-memory
   * `fetch`; any other string (`'my-issuer'`, an `http:` URL) gets a fixed `jwksUri` instead.
   * @default 'https://issuer.example.test/'
   */
  readonly issuer?: string;
  /**
   * Signing algorithm. HS256/384/512 use a random secret instead of a JWKS.
   * @default 'RS256'
   */
  readonly algorithm?: Algorithm;
  /**
   * Prefix of the key ids: the first key is `<kid>-1`, the next rotation's `<kid>-2`. Give each
   * issuer its own prefix when their key sets are combined in one JWKS.
   * @default 'test-key'
   */
  readonly kid?: string;
  /**
   * Claims added to every token of `sign()` and the helpers, over the built-in defaults and
   * under the claims of each call (`undefined` removes one).
   * @example `{ client_id: 'test-client' }` for RFC 9068 (`strict`) verifiers
   */
  readonly claims?: Claims;
  /**
   * Protected header parameters of every token, under the `header` of each call.
   * @example `{ typ: 'at+jwt' }` for RFC 9068 (`strict`) verifiers
   */
  readonly header?: Header;
}

export interface SignOptions {
  /** Seconds until `exp`, from `issuedAt`. @default 300 */
  readonly expiresIn?: number;
  /** `iat` in seconds since the epoch. @default now */
  readonly issuedAt?: number;
  /** Extra or overriding protected header parameters; `undefined` removes one. */
  readonly header?: Header;
}

/** The options for `createVerifier` that trust this issuer (spread them, add your own). */
export type TestVerifierOptions = {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly algorithms: readonly Algorithm[];
} & (
  | { readonly fetch: FetchLike }
  | { readonly jwksUri: string; readonly fetch: FetchLike }
  | { readonly secret: Uint8Array }
  | { readonly jwksUri: string; readonly allowInsecureLoopback: true }
);

export interface ServedIssuer {
  /** Origin of the server, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `<url>/.well-known/jwks.json`. */
  readonly jwksUri: string;
  /**
   * Verifier options that fetch the JWKS from this server (`jwksUri`, not discovery: the tokens'
   * `iss` is not this origin). For HS* issuers they hold the secret, and nothing is fetched.
   */
  readonly verifierOptions: TestVerifierOptions;
  /** Requests the server answered (404s included), by path. */
  readonly hits: ReadonlyMap<string, number>;
  /** Stops the server and drops its open connections. Calling it again does nothing. */
  close(): Promise<void>;
}

/** What {@link TestDpopKey.proof} signs. */
export interface TestProofOptions {
  /** `htm`: the HTTP method, e.g. `'POST'`. */
  readonly method: string;
  /** The request URL; `htu` is this URL without its query and fragment. */
  readonly url: string | URL;
  /** The access token the request carries: sets `ath` (its base64url SHA-256). */
  readonly accessToken?: string;
  /** The server's `DPoP-Nonce`, when it asked for one. */
  readonly nonce?: string;
  /** `iat` in seconds since the epoch. @default now */
  readonly iat?: number;
  /** @default a random UUID */
  readonly jti?: string;
  /** Extra or overriding claims; `undefined` removes one (e.g. `{ jti: undefined }`). */
  readonly claims?: Claims;
  /** Extra or overriding header parameters; `undefined` removes one. */
  readonly header?: Header;
}

/** A client's DPoP key (RFC 9449), with tokens bound to it and proofs signed by it. */
export interface TestDpopKey {
  readonly algorithm: AsymmetricAlgorithm;
  /** The key pair, e.g. for panva's `dpop` package or `scopegate/client`. */
  readonly keyPair: CryptoKeyPair;
  /** The public JWK that proofs carry in their header. */
  readonly publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of bound tokens. */
  readonly thumbprint: string;
  /** Signs a token bound to this key (`cnf: { jkt }`), as the issuer's `sign()` otherwise. */
  sign(claims?: Claims, options?: SignOptions): Promise<string>;
  /**
   * Signs a DPoP proof: header `typ: 'dpop+jwt'`, `alg`, `jwk`; claims `jti`, `htm`, `htu`, `iat`,
   * and `ath` / `nonce` when given. One proof per request.
   */
  proof(options: TestProofOptions): Promise<string>;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly algorithm: Algorithm;
  /** The `kid` of the key that signs now. */
  readonly kid: string;
  /** The current public key set (empty for HS*). */
  jwks(): JsonWebKeySet;
  /**
   * Verifier options trusting this issuer: discovery and the JWKS through the in-memory `fetch`
   * (or a fixed `jwksUri` for an issuer that is not `https:`), or the secret for HS*.
   */
  readonly verifierOptions: TestVerifierOptions;
  /**
   * The in-memory `fetch`: answers the issuer's OIDC and RFC 8414 metadata and its JWKS with 200,
   * any other URL with 404. Keys are read at each call, so rotations show at once.
   */
  readonly fetch: FetchLike;
  /**
   * Signs a token. Defaults: `iss`, `aud`, `sub: 'test-user'`, `iat` now, `exp` in 300 s,
   * `jti`, then the issuer's `claims`. `claims` override them; a claim set to `undefined` is
   * removed. Header: `alg`, `typ: 'JWT'`, `kid`, the issuer's `header`, then `options.header`.
   */
  sign(claims?: Claims, options?: SignOptions): Promise<string>;
  /**
   * Signs any payload (even one that is not a JSON object) with the current key. The header
   * starts as for `sign()`; `header` overrides it (`undefined` removes a parameter).
   */
  signPayload(payload: string | Uint8Array, header?: Header): Promise<string>;
  /** A token that expired `secondsAgo` (default 60) seconds ago. */
  expired(claims?: Claims, secondsAgo?: number): Promise<string>;
  /** A token whose `nbf` is `secondsAhead` (default 60) seconds in the future (`exp` 300 s later). */
  notYetValid(claims?: Claims, secondsAhead?: number): Promise<string>;
  /** A token for `https://another-api.example.test`. */
  wrongAudience(claims?: Claims): Promise<string>;
  /** A token from `https://another-issuer.example.test/`, signed with this issuer's key. */
  wrongIssuer(claims?: Claims): Promise<string>;
  /**
   * Signs with a new key (new `kid`) from now on. Earlier public keys stay in the JWKS, so
   * earlier tokens still verify, unless `dropPrevious` is set. For HS* only the `kid` changes:
   * `verifierOptions` hold the one secret.
   */
  rotateKeys(options?: { readonly dropPrevious?: boolean }): Promise<void>;
  /**
   * Serves the metadata and the JWKS on 127.0.0.1 (an ephemeral port), for tests about fetching.
   * @example
   * ```ts
   * const served = await issuer.serve();
   * const verifier = createVerifier({ ...served.verifierOptions, cooldownMs: 100 });
   * // ... served.hits.get('/.well-known/jwks.json')
   * await served.close();
   * ```
   */
  serve(): Promise<ServedIssuer>;
  /**
   * A new DPoP key pair for a client, whose bound tokens this issuer signs.
   * @example
   * ```ts
   * const key = await issuer.dpopKey();
   * const token = await key.sign({ scope: 'read' }); // cnf.jkt = key.thumbprint
   * const proof = await key.proof({ method: 'POST', url: 'https://api.example.test/trpc/x', accessToken: token });
   * await fetch(url, { method: 'POST', headers: { authorization: `DPoP ${token}`, dpop: proof } });
   * ```
   */
  dpopKey(options?: { readonly algorithm?: AsymmetricAlgorithm }): Promise<TestDpopKey>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey | Uint8Array;
  readonly publicJwk: JWK | undefined;
}

const SECRET_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };
// `.invalid` never resolves (RFC 2606), so only the in-memory fetch can answer it.
const NON_URL_JWKS_URI = 'https://keys.test-issuer.invalid/.well-known/jwks.json';
const OTHER_AUDIENCE = 'https://another-api.example.test';
const OTHER_ISSUER = 'https://another-issuer.example.test/';

/** Removes the members set to `undefined`: that is how a default is taken away. */
function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  for (const name of Object.keys(record)) if (record[name] === undefined) delete record[name];
  return record;
}

function httpsUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Where the issuer's documents live, normalized as `new URL().href` (how the verifier builds them). */
function documentUrls(issuer: string): { jwksUri: string; metadata: readonly string[] } {
  const url = httpsUrl(issuer);
  if (!url) return { jwksUri: NON_URL_JWKS_URI, metadata: [] };
  const path = url.pathname.replace(/\/$/, '');
  return {
    jwksUri: `${url.origin}${path}/.well-known/jwks.json`,
    // OIDC Discovery 1.0 section 4, then RFC 8414 section 3: the verifier tries both.
    metadata: [
      `${url.origin}${path}/.well-known/openid-configuration`,
      `${url.origin}/.well-known/oauth-authorization-server${path}`,
    ],
  };
}

function normalizedHref(input: string): string {
  try {
    return new URL(input).href;
  } catch {
    return input;
  }
}

/**
 * Creates a test issuer with a fresh key pair (or a random secret for HS*).
 *
 * @example
 * ```ts
 * import { createVerifier } from 'scopegate';
 * import { createTestIssuer } from 'scopegate/testing';
 * const issuer = await createTestIssuer({ audience: 'https://api.example.com' });
 * const verifier = createVerifier(issuer.verifierOptions);
 * const token = await issuer.sign({ scope: 'read:data' });
 * await verifier.verify(token); // the claims
 * await verifier.verify(await issuer.expired()); // rejects: AuthError token_expired
 * ```
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const issuer = options.issuer ?? 'https://issuer.example.test/';
  const audience = options.audience ?? 'https://api.example.test';
  const algorithm = options.algorithm ?? 'RS256';
  const kidPrefix = options.kid ?? 'test-key';
  const defaultClaims = options.claims ?? {};
  const defaultHeader = options.header ?? {};
  const secretLength = SECRET_BYTES[algorithm];
  const secret = secretLength ? new Uint8Array(randomBytes(secretLength)) : undefined;
  let generation = 0;

  const newKey = async (): Promise<SigningKey> => {
    generation++;
    const kid = `${kidPrefix}-${generation}`;
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

  const { jwksUri, metadata } = documentUrls(issuer);
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  const memoryFetch: FetchLike = async (input) => {
    const url = normalizedHref(String(input));
    if (metadata.includes(url)) return json({ issuer, jwks_uri: jwksUri });
    if (url === jwksUri) return json(jwks());
    return json({ error: 'not_found' }, 404);
  };

  const signPayload = async (payload: string | Uint8Array, header: Header = {}) => {
    const key = current();
    const protectedHeader = withoutUndefined({
      alg: algorithm,
      typ: 'JWT',
      kid: key.kid,
      ...defaultHeader,
      ...header,
    });
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    return new CompactSign(bytes).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
  };

  const sign = (claims: Claims = {}, signOptions: SignOptions = {}) => {
    const iat = signOptions.issuedAt ?? Math.floor(Date.now() / 1000);
    const payload = {
      iss: issuer,
      aud: audience,
      sub: 'test-user',
      iat,
      exp: iat + (signOptions.expiresIn ?? 300),
      jti: randomUUID(),
      ...defaultClaims,
      ...claims,
    };
    // JSON.stringify drops claims set to undefined: that is how a default is removed.
    return signPayload(JSON.stringify(payload), signOptions.header);
  };

  const verifierOptions: TestVerifierOptions = secret
    ? { issuer, audience, algorithms: [algorithm], secret }
    : metadata.length > 0
      ? { issuer, audience, algorithms: [algorithm], fetch: memoryFetch }
      : { issuer, audience, algorithms: [algorithm], jwksUri, fetch: memoryFetch };

  return {
    issuer,
    audience,
    algorithm,
    get kid() {
      return current().kid;
    },
    jwks,
    verifierOptions,
    fetch: memoryFetch,
    sign,
    signPayload,
    expired: (claims, secondsAgo = 60) => {
      const now = Math.floor(Date.now() / 1000);
      return sign({ exp: now - secondsAgo, ...claims }, { issuedAt: now - secondsAgo - 300 });
    },
    // exp follows nbf, so that however far ahead, the token is "not yet", never "already expired".
    notYetValid: (claims, secondsAhead = 60) =>
      sign(
        { nbf: Math.floor(Date.now() / 1000) + secondsAhead, ...claims },
        { expiresIn: secondsAhead + 300 },
      ),
    wrongAudience: (claims) => sign({ aud: OTHER_AUDIENCE, ...claims }),
    wrongIssuer: (claims) => sign({ iss: OTHER_ISSUER, ...claims }),
    async rotateKeys(rotation = {}) {
      const next = await newKey();
      keys = rotation.dropPrevious ? [next] : [next, ...keys];
    },
    serve: () => serve({ issuer, audience, algorithm, secret, jwks }),
    async dpopKey(keyOptions = {}) {
      const dpopAlgorithm = keyOptions.algorithm ?? 'ES256';
      const keyPair = await generateKeyPair(dpopAlgorithm, { extractable: true });
      const { kty, crv, x, y, n, e } = await exportJWK(keyPair.publicKey);
      const publicJwk = withoutUndefined({ kty, crv, x, y, n, e }) as JWK;
      const thumbprint = await calculateJwkThumbprint(publicJwk, 'sha256');
      return {
        algorithm: dpopAlgorithm,
        keyPair,
        publicJwk,
        thumbprint,
        sign: (claims = {}, signOptions = {}) => sign({ cnf: { jkt: thumbprint }, ...claims }, signOptions),
        proof: (proofOptions) => signProof(keyPair.privateKey, dpopAlgorithm, publicJwk, proofOptions),
      };
    },
  };
}

function signProof(
  privateKey: CryptoKey,
  alg: AsymmetricAlgorithm,
  jwk: JWK,
  options: TestProofOptions,
): Promise<string> {
  const htu = new URL(String(options.url));
  htu.search = '';
  htu.hash = '';
  const payload = withoutUndefined({
    jti: options.jti ?? randomUUID(),
    htm: options.method,
    htu: htu.href,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ath:
      options.accessToken === undefined
        ? undefined
        : createHash('sha256').update(options.accessToken).digest('base64url'),
    nonce: options.nonce,
    ...options.claims,
  });
  const header = withoutUndefined({ alg, typ: 'dpop+jwt', jwk, ...options.header });
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(privateKey);
}

interface ServeInput {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly algorithm: Algorithm;
  readonly secret: Uint8Array | undefined;
  readonly jwks: () => JsonWebKeySet;
}

async function serve({ issuer, audience, algorithm, secret, jwks }: ServeInput): Promise<ServedIssuer> {
  const hits = new Map<string, number>();
  let origin = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    let body: unknown;
    if (path === '/.well-known/jwks.json') body = jwks();
    else if (
      path === '/.well-known/openid-configuration' ||
      path === '/.well-known/oauth-authorization-server'
    ) {
      body = { issuer, jwks_uri: `${origin}/.well-known/jwks.json` };
    }
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not_found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwksUri = `${origin}/.well-known/jwks.json`;
  let closed: Promise<void> | undefined;
  return {
    url: origin,
    jwksUri,
    hits,
    verifierOptions: secret
      ? { issuer, audience, algorithms: [algorithm], secret }
      : { issuer, audience, algorithms: [algorithm], jwksUri, allowInsecureLoopback: true },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
