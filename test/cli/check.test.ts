/**
 * `scopegate check` as a real process (`node --import tsx src/cli/main.ts`), the token piped on
 * standard input, against real issuers on 127.0.0.1: the testing kit's served JWKS and metadata,
 * and a real oidc-provider reached by OIDC discovery. Every run is bounded in time and every
 * output is checked never to contain the token or its signature.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer, type ServedIssuer, type TestIssuer } from '../../src/testing/index.js';
import { INVALID_TOKEN } from '../helpers/auth.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AUDIENCE = 'https://api.example.test';
const ISSUER = 'http://127.0.0.1/cli-issuer';
const RUN_TIMEOUT_MS = 15_000;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with `input` on standard input; kills it if it outlives RUN_TIMEOUT_MS. */
function cli(args: readonly string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the CLI did not exit within ${RUN_TIMEOUT_MS} ms`));
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Neither the token nor its signature appears anywhere in the output. */
function expectNoLeak(run: Run, token: string): void {
  const signature = token.split('.')[2] ?? '';
  for (const text of [run.stdout, run.stderr]) {
    expect(text).not.toContain(token);
    if (signature.length > 8) expect(text).not.toContain(signature);
  }
}

interface JsonReport {
  readonly checks: { name: string; status: string; expected?: string; actual?: string }[];
  readonly keys: { kid: string | null; kty: string | null; alg: string | null }[];
  readonly scopes: string[] | null;
  readonly verdict: {
    accepted: boolean;
    status: number;
    code?: string;
    reason?: string;
    challenge?: string;
  };
}

function check(report: JsonReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  expect(found, `check ${name}`).toBeDefined();
  return found as NonNullable<typeof found>;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('scopegate check against the testing kit served on 127.0.0.1', () => {
  let issuer: TestIssuer;
  let served: ServedIssuer;
  let base: string[];

  beforeAll(async () => {
    issuer = await createTestIssuer({ issuer: ISSUER, audience: AUDIENCE });
    served = await issuer.serve();
    base = [
      'check',
      '--issuer',
      ISSUER,
      '--jwks-uri',
      served.jwksUri,
      '--audience',
      AUDIENCE,
      '--allow-insecure-loopback',
    ];
  });
  afterAll(async () => {
    await served?.close();
  });

  /** Runs with --json and returns the parsed report. */
  async function report(
    token: string,
    extra: readonly string[] = [],
  ): Promise<{ run: Run; report: JsonReport }> {
    const run = await cli([...base, ...extra, '--json'], token);
    expectNoLeak(run, token);
    return { run, report: JSON.parse(run.stdout) as JsonReport };
  }

  it('a valid token: exit 0, every check passes, scopes listed, no token in the output', async () => {
    const token = await issuer.sign({ scope: 'read:data write:data' });
    const run = await cli(base, `${token}\n`);
    expectNoLeak(run, token);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('verdict: ACCEPTED');
    expect(run.stdout).toContain('scopes granted: read:data write:data');
    expect(run.stdout).toMatch(/ok\s+kid\s+"test-key-1"/);
    expect(run.stdout).toMatch(/ok\s+signature\s+valid/);
    expect(run.stdout).not.toContain('FAIL');
    expect(run.stderr).toBe('');
  });

  it('--json: one object with the keys, the checks, the scopes and the verdict', async () => {
    const token = await issuer.sign({ scope: 'read:data' });
    const { run, report: r } = await report(token);
    expect(run.status).toBe(0);
    expect(Object.keys(r).sort()).toEqual(
      [
        'algorithms',
        'audience',
        'checks',
        'issuer',
        'jwksUri',
        'keys',
        'scopes',
        'verdict',
        'warnings',
      ].sort(),
    );
    expect(r.verdict).toEqual({ accepted: true, status: 200 });
    expect(r.keys).toEqual([{ kid: 'test-key-1', kty: 'RSA', alg: 'RS256', use: 'sig', crv: null }]);
    expect(r.scopes).toEqual(['read:data']);
    expect(r.checks.map((c) => c.name)).toEqual([
      'length',
      'format',
      'header segment',
      'payload segment',
      'signature segment',
      'alg',
      'typ',
      'header parameters',
      'kid',
      'signature',
      'iss',
      'aud',
      'exp',
      'nbf',
      'iat',
    ]);
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('--token-file reads the token from a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopegate-cli-'));
    try {
      const token = await issuer.sign();
      const file = join(dir, 'token.txt');
      await writeFile(file, `Bearer ${token}\n`);
      const run = await cli([...base, '--token-file', file]);
      expectNoLeak(run, token);
      expect(run.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('expired: exit 1, 401 token_expired, exp shown relative to now', async () => {
    const token = await issuer.expired({}, 600);
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toEqual({
      accepted: false,
      status: 401,
      code: 'UNAUTHORIZED',
      reason: 'token_expired',
      message: 'The access token has expired',
      challenge: INVALID_TOKEN,
      // issue 8: the verifier's server-only explanation
      detail: expect.stringMatching(/^exp: \d+ \(.*\) is past \(now \d+ \(.*\), clockTolerance \d+s\)$/),
    });
    expect(check(r, 'exp')).toMatchObject({
      status: 'fail',
      actual: expect.stringMatching(/\(10 min ago\)$/),
    });
    expect(check(r, 'signature').status).toBe('pass');
  });

  it('wrong audience: exit 1, invalid_audience with expected vs actual', async () => {
    const token = await issuer.wrongAudience();
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'invalid_audience' });
    expect(check(r, 'aud')).toEqual({
      name: 'aud',
      status: 'fail',
      expected: `contains one of "${AUDIENCE}"`,
      actual: '"https://another-api.example.test"',
    });
  });

  it('wrong issuer: exit 1, invalid_issuer, the signature not checked', async () => {
    const token = await issuer.wrongIssuer();
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, reason: 'invalid_issuer', challenge: INVALID_TOKEN });
    expect(check(r, 'iss')).toMatchObject({
      status: 'fail',
      expected: `"${ISSUER}"`,
      actual: '"https://another-issuer.example.test/"',
    });
    expect(check(r, 'signature').status).toBe('skip');
  });

  it('unknown kid: exit 1, unknown_key, and the kids the key set holds', async () => {
    const token = await issuer.sign({}, { header: { kid: 'retired-key' } });
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, reason: 'unknown_key' });
    expect(check(r, 'kid')).toEqual({
      name: 'kid',
      status: 'fail',
      expected: 'a key for "RS256" in the key set (1 key: test-key-1 RSA RS256)',
      actual: '"retired-key"',
    });
  });

  it('forged signature (another token signature on these claims): exit 1, invalid_signature', async () => {
    const [header, payload] = (await issuer.sign({ scope: 'admin' })).split('.');
    const other = (await issuer.sign({ scope: 'read:data' })).split('.')[2];
    const token = `${header}.${payload}.${other}`;
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, reason: 'invalid_signature', challenge: INVALID_TOKEN });
    expect(check(r, 'signature')).toMatchObject({ status: 'fail' });
    expect(check(r, 'aud').status).toBe('pass');
  });

  it('alg none: exit 1, unsupported_algorithm, the alg check says why', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: ISSUER, aud: AUDIENCE, exp: 4e9 })}.AAAA`;
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'unsupported_algorithm' });
    expect(check(r, 'alg')).toMatchObject({
      status: 'fail',
      expected: 'one of RS256',
      actual: '"none"',
      note: 'unsigned tokens are never accepted',
    });
  });

  it('alg none with an empty signature: exit 1, 401, the empty signature segment named', async () => {
    const token = `${b64url({ alg: 'none' })}.${b64url({ iss: ISSUER, aud: AUDIENCE, exp: 4e9 })}.`;
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(check(r, 'signature segment')).toMatchObject({
      status: 'fail',
      actual: 'empty (an unsigned token)',
    });
    expect(check(r, 'alg').status).toBe('fail');
  });

  it('malformed payload segment: exit 1, malformed_token, the segment named', async () => {
    const [header, payload, signature] = (await issuer.sign()).split('.');
    const token = `${header}.${payload}+.${signature}`;
    const { run, report: r } = await report(token);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, reason: 'malformed_token' });
    expect(check(r, 'header segment').status).toBe('pass');
    expect(check(r, 'payload segment')).toMatchObject({
      status: 'fail',
      actual: expect.stringContaining('not canonical base64url'),
    });
  });

  it('a two-segment token: exit 1, the format check counts the segments', async () => {
    const [header, payload] = (await issuer.sign()).split('.');
    const { run, report: r } = await report(`${header}.${payload}`);
    expect(run.status).toBe(1);
    expect(r.verdict).toMatchObject({ status: 401, reason: 'malformed_token' });
    expect(check(r, 'format')).toMatchObject({ status: 'fail', actual: '2 segments' });
  });

  it('a token given as an argument is refused (exit 2) and never echoed', async () => {
    const token = await issuer.sign();
    const run = await cli([...base, token]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('a token given as a command-line argument is refused');
    expect(run.stderr).toContain('standard input');
    expect(run.stdout).toBe('');
    expectNoLeak(run, token);
    const flag = await cli([...base, `--token=${token}`, '--json']);
    expect(flag.status).toBe(2);
    expect(JSON.parse(flag.stdout)).toMatchObject({ error: { kind: 'usage' } });
    expectNoLeak(flag, token);
  });

  it('usage mistakes: exit 2 (no audience, both --domain and --issuer, empty input)', async () => {
    const token = await issuer.sign();
    const noAudience = await cli(['check', '--issuer', ISSUER], token);
    expect(noAudience.status).toBe(2);
    expect(noAudience.stderr).toContain('--audience is required');
    const both = await cli(
      ['check', '--issuer', ISSUER, '--domain', 'x.example', '--audience', AUDIENCE],
      token,
    );
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('exactly one of --domain or --issuer');
    const empty = await cli(base, '\n');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('no token on standard input');
  });

  it('discovery issuer mismatch: exit 2, expected vs the metadata issuer, no verdict', async () => {
    // The served metadata names ISSUER; asking for the server's own origin is a mismatch.
    const token = await issuer.sign();
    const args = ['check', '--issuer', served.url, '--audience', AUDIENCE, '--allow-insecure-loopback'];
    const run = await cli(args, token);
    expectNoLeak(run, token);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("setup error: the issuer's keys could not be obtained");
    expect(run.stderr).toContain('the metadata "issuer" does not match the configured issuer');
    expect(run.stderr).toContain(`expected issuer "${served.url}"`);
    expect(run.stderr).toContain(`says "${ISSUER}"`);
    const json = await cli([...args, '--json'], token);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { kind: 'setup', message: "the issuer's keys could not be obtained" },
    });
  });

  it('JWKS 404: exit 2 and the cause', async () => {
    const token = await issuer.sign();
    const args = [...base.slice(0, 3), '--jwks-uri', `${served.url}/missing/jwks.json`, ...base.slice(5)];
    const run = await cli([...args, '--json'], token);
    expectNoLeak(run, token);
    expect(run.status).toBe(2);
    const { error } = JSON.parse(run.stdout) as { error: { kind: string; causes: string[] } };
    expect(error.kind).toBe('setup');
    expect(error.causes).toContain(`expected 200 OK, got 404 (${served.url}/missing/jwks.json)`);
  });
});

describe('scopegate check against a JWKS that is not JSON', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  it('exit 2: the key set URL answered something that is not JSON', async () => {
    const args = ['check', '--issuer', ISSUER, '--jwks-uri', `${url}/jwks`, '--audience', AUDIENCE];
    const run = await cli([...args, '--allow-insecure-loopback'], 'a.b.c');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`cause: response is not JSON (${url}/jwks)`);
  });
});

describe('scopegate check against a real oidc-provider (discovery, RFC 9068 tokens)', () => {
  const API = 'https://api.example.test';
  let server: Server;
  let issuer: string;
  let restore: () => void = () => {};

  beforeAll(async () => {
    // oidc-provider prints development notices; keep the test output clean.
    const { warn, info } = console;
    const quiet =
      (original: (...args: unknown[]) => void) =>
      (...args: unknown[]) => {
        if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
        original.apply(console, args);
      };
    console.warn = quiet(warn);
    console.info = quiet(info);
    restore = () => {
      console.warn = warn;
      console.info = info;
    };
    const oidc = await import('oidc-provider');
    let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) =>
      res.writeHead(503).end();
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const provider = new oidc.Provider(issuer, {
      jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'op-rsa', use: 'sig' }] },
      clients: [
        {
          client_id: 'cli-client',
          client_secret: 'cli-secret-0123456789abcdef0123456789ab',
          token_endpoint_auth_method: 'client_secret_post',
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
        },
      ],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          getResourceServerInfo: () => ({
            scope: 'read:data',
            audience: API,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
    });
    handler = provider.callback();
  });
  afterAll(async () => {
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    restore();
  });

  async function token(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      resource: API,
      scope: 'read:data',
      client_id: 'cli-client',
      client_secret: 'cli-secret-0123456789abcdef0123456789ab',
    });
    const response = await fetch(`${issuer}/token`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it('a token from the token endpoint: exit 0 in --strict mode, keys found by discovery', async () => {
    const accessToken = await token();
    const args = ['check', '--issuer', issuer, '--audience', API, '--strict', '--allow-insecure-loopback'];
    const run = await cli([...args, '--json'], accessToken);
    expectNoLeak(run, accessToken);
    expect(run.status).toBe(0);
    const r = JSON.parse(run.stdout) as JsonReport & { jwksUri: string };
    expect(r.verdict).toEqual({ accepted: true, status: 200 });
    expect(r.jwksUri).toBe(`${issuer}/jwks`);
    expect(r.keys).toEqual([expect.objectContaining({ kid: 'op-rsa', kty: 'RSA' })]);
    expect(check(r, 'typ')).toMatchObject({ status: 'pass', actual: '"at+jwt"' });
    expect(check(r, 'RFC 9068 claims').status).toBe('pass');
    expect(r.scopes).toEqual(['read:data']);
  });

  it('the same token for another audience: exit 1, invalid_audience', async () => {
    const accessToken = await token();
    const args = ['check', '--issuer', issuer, '--audience', 'https://other.example.test'];
    const run = await cli([...args, '--allow-insecure-loopback'], accessToken);
    expectNoLeak(run, accessToken);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('verdict: REFUSED 401 UNAUTHORIZED invalid_audience');
    expect(run.stdout).toMatch(
      /FAIL\s+aud\s+"https:\/\/api\.example\.test"\s+\(expected: contains one of "https:\/\/other\.example\.test"\)/,
    );
  });
});
