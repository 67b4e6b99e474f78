/**
 * Command-line arguments of `scopegate check`. A token is never accepted as an argument: shell
 * history and `ps` keep arguments, so one given there is refused (without echoing it).
 */
import type { Algorithm } from '../core/algorithms.js';
import { isAlgorithm } from '../core/algorithms.js';

export interface CheckArgs {
  readonly domain?: string;
  readonly issuer?: string;
  readonly jwksUri?: string;
  readonly audience: readonly string[];
  readonly algorithms?: readonly Algorithm[];
  readonly scopeClaims?: readonly string[];
  readonly strict: boolean;
  readonly allowInsecureLoopback: boolean;
  readonly json: boolean;
  readonly tokenFile?: string;
}

/** A mistake in the command line: exit 2, with this message and the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage:
  scopegate check --domain D --audience A [options] < token
  scopegate check --issuer I [--jwks-uri U] --audience A [options] < token

The access token is read from standard input (or --token-file F), never from an argument:
shell history and \`ps\` keep arguments.

Options:
  --domain D                 Auth0 tenant: issuer https://D/, keys at https://D/.well-known/jwks.json
  --issuer I                 exact expected "iss"; keys by OIDC discovery unless --jwks-uri is given
  --jwks-uri U               the issuer's JSON Web Key Set URL
  --audience A               expected "aud" (repeat the option for several)
  --algorithms RS256,ES256   accepted signature algorithms (default RS256)
  --scope-claims scope,scp   claims that carry scopes (default scope,scp)
  --strict                   RFC 9068 access tokens: typ at+jwt, sub, client_id, iat, jti required
  --allow-insecure-loopback  allow http://127.0.0.1 and http://localhost issuers (local testing)
  --token-file F             read the token from file F instead of standard input
  --json                     print one JSON object (for scripts)

Exit status: 0 accepted, 1 refused, 2 usage or setup error.`;

const VALUE_OPTIONS = new Set([
  '--domain',
  '--issuer',
  '--jwks-uri',
  '--audience',
  '--algorithms',
  '--scope-claims',
  '--token-file',
]);
const FLAGS = new Set(['--strict', '--allow-insecure-loopback', '--json']);

const TOKEN_REFUSED =
  'a token given as a command-line argument is refused: shell history and `ps` keep arguments. ' +
  'Pipe it on standard input (`scopegate check ... < token.txt`) or use --token-file F.';

// Three base64url runs: what a compact JWS given by mistake as an argument looks like.
const LOOKS_LIKE_TOKEN = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$|^ey[A-Za-z0-9_-]{8,}/;

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Parses the arguments after `check`. @throws UsageError */
export function parseCheckArgs(argv: readonly string[]): CheckArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--token' || name === '--access-token') throw new UsageError(TOKEN_REFUSED);
    if (FLAGS.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      flags.add(name);
      continue;
    }
    if (VALUE_OPTIONS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
        throw new UsageError(`${name} needs a value`);
      }
      values.set(name, [...(values.get(name) ?? []), value]);
      continue;
    }
    if (LOOKS_LIKE_TOKEN.test(arg) || !arg.startsWith('-')) {
      // Never echo it: it may be a token.
      throw new UsageError(
        LOOKS_LIKE_TOKEN.test(arg) ? TOKEN_REFUSED : 'unexpected argument (not an option)',
      );
    }
    throw new UsageError(`unknown option ${name.replace(/[^\x21-\x7e]/g, '?').slice(0, 40)}`);
  }
  const one = (name: string): string | undefined => {
    const given = values.get(name);
    if (given && given.length > 1) throw new UsageError(`${name} is given more than once`);
    return given?.[0];
  };
  const domain = one('--domain');
  const issuer = one('--issuer');
  const jwksUri = one('--jwks-uri');
  if ((domain === undefined) === (issuer === undefined)) {
    throw new UsageError('give exactly one of --domain or --issuer');
  }
  if (domain !== undefined && jwksUri !== undefined) {
    throw new UsageError('--jwks-uri goes with --issuer (--domain implies its key set URL)');
  }
  const audience = (values.get('--audience') ?? []).flatMap(list);
  if (audience.length === 0) throw new UsageError('--audience is required');
  const algorithmsValue = one('--algorithms');
  let algorithms: Algorithm[] | undefined;
  if (algorithmsValue !== undefined) {
    algorithms = [];
    for (const alg of list(algorithmsValue)) {
      if (!isAlgorithm(alg))
        throw new UsageError(`--algorithms: "${alg.slice(0, 20)}" is not a supported algorithm`);
      algorithms.push(alg);
    }
  }
  const scopeClaimsValue = one('--scope-claims');
  const tokenFile = one('--token-file');
  return {
    ...(domain !== undefined ? { domain } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
    audience,
    ...(algorithms ? { algorithms } : {}),
    ...(scopeClaimsValue !== undefined ? { scopeClaims: list(scopeClaimsValue) } : {}),
    strict: flags.has('--strict'),
    allowInsecureLoopback: flags.has('--allow-insecure-loopback'),
    json: flags.has('--json'),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
  };
}
