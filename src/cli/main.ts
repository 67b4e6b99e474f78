#!/usr/bin/env node
/**
 * `scopegate check`: explains why the API would accept or refuse an access token.
 * Exit status: 0 accepted, 1 refused, 2 usage or setup error. The token comes from standard
 * input or `--token-file`, and is never printed.
 */
import { readFile } from 'node:fs/promises';
import { type CheckArgs, parseCheckArgs, USAGE, UsageError } from './args.js';
import { type CheckReport, runCheck, SetupError } from './check.js';
import { renderReport } from './render.js';

/** Tokens are small (the verifier refuses more than 8 KiB); input beyond this is a mistake. */
const MAX_INPUT_BYTES = 1024 * 1024;

interface Io {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

async function readStdin(stdin: Io['stdin']): Promise<string> {
  if (stdin.isTTY) {
    throw new UsageError(
      'no token: pipe it on standard input (`scopegate check ... < token.txt`) or use --token-file F',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += buffer.byteLength;
    if (size > MAX_INPUT_BYTES) throw new UsageError('standard input is larger than 1 MiB: not a token');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readToken(args: CheckArgs, io: Io): Promise<string> {
  let text: string;
  if (args.tokenFile !== undefined) {
    try {
      const buffer = await readFile(args.tokenFile);
      if (buffer.byteLength > MAX_INPUT_BYTES)
        throw new UsageError('--token-file is larger than 1 MiB: not a token');
      text = buffer.toString('utf8');
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(
        `--token-file: cannot read ${args.tokenFile} (${(error as { code?: string }).code ?? 'error'})`,
      );
    }
  } else {
    text = await readStdin(io.stdin);
  }
  // A pasted header value or a trailing newline is not the operator's mistake to explain.
  const token = text.trim().replace(/^(authorization:\s*)?bearer\s+/i, '');
  if (token === '') throw new UsageError('no token on standard input');
  return token;
}

function fail(
  io: Io,
  json: boolean,
  kind: 'usage' | 'setup',
  message: string,
  causes: readonly string[] = [],
) {
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: { kind, message, causes } })}\n`);
  } else {
    const lines = [
      `scopegate check: ${kind} error: ${message}`,
      ...causes.map((cause) => `  cause: ${cause}`),
    ];
    if (kind === 'usage') lines.push('', USAGE);
    io.stderr.write(`${lines.join('\n')}\n`);
  }
  return 2;
}

/** Runs the CLI; resolves with the exit status. */
async function main(argv: readonly string[], io: Io): Promise<number> {
  const json = argv.includes('--json');
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'check') {
    return fail(
      io,
      json,
      'usage',
      command === undefined ? 'missing command' : 'unknown command (only "check")',
    );
  }
  let args: CheckArgs;
  let token: string;
  try {
    args = parseCheckArgs(rest);
    token = await readToken(args, io);
  } catch (error) {
    if (error instanceof UsageError) return fail(io, json, 'usage', error.message);
    throw error;
  }
  let report: CheckReport;
  try {
    report = await runCheck({ args, token });
  } catch (error) {
    if (error instanceof SetupError) return fail(io, json, 'setup', error.message, error.causes);
    throw error;
  }
  io.stdout.write(json ? `${JSON.stringify(report)}\n` : renderReport(report));
  return report.verdict.accepted ? 0 : 1;
}

main(process.argv.slice(2), process).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    // An unexpected failure: its message only (a stack could carry nothing useful to the operator).
    process.stderr.write(
      `scopegate check: internal error: ${error instanceof Error ? error.message : 'unknown'}\n`,
    );
    process.exitCode = 2;
  },
);
