/**
 * Section "profile": CPU profiles (V8's sampling profiler, the one `node --cpu-prof` runs, here
 * through node:inspector so that start-up and module loading stay out of the profile) of scopegate's part in three cases, and a
 * summary of where the time goes (self time by file:function, inclusive time of scopegate's own
 * functions):
 * - verify: `verifier.verify` on Auth0-shaped RS256 tokens;
 * - fields: the field-level case (1000 x 5 `@auth` fields through `yoga.fetch`);
 * - trpc: the tRPC standalone server with `protectedProcedure.use(requireScopes())` under load
 *   (the server process is the one profiled).
 */
import { readFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { fmt, table } from './common.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SECONDS = 3;
const INTERVAL_US = 200;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const sources = new Map<string, string[]>();

/**
 * The line of a named function in a TypeScript source: tsx's transpiled code does not keep the
 * source's line numbers, so the profile's are looked up by name (first definition in the file).
 */
function sourceLine(file: string, name: string, fallback: number): number {
  if (!name || !file.endsWith('.ts')) return fallback;
  let lines = sources.get(file);
  if (!lines) {
    try {
      lines = readFileSync(`${ROOT}${file}`, 'utf8').split('\n');
    } catch {
      lines = [];
    }
    sources.set(file, lines);
  }
  const plain = name.replace(/^#/, '');
  const definition = new RegExp(
    `(function\\*?\\s+${plain}\\b|\\b(const|let)\\s+${plain}\\s*=|^\\s*(async\\s+|get\\s+|static\\s+)*#?${plain}\\s*[(<])`,
  );
  const index = lines.findIndex((line) => definition.test(line));
  return index >= 0 ? index + 1 : fallback;
}

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const file = url.startsWith(ROOT) ? url.slice(ROOT.length) : url.replace(/^.*\/node_modules\//, '');
  const name = frame.functionName || '(anonymous)';
  if (!file) return name;
  // tsx's line numbers say nothing about the source: an anonymous function in a .ts file gets none.
  const line = sourceLine(file, frame.functionName, file.endsWith('.ts') ? 0 : frame.lineNumber + 1);
  return line ? `${file}:${line} ${name}` : `${file} ${name}`;
}

function category(frame: CallFrame): string {
  const url = frame.url;
  if (frame.functionName === '(garbage collector)') return 'GC';
  if (frame.functionName === '(program)' || frame.functionName === '(idle)') return frame.functionName;
  if (url.includes(`${ROOT}src/`)) return 'scopegate (src/)';
  if (url.includes(`${ROOT}bench/`)) return 'bench harness';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:') || url === '') return 'node internals / native';
  return 'other';
}

/** Self time per file:function, inclusive time of each (recursion counted once), per category. */
export function summarize(profile: CpuProfile): {
  total: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
  categories: Map<string, number>;
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfOfNode = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfOfNode.set(id, (selfOfNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const self = new Map<string, number>();
  const categories = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of selfOfNode) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    if (frame.functionName === '(idle)') continue;
    total += ms;
    self.set(where(frame), (self.get(where(frame)) ?? 0) + ms);
    categories.set(category(frame), (categories.get(category(frame)) ?? 0) + ms);
  }
  const inclusive = new Map<string, number>();
  const onStack = new Map<string, number>();
  const walk = (id: number): number => {
    const node = byId.get(id) as ProfileNode;
    const key = where(node.callFrame);
    onStack.set(key, (onStack.get(key) ?? 0) + 1);
    let sum = node.callFrame.functionName === '(idle)' ? 0 : (selfOfNode.get(id) ?? 0);
    for (const child of node.children ?? []) sum += walk(child);
    onStack.set(key, (onStack.get(key) ?? 1) - 1);
    if (!onStack.get(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
    return sum;
  };
  walk((profile.nodes[0] as ProfileNode).id);
  return { total, self, inclusive, categories };
}

function report(name: string, profile: CpuProfile): string {
  const { total, self, inclusive, categories } = summarize(profile);
  const pct = (ms: number) => `${((ms / total) * 100).toFixed(1)}%`;
  const cats = [...categories].sort((a, b) => b[1] - a[1]).slice(0, 8);
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 15);
  const ours = [...inclusive]
    .filter(([key]) => key.startsWith('src/'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([key, ms]) => [`\`${key}\``, pct(self.get(key) ?? 0), pct(ms)]);
  return [
    `#### Profile: ${name} (${fmt(total)} ms sampled, idle excluded)`,
    '',
    table(
      ['where', 'self'],
      ['l', 'r'],
      cats.map(([c, ms]) => [c, pct(ms)]),
    ),
    '',
    'Top self time:',
    '',
    table(
      ['file:line function', 'self'],
      ['l', 'r'],
      top.map(([key, ms]) => [`\`${key}\``, pct(ms)]),
    ),
    '',
    "scopegate's functions (self, and inclusive of what they call):",
    '',
    table(['src function', 'self', 'inclusive'], ['l', 'r', 'r'], ours),
  ].join('\n');
}

/** V8's CPU profiler (what `node --cpu-prof` runs), started after set-up and warm-up. */
export async function withProfiler(work: () => Promise<void>): Promise<CpuProfile> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  try {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: INTERVAL_US });
    await post('Profiler.start');
    await work();
    const { profile } = (await post('Profiler.stop')) as { profile: CpuProfile };
    return profile;
  } finally {
    session.disconnect();
  }
}

async function forSeconds(seconds: number, step: () => Promise<unknown>): Promise<void> {
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) await step();
}

async function profileVerify(): Promise<CpuProfile> {
  const { claimsSetup } = await import('./claims.js');
  const { tokens, scopegate } = await claimsSetup('auth0', 2000);
  let i = 0;
  const step = () => scopegate.verify(tokens[i++ % tokens.length] as string);
  await forSeconds(0.5, step);
  return withProfiler(() => forSeconds(SECONDS, step));
}

async function profileFields(): Promise<CpuProfile> {
  const { fieldContenders, query } = await import('./fields.js');
  const { contenders, tokens } = await fieldContenders();
  const scopegate = contenders.find((c) => c.name === 'scopegate @auth');
  if (!scopegate) throw new Error('no scopegate contender');
  const step = () => query(scopegate.yoga, tokens.good);
  await forSeconds(0.5, step);
  return withProfiler(() => forSeconds(SECONDS, step));
}

/** The server process profiles itself between "start" and "stop" (bench/servers.ts). */
async function profileServer(name: string): Promise<{ profile: CpuProfile; requests: number }> {
  const { startServers, load } = await import('./http.js');
  const servers = await startServers(name);
  try {
    const url = servers.urls[name] as string;
    await load(name, url, servers.tokens.good, 1500);
    let requests = 0;
    const file = await servers.profile(async () => {
      requests = await load(name, url, servers.tokens.good, SECONDS * 1000);
    });
    try {
      return { profile: JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, requests };
    } finally {
      rmSync(file, { force: true });
    }
  } finally {
    await servers.stop();
  }
}

/**
 * Shares of the sampled time by category, for servers profiled alike under the same load loop.
 * Shares, not microseconds: the profiler samples wall-clock intervals, so on a shared machine the
 * absolute time of profiles taken one after the other is not comparable; each profile's shares are.
 */
function compare(
  title: string,
  runs: readonly [string, { profile: CpuProfile; requests: number }][],
): string {
  const summaries = runs.map(([name, run]) => [name, summarize(run.profile)] as const);
  const categories = new Set<string>();
  for (const [, summary] of summaries) for (const c of summary.categories.keys()) categories.add(c);
  const share = (summary: ReturnType<typeof summarize>, c: string) =>
    (summary.categories.get(c) ?? 0) / summary.total;
  const rows = [...categories]
    .filter((c) => summaries.some(([, summary]) => share(summary, c) >= 0.005))
    .sort(
      (a, b) =>
        share((summaries[1] as (typeof summaries)[number])[1], b) -
        share((summaries[1] as (typeof summaries)[number])[1], a),
    )
    .map((c) => [c, ...summaries.map(([, summary]) => `${(share(summary, c) * 100).toFixed(1)}%`)]);
  return [
    `#### ${title}: share of the sampled time by where it is spent (idle excluded)`,
    '',
    table(['where', ...summaries.map(([name]) => name)], ['l', ...summaries.map(() => 'r' as const)], rows),
  ].join('\n');
}

export async function profileSection(): Promise<string> {
  const trpc = [
    'tRPC public',
    'tRPC scopegate protectedProcedure + requireScopes',
    'tRPC hand-written jose middleware',
  ] as const;
  const trpcRuns: [string, { profile: CpuProfile; requests: number }][] = [];
  for (const name of trpc) trpcRuns.push([name, await profileServer(name)]);
  const yoga = ['yoga public', 'yoga scopegate @auth', 'yoga + jose in context'] as const;
  const yogaRuns: [string, { profile: CpuProfile; requests: number }][] = [];
  for (const name of yoga) yogaRuns.push([name, await profileServer(name)]);
  return [
    report('verify(), Auth0-shaped RS256 tokens', await profileVerify()),
    report('field-level @auth, 1000 x 5 fields, yoga.fetch', await profileFields()),
    report(
      'tRPC standalone server, protectedProcedure.use(requireScopes())',
      (trpcRuns[1] as [string, { profile: CpuProfile }])[1].profile,
    ),
    compare('tRPC servers', trpcRuns),
    report(
      'yoga server, one @auth(scopes) field',
      (yogaRuns[1] as [string, { profile: CpuProfile }])[1].profile,
    ),
    compare('yoga servers', yogaRuns),
  ].join('\n\n');
}
