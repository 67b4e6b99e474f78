/**
 * Shared pieces of the SECURITY.md row tests: the exact outcomes (status, code, reason and
 * `WWW-Authenticate`), a raw JWS signer for headers and payloads the testing kit will not produce,
 * and a real `node:http` server that answers with the core error model.
 */
import {
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  constants as rsa,
  sign as signBytes,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { expect } from 'vitest';
import {
  type AccessPolicy,
  type AuthError,
  type AuthErrorCode,
  type AuthErrorReason,
  authResponseHeaders,
  isAuthError,
  type JsonWebKeySet,
  type Verifier,
} from '../../../src/core/index.js';

/** Both signature engines: every crypto row runs on each. */
export const ENGINES = ['node', 'webcrypto'] as const;

// The exact challenges of src/core/presentation.ts with the default realm "api" and the default
// DPoP mode (`allowed`): the Bearer challenge, then the bare DPoP one (RFC 9449 7.1).
export const DPOP_CHALLENGE = 'DPoP realm="api", algs="ES256 EdDSA Ed25519 PS256 RS256"';
export const CHALLENGE_MISSING = `Bearer realm="api", ${DPOP_CHALLENGE}`;
export const CHALLENGE_INVALID_TOKEN = `Bearer realm="api", error="invalid_token", error_description="The access token is invalid", ${DPOP_CHALLENGE}`;
export const CHALLENGE_INVALID_REQUEST = `Bearer realm="api", error="invalid_request", error_description="The request is malformed", ${DPOP_CHALLENGE}`;
/** checkScopes outside a request (no verifier): the default presentation, Bearer only. */
export const challengeInsufficientScopeUnbound = (scope: string) =>
  `Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="${scope}"`;
export const challengeInsufficientScope = (scope: string) =>
  `Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant sufficient access", scope="${scope}", ${DPOP_CHALLENGE}`;

/** What a refused request must look like to the client. */
export interface Outcome {
  readonly status: 400 | 401 | 403 | 503;
  readonly code: AuthErrorCode;
  readonly reason: AuthErrorReason;
  /** `undefined` for 503: no challenge applies. */
  readonly wwwAuthenticate: string | undefined;
}

export const missing: Outcome = {
  status: 401,
  code: 'UNAUTHORIZED',
  reason: 'missing_token',
  wwwAuthenticate: CHALLENGE_MISSING,
};
export const badRequest: Outcome = {
  status: 400,
  code: 'BAD_REQUEST',
  reason: 'invalid_request',
  wwwAuthenticate: CHALLENGE_INVALID_REQUEST,
};
export const invalidToken = (reason: AuthErrorReason): Outcome => ({
  status: 401,
  code: 'UNAUTHORIZED',
  reason,
  wwwAuthenticate: CHALLENGE_INVALID_TOKEN,
});
/** 401 `invalid_dpop_proof` (SECURITY.md 401-DP) with the default mode's challenges. */
export const invalidDpopProof: Outcome = {
  status: 401,
  code: 'UNAUTHORIZED',
  reason: 'invalid_dpop_proof',
  wwwAuthenticate: `Bearer realm="api", ${DPOP_CHALLENGE}, error="invalid_dpop_proof", error_description="The access token is invalid"`,
};
export const forbidden = (scope: string): Outcome => ({
  status: 403,
  code: 'FORBIDDEN',
  reason: 'insufficient_scope',
  wwwAuthenticate: challengeInsufficientScope(scope),
});

/** Asserts that `action` rejects with an AuthError of exactly this outcome, and returns it. */
export async function expectOutcome(action: Promise<unknown>, outcome: Outcome): Promise<AuthError> {
  let caught: unknown;
  try {
    await action;
  } catch (error) {
    caught = error;
  }
  if (!isAuthError(caught)) throw new Error(`expected an AuthError, got ${String(caught)}`);
  expect({
    status: caught.status,
    code: caught.code,
    reason: caught.reason,
    wwwAuthenticate: caught.wwwAuthenticate,
  }).toEqual(outcome);
  return caught;
}

/** base64url of a string (UTF-8) or bytes. */
export function b64(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

/** A JSON object or raw JSON text, as a JWS segment's text. */
export type JsonText = Readonly<Record<string, unknown>> | string;

const text = (value: JsonText | Uint8Array): string | Uint8Array =>
  typeof value === 'string' || value instanceof Uint8Array ? value : JSON.stringify(value);

export type RawAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/**
 * A key pair made with node:crypto that signs any header and payload text, bypassing the checks
 * a JOSE library would apply when producing tokens (`crit`, `b64`, duplicate members...).
 */
export interface RawSigner {
  readonly alg: RawAlgorithm;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public JWK with `kid`, `alg` and `use: sig`. */
  readonly jwk: Readonly<Record<string, unknown>>;
  /** A static JWKS holding this key only. */
  jwks(): JsonWebKeySet;
  /** `b64(header).b64(payload).signature`; the header defaults to `{ alg, kid }`. */
  token(payload: JsonText | Uint8Array, header?: JsonText): string;
  /** The raw signature of `signingInput` with this key and algorithm. */
  signature(signingInput: string): Uint8Array;
}

let signerCount = 0;

/**
 * Signs `signingInput` as `alg` with any private key, whether or not they fit: re-signing with
 * the wrong key or scheme is how several rows are built.
 */
export function signWith(
  alg: RawAlgorithm | 'PS512' | 'ES512',
  privateKey: KeyObject,
  signingInput: string,
): Uint8Array {
  const data = Buffer.from(signingInput);
  switch (alg) {
    case 'RS256':
      return signBytes('sha256', data, privateKey);
    case 'PS256':
      return signBytes('sha256', data, {
        key: privateKey,
        padding: rsa.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    case 'PS512':
      return signBytes('sha512', data, {
        key: privateKey,
        padding: rsa.RSA_PKCS1_PSS_PADDING,
        saltLength: 64,
      });
    case 'ES256':
      return signBytes('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ES512':
      return signBytes('sha512', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      return signBytes(null, data, privateKey);
  }
}

/** `b64(header).b64(payload).b64(signWith(...))`. */
export function tokenWith(
  alg: RawAlgorithm | 'PS512' | 'ES512',
  privateKey: KeyObject,
  payload: JsonText,
  header: JsonText,
): string {
  const signingInput = `${b64(text(header))}.${b64(text(payload))}`;
  return `${signingInput}.${b64(signWith(alg, privateKey, signingInput))}`;
}

/** DigestInfo prefix of SHA-256 (RFC 8017 9.2 note 1). */
export const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** EMSA-PKCS1-v1_5 encoding `00 01 FF.. 00 || T` of a DigestInfo `t`, `length` bytes long. */
export function pkcs1Encoded(t: Uint8Array, length: number): Buffer {
  return Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(length - t.length - 3, 0xff), Buffer.from([0]), t]);
}

export function createRawSigner(alg: RawAlgorithm, kid = `raw-${alg}-${++signerCount}`): RawSigner {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  const signature = (signingInput: string) => signWith(alg, privateKey, signingInput);
  return {
    alg,
    kid,
    privateKey,
    publicKey,
    jwk,
    jwks: () => ({ keys: [{ ...jwk }] }),
    signature,
    token(payload, header = { alg, kid }) {
      const signingInput = `${b64(text(header))}.${b64(text(payload))}`;
      return `${signingInput}.${b64(signature(signingInput))}`;
    },
  };
}

/** An HS* token over any header and payload text. */
export function hmacToken(
  secret: Uint8Array | string,
  payload: JsonText,
  header: JsonText = { alg: 'HS256' },
  hash: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const signingInput = `${b64(text(header))}.${b64(text(payload))}`;
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`;
}

/** Registered claims of a valid token for the default test issuer and audience. */
export const ISSUER = 'https://issuer.example.test/';
export const AUDIENCE = 'https://api.example.test';

export function claims(overrides: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const all: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    iat: now,
    exp: now + 300,
    jti: 'jti-1',
    ...overrides,
  };
  for (const name of Object.keys(all)) if (all[name] === undefined) delete all[name];
  return all;
}

/** Replaces segment `index` (0 header, 1 payload, 2 signature) of a compact token. */
export function withSegment(token: string, index: 0 | 1 | 2, segment: string): string {
  const parts = token.split('.');
  parts[index] = segment;
  return parts.join('.');
}

/** Flips one bit of the decoded segment and re-encodes it canonically. */
export function flipBit(token: string, index: 0 | 1 | 2, byte: number, bit = 0): string {
  const bytes = Buffer.from(token.split('.')[index] as string, 'base64url');
  bytes[byte] = (bytes[byte] as number) ^ (1 << bit);
  return withSegment(token, index, bytes.toString('base64url'));
}

/** A logger that records every warning. */
export function recordingLogger() {
  const calls: { message: string; details: unknown }[] = [];
  return { calls, warn: (message: string, details?: unknown) => calls.push({ message, details }) };
}

// ---------------------------------------------------------------------------------------------
// A real HTTP server whose handler is what an application would write with core alone.

export interface HttpReply {
  readonly status: number;
  readonly wwwAuthenticate: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface AuthServer {
  readonly url: string;
  readonly port: number;
  /** Sends a request with fetch. */
  request(init?: {
    headers?: HeadersInit;
    path?: string;
    method?: string;
    body?: string;
  }): Promise<HttpReply>;
  /** Writes `head` (the request line and header lines, CRLF-separated, no final blank line) on a socket. */
  raw(head: string, body?: string): Promise<HttpReply>;
  /** Requests that reached the application handler. */
  handled(): number;
  close(): Promise<void>;
}

/**
 * Starts a `node:http` server on 127.0.0.1:0 that answers `verifier.authenticate(req).claims()`
 * (or `.require(policy)`): 200 with the subject, or the AuthError's status, headers and
 * `toJSON()` body. With `parseFormBody`, urlencoded bodies are parsed into `req.body` first, as
 * `express.urlencoded()` does.
 */
export async function startAuthServer<TClaims extends { readonly sub?: string }>(
  verifier: Verifier<TClaims>,
  options: { policy?: AccessPolicy<TClaims>; parseFormBody?: boolean } = {},
): Promise<AuthServer> {
  let handled = 0;
  const server: Server = createServer(async (req, res) => {
    handled++;
    try {
      if (options.parseFormBody) await parseFormBody(req);
      const auth = verifier.authenticate(req);
      const verified = options.policy ? await auth.require(options.policy) : await auth.claims();
      send(200, authResponseHeaders(), { sub: verified.sub ?? null });
    } catch (error) {
      if (isAuthError(error)) send(error.status, authResponseHeaders(error), error.toJSON());
      else send(500, {}, { error: 'not an AuthError' });
    }
    function send(status: number, headers: Record<string, string>, body: unknown) {
      // A content-length (not chunked) keeps the raw-socket client trivial.
      const text = JSON.stringify(body);
      res.writeHead(status, {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    async request(init = {}) {
      const response = await fetch(`${url}${init.path ?? '/'}`, {
        method: init.method ?? 'GET',
        ...(init.headers !== undefined && { headers: init.headers }),
        ...(init.body !== undefined && { body: init.body }),
      });
      const bodyText = await response.text();
      return {
        status: response.status,
        wwwAuthenticate: response.headers.get('www-authenticate') ?? undefined,
        headers: Object.fromEntries(response.headers),
        body: parseJson(bodyText),
      };
    },
    raw: (head, body) => rawRequest(port, head, body),
    handled: () => handled,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function parseFormBody(req: IncomingMessage): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return;
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 65_536) break;
  }
  (req as IncomingMessage & { body?: unknown }).body = Object.fromEntries(new URLSearchParams(body));
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** One HTTP/1.1 request over a raw socket, for inputs fetch cannot express. Bounded to 5 s. */
function rawRequest(port: number, head: string, body = ''): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('raw request timed out'));
    }, 5000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      // A server that answers and then resets (Node's 431 while the client still writes) has
      // already said what it had to say: 'close' resolves with that answer.
      if (chunks.length > 0) return;
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const response = Buffer.concat(chunks).toString('latin1');
      const [headText = '', ...rest] = response.split('\r\n\r\n');
      const [statusLine = '', ...lines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        wwwAuthenticate: headers['www-authenticate'],
        headers,
        body: parseJson(rest.join('\r\n\r\n')),
      });
    });
    const length = body ? `\r\nContent-Length: ${Buffer.byteLength(body)}` : '';
    socket.end(`${head}${length}\r\nConnection: close\r\n\r\n${body}`, 'latin1');
  });
}

/** Asserts that an HTTP reply carries exactly this outcome, with the safe JSON body. */
export function expectReply(reply: HttpReply, outcome: Outcome): void {
  expect({
    status: reply.status,
    wwwAuthenticate: reply.wwwAuthenticate,
    body: reply.body,
  }).toEqual({
    status: outcome.status,
    wwwAuthenticate: outcome.wwwAuthenticate,
    body: expect.objectContaining({ code: outcome.code, reason: outcome.reason }),
  });
  expect(reply.headers['cache-control']).toBe('private, no-store');
}
