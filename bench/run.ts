/**
 * `npm run bench [-- <section>...] [--rounds N]`: runs the sections (all by default) and prints
 * Markdown for BENCHMARKS.md. Sections:
 * - verify:  verify throughput per algorithm (bench/verify.bench.ts, in its own process)
 * - fields:  field-level auth at list scale, in-process `yoga.fetch` (bench/fields.ts)
 * - http:    req/s protected / public, yoga and tRPC servers on 127.0.0.1 (bench/http.ts);
 *            `--concurrency N` requests in flight (default 8)
 * - claims:  verify() cost beyond the signature, Auth0-shaped tokens (bench/claims.ts)
 * - dpop:    a DPoP request beside a Bearer request through the verifier (bench/dpop.ts)
 * - profile: CPU profiles of verify, the field case and the tRPC protected path (bench/profile.ts)
 * `--baseline <rev>` adds scopegate's contenders built from `src/` at that commit (fields, http,
 * claims), labelled `(before, <rev>)`, for before/after tables from one run.
 * Every section checks first that each contender refuses a missing, a forged and an
 * under-scoped token (or the section's equivalent), and aborts otherwise.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const SECTIONS = ['verify', 'fields', 'http', 'claims', 'dpop', 'profile'] as const;
type Section = (typeof SECTIONS)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '7' },
    concurrency: { type: 'string', default: '8' },
    baseline: { type: 'string' },
  },
});
// Before/after in one run: scopegate's contenders also built from src/ at this commit.
if (values.baseline) (await import('./baseline.js')).prepareBaseline(values.baseline);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError('--rounds must be a positive integer');
for (const name of positionals) {
  if (!SECTIONS.includes(name as Section)) {
    throw new TypeError(`unknown section "${name}"; sections: ${SECTIONS.join(', ')}`);
  }
}
const chosen = positionals.length > 0 ? (positionals as Section[]) : [...SECTIONS];

function verifySection(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        new URL('./verify.bench.ts', import.meta.url).pathname,
        '--tokens',
        '1000',
        '--rounds',
        String(rounds),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`verify exited with ${code}`)),
    );
  });
}

const run: Record<Section, () => Promise<string>> = {
  verify: verifySection,
  fields: async () => (await import('./fields.js')).fieldsSection({ rounds }),
  http: async () =>
    (await import('./http.js')).httpSection({ rounds, ms: 1000, concurrency: Number(values.concurrency) }),
  claims: async () => (await import('./claims.js')).claimsSection({ rounds, tokens: 2000 }),
  dpop: async () => (await import('./dpop.js')).dpopSection({ rounds }),
  profile: async () => (await import('./profile.js')).profileSection(),
};

const started = performance.now();
for (const section of chosen) {
  const t0 = performance.now();
  const markdown = await run[section]();
  console.log(`### ${section}\n\n${markdown}\n`);
  console.error(`[bench] ${section}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
console.error(`[bench] total: ${((performance.now() - started) / 1000).toFixed(0)} s`);
