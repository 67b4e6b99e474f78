/**
 * `--baseline <rev>`: the same contenders built from scopegate's `src/` at another commit, measured
 * in the same run as the working tree's (before/after side by side). run.ts extracts that `src/`
 * once (`git archive`) under node_modules/.cache, so that its imports of graphql, tRPC... resolve
 * to this checkout's node_modules, and passes the directory on in SCOPEGATE_BENCH_BASELINE (the
 * server child processes inherit it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ENV = 'SCOPEGATE_BENCH_BASELINE';

/** Extracts `src/` at `rev` (once) and sets the environment for this process and its children. */
export function prepareBaseline(rev: string): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', rev], { encoding: 'utf8' }).trim();
  const dir = join(root, 'node_modules', '.cache', 'scopegate-baseline', commit);
  if (!existsSync(join(dir, 'src'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', 'git -C "$1" archive "$2" src | tar -x -C "$3"', 'sh', root, commit, dir]);
  }
  process.env[ENV] = `${commit}:${dir}`;
}

/** The label of the baseline's contenders, e.g. `(before, cea1bc4)`; undefined without a baseline. */
export function baselineLabel(): string | undefined {
  const value = process.env[ENV];
  return value ? `(before, ${value.slice(0, value.indexOf(':'))})` : undefined;
}

/** A module of the baseline's `src/` (e.g. `graphql/index.ts`), or undefined without a baseline. */
export async function baselineModule<T>(path: string): Promise<T | undefined> {
  const value = process.env[ENV];
  if (!value) return undefined;
  return (await import(join(value.slice(value.indexOf(':') + 1), 'src', path))) as T;
}
