/**
 * Section "dpop": a placeholder for the DPoP row. What one proof costs at least, per request,
 * beside Bearer: parse the proof's header, import its `jwk`, one ES256 `crypto.verify`, and the
 * RFC 7638 thumbprint to compare with the access token's `cnf.jkt`. The real DPoP path (claims,
 * `ath`, replay store) is measured once it is integrated.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { check, fmt, interleave, table } from './common.js';
import { benchTokens } from './tokens.js';

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

interface Proof {
  readonly jwt: string;
  readonly key: KeyObject;
  readonly jwk: { kty: string; crv: string; x: string; y: string };
}

/** RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace. */
function thumbprint(jwk: Proof['jwk']): string {
  return createHash('sha256')
    .update(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`)
    .digest('base64url');
}

function makeProofs(count: number): Proof[] {
  return Array.from({ length: count }, (_, i) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as Proof['jwk'];
    const header = b64(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk }));
    const payload = b64(
      JSON.stringify({
        jti: `proof-${i}`,
        htm: 'POST',
        htu: 'https://api.bench/graphql',
        iat: Math.floor(Date.now() / 1000),
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return { jwt: `${header}.${payload}.${b64(signature)}`, key: publicKey, jwk };
  });
}

/** The minimal proof check: header parse, key import, signature, thumbprint. */
function proofFloor(jwt: string): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const { jwk } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { jwk: Proof['jwk'] };
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const ok = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  if (!ok) throw new Error('proof signature');
  JSON.parse(Buffer.from(payload, 'base64url').toString());
  return thumbprint(jwk);
}

export async function dpopSection(options: { rounds: number }): Promise<string> {
  const COUNT = 1000;
  const proofs = makeProofs(COUNT);
  const { verifier, tokens } = await benchTokens();
  // The proof check refuses a proof signed by another key than its header's `jwk`.
  const [first, second] = proofs as [Proof, Proof];
  const swapped = `${first.jwt.split('.').slice(0, 2).join('.')}.${second.jwt.split('.')[2]}`;
  check(proofFloor(first.jwt) === thumbprint(first.jwk), 'proof check accepts a good proof');
  let refused = false;
  try {
    proofFloor(swapped);
  } catch {
    refused = true;
  }
  check(refused, 'proof check refuses a forged proof');

  let i = 0;
  const next = () => proofs[i++ % COUNT] as Proof;
  const perOp = await interleave(
    [
      { name: 'Bearer: scopegate verify (RS256 token)', run: () => verifier.verify(tokens.good) },
      {
        name: 'ES256 crypto.verify (prepared KeyObject)',
        run: () => {
          const { jwt, key } = next();
          const dot = jwt.lastIndexOf('.');
          verify(
            'sha256',
            Buffer.from(jwt.slice(0, dot)),
            { key, dsaEncoding: 'ieee-p1363' },
            Buffer.from(jwt.slice(dot + 1), 'base64url'),
          );
        },
      },
      { name: 'JWK thumbprint (RFC 7638)', run: () => thumbprint(next().jwk) },
      {
        name: 'createPublicKey from the proof jwk',
        run: () => createPublicKey({ key: next().jwk, format: 'jwk' }),
      },
      { name: 'proof floor: parse + import + verify + thumbprint', run: () => proofFloor(next().jwt) },
    ],
    { rounds: options.rounds, iterations: COUNT, warmup: 200 },
  );
  const bearer = perOp.get('Bearer: scopegate verify (RS256 token)') as number;
  const rows = [...perOp].map(([name, us]) => [name, fmt(us, 1), `${((us / bearer) * 100).toFixed(0)}%`]);
  return [
    `DPoP placeholder: per-request CPU cost of one ES256 proof beside a Bearer verify, ${COUNT} proofs (one key each), median of ${options.rounds} interleaved rounds, Node ${process.version}`,
    '',
    table(['operation', 'us / op (CPU)', 'of Bearer verify'], ['l', 'r', 'r'], rows),
  ].join('\n');
}
