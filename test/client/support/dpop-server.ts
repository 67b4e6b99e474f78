/**
 * A small, independent DPoP resource server (RFC 9449) for the client tests, written with jose:
 * it checks each proof's signature with the `jwk` of its header, `typ`, `htm`, `htu`, `ath`,
 * `iat`, a `jti` never seen before, and, when asked to, a server nonce it hands out in
 * `DPoP-Nonce` (on challenges and on every response). scopegate's own server does not accept DPoP
 * yet: this one stands in for it until the end-to-end tests.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  base64url,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { type Listening, serve } from './servers.js';

export interface ProofSeen {
  readonly htm: string;
  readonly htu: string;
  readonly ath: string;
  readonly jti: string;
  readonly nonce: string | undefined;
  readonly jkt: string;
}

export interface DpopServer extends Listening {
  /** Proofs that verified, in order. */
  readonly proofs: ProofSeen[];
  /** Every request's status, in order. */
  readonly statuses: number[];
  /** Requests whose body was read, in order. */
  readonly bodies: string[];
  /** A new nonce: proofs carrying the old one are challenged. */
  rotateNonce(): string;
  nonce(): string;
}

export interface DpopServerOptions {
  /** Require a server nonce. @default false */
  readonly nonces?: boolean;
  /** Tokens the server answers 401 `invalid_token` (expired) for. */
  readonly expired?: ReadonlySet<string>;
  /** Rotate the nonce on every request (a server that never lets a nonce be used). */
  readonly rotateEveryRequest?: boolean;
}

/**
 * Verifies `proof` for a request (`method`, `htu`) presenting `token`: signature by the header's
 * public `jwk`, `typ`, `alg`, `iat` within 60 s, `htm`, `htu`, `ath`. The caller checks `jti`
 * and `nonce`. Null when any check fails.
 */
export async function verifyProof(
  proof: string,
  request: { readonly method: string; readonly htu: string; readonly token: string },
): Promise<ProofSeen | null> {
  try {
    const header = decodeProtectedHeader(proof);
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || 'd' in jwk || header.typ !== 'dpop+jwt') return null;
    const key = await importJWK(jwk, header.alg);
    const { payload } = await jwtVerify(proof, key, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'EdDSA', 'Ed25519'],
      maxTokenAge: 60,
    });
    const seen: ProofSeen = {
      htm: String(payload.htm),
      htu: String(payload.htu),
      ath: String(payload.ath),
      jti: String(payload.jti),
      nonce: typeof payload.nonce === 'string' ? payload.nonce : undefined,
      jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    };
    const ok = seen.htm === request.method && seen.htu === request.htu && seen.ath === ath(request.token);
    return ok ? seen : null;
  } catch {
    return null;
  }
}

const ath = (token: string) => base64url.encode(createHash('sha256').update(token).digest());

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startDpopServer(options: DpopServerOptions = {}): Promise<DpopServer> {
  const proofs: ProofSeen[] = [];
  const statuses: number[] = [];
  const bodies: string[] = [];
  const jtis = new Set<string>();
  let counter = 0;
  let current = `n-${++counter}-${Math.random().toString(36).slice(2)}`;
  let origin = '';
  const rotateNonce = () => {
    current = `n-${++counter}-${Math.random().toString(36).slice(2)}`;
    return current;
  };

  const answer = (res: ServerResponse, status: number, challenge?: string, body = '{}') => {
    statuses.push(status);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.nonces) headers['dpop-nonce'] = current;
    if (challenge) headers['www-authenticate'] = challenge;
    res.writeHead(status, headers);
    res.end(body);
  };

  const running = await serve(async (req, res) => {
    const body = await readBody(req);
    bodies.push(body);
    const authorization = req.headers.authorization ?? '';
    const proof = req.headers.dpop;
    const match = /^DPoP ([\w.~+/-]+=*)$/.exec(authorization);
    if (!match?.[1] || typeof proof !== 'string') {
      return answer(res, 401, 'DPoP algs="ES256 EdDSA"');
    }
    const token = match[1];
    const invalidProof = () => answer(res, 401, 'DPoP algs="ES256 EdDSA", error="invalid_dpop_proof"');
    const path = new URL(req.url ?? '/', origin).pathname;
    const seen = await verifyProof(proof, { method: req.method ?? '', htu: `${origin}${path}`, token });
    if (!seen || jtis.has(seen.jti)) return invalidProof();
    jtis.add(seen.jti);
    if (options.nonces && seen.nonce !== current) {
      answer(res, 401, 'DPoP algs="ES256 EdDSA", error="use_dpop_nonce"');
      if (options.rotateEveryRequest) rotateNonce(); // the nonce just sent is already stale
      return;
    }
    proofs.push(seen);
    // `/rotate` answers 200 with a new nonce: a client must take it from there, unchallenged.
    if (path === '/rotate') rotateNonce();
    if (options.expired?.has(token)) {
      return answer(res, 401, 'DPoP algs="ES256 EdDSA", error="invalid_token"');
    }
    return answer(res, 200, undefined, JSON.stringify({ ok: true, body }));
  });
  origin = running.origin;
  return { ...running, proofs, statuses, bodies, rotateNonce, nonce: () => current };
}
