/**
 * Section "dpop": the per-request CPU cost of a DPoP request beside a Bearer request, both through
 * the verifier's request flow (`verifier.authenticate(request).claims()` on a fetch `Request`):
 * DPoP = the access token (RS256) + the proof (ES256 signature of a cached client key, `htm`,
 * `htu`, `iat`, `ath`) + the binding (`cnf.jkt`) + the `jti` claim in the in-memory replay store.
 * Every DPoP iteration sends a new proof (a proof is accepted once). The token cache is off: both
 * rows verify their token's RS256 signature.
 */
import { createMemoryReplayStore, createVerifier } from '../src/core/index.js';
import { check, fmt, interleave, table } from './common.js';
import { AUDIENCE, benchTokens } from './tokens.js';

const URL_ = 'https://api.bench/graphql';
const ITERATIONS = 1000;
const WARMUP = 200;

export async function dpopSection(options: { rounds: number }): Promise<string> {
  const { issuer, options: verifierOptions, tokens } = await benchTokens();
  const needed = WARMUP + ITERATIONS * options.rounds + 10;
  // Made before the proofs: the memory store refuses proofs issued before it started.
  const replayStore = createMemoryReplayStore({ maxEntries: needed * 2, maxEntriesPerKey: needed * 2 });
  const verifier = createVerifier({
    ...verifierOptions,
    audience: AUDIENCE,
    jwks: issuer.jwks(),
    dpop: { replayStore },
  });
  const key = await issuer.dpopKey({ algorithm: 'ES256' });
  const bound = await key.sign({ scope: 'openid read:items' }, { expiresIn: 3600 });
  const proofs: string[] = [];
  for (let i = 0; i < needed; i++) {
    proofs.push(await key.proof({ method: 'POST', url: URL_, accessToken: bound }));
  }

  const bearerRequest = () =>
    new Request(URL_, { method: 'POST', headers: { authorization: `Bearer ${tokens.good}` } });
  let next = 0;
  const dpopRequest = (proof = proofs[next++] as string) =>
    new Request(URL_, { method: 'POST', headers: { authorization: `DPoP ${bound}`, dpop: proof } });

  // Each contender refuses what it must before it is measured.
  const refused = (request: Request) =>
    verifier
      .authenticate(request)
      .claims()
      .then(
        () => false,
        () => true,
      );
  check(!(await refused(bearerRequest())), 'Bearer request accepted');
  const first = proofs[next++] as string;
  check(!(await refused(dpopRequest(first))), 'DPoP request accepted');
  check(await refused(dpopRequest(first)), 'a replayed proof is refused');
  const forged = `${first.slice(0, first.lastIndexOf('.'))}.${(proofs[next++] as string).split('.')[2]}`;
  check(await refused(dpopRequest(forged)), 'a forged proof is refused');
  check(
    await refused(new Request(URL_, { method: 'POST', headers: { authorization: `Bearer ${bound}` } })),
    'a DPoP-bound token under Bearer is refused',
  );

  const perOp = await interleave(
    [
      { name: 'Bearer request (RS256 token)', run: () => verifier.authenticate(bearerRequest()).claims() },
      {
        name: 'DPoP request (RS256 token + ES256 proof + binding + jti claim)',
        run: () => verifier.authenticate(dpopRequest()).claims(),
      },
    ],
    { rounds: options.rounds, iterations: ITERATIONS, warmup: WARMUP },
  );
  check(next <= proofs.length, 'enough unique proofs');
  const bearer = perOp.get('Bearer request (RS256 token)') as number;
  const rows = [...perOp].map(([name, us]) => [name, fmt(us, 1), `${((us / bearer) * 100).toFixed(0)}%`]);
  const dpop = perOp.get('DPoP request (RS256 token + ES256 proof + binding + jti claim)') as number;
  return [
    `DPoP per request: \`verifier.authenticate(request).claims()\` on a fetch Request, one new proof per request (one client key), in-memory replay store, ${ITERATIONS} requests per round, median of ${options.rounds} interleaved rounds, Node ${process.version}`,
    '',
    table(['request', 'us / request (CPU)', 'of Bearer'], ['l', 'r', 'r'], rows),
    '',
    `DPoP adds ${fmt(dpop - bearer, 1)} us per request.`,
  ].join('\n');
}
