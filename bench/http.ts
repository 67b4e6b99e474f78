/**
 * Section "http": requests per second over HTTP, protected / public, servers on 127.0.0.1, each in
 * a child process of its own (bench/servers.ts), driven from this process by a closed load loop on keep-alive
 * sockets, bounded in time per round.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { baselineLabel } from './baseline.js';
import { check, fmt, median, table } from './common.js';

/** Requests in flight (closed loop); `npm run bench -- http --concurrency 1` measures without batching. */
let CONCURRENCY = 8;

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly urls: Record<string, string>;
  readonly tokens: { good: string; underScoped: string; forged: string };
  /**
   * The server process's CPU time so far, in microseconds (user + system, all its threads), read
   * after a full garbage collection.
   */
  cpu(): Promise<number>;
  /** Runs `work` while the server process profiles itself; returns the .cpuprofile's path. */
  profile(work: () => Promise<unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** Starts bench/servers.ts (optionally only one server, under extra node flags such as --cpu-prof). */
export async function startServers(only?: string, nodeFlags: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      'tsx',
      new URL('./servers.ts', import.meta.url).pathname,
      ...(only ? [only] : []),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  const nextLine = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`servers exited (${code})`));
      const timer = setTimeout(() => reject(new Error(`servers: no ${what} in 60 s`)), 60_000);
      lines.once('line', (l) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(l);
      });
      child.once('exit', onExit);
    });
  const { urls, tokens } = JSON.parse(await nextLine('start-up')) as Pick<ServerProcess, 'urls' | 'tokens'>;
  return {
    child,
    urls,
    tokens,
    cpu: async () => {
      child.stdin?.write('cpu\n');
      return Number(await nextLine('cpu time'));
    },
    profile: async (work) => {
      child.stdin?.write('start\n');
      await nextLine('profiler start');
      await work();
      child.stdin?.write('stop\n');
      return nextLine('profile');
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
        child.kill('SIGTERM');
      }),
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One request: the GraphQL `{ secret }` query (yoga) or the `secret` query procedure (tRPC). */
function send(name: string, url: string, token: string | null): Promise<{ status: number; body: string }> {
  const isYoga = name.startsWith('yoga');
  const body = isYoga ? JSON.stringify({ query: '{ secret }' }) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${isYoga ? '/graphql' : '/secret'}`,
      {
        agent,
        method: isYoga ? 'POST' : 'GET',
        headers: {
          ...(isYoga && { 'content-type': 'application/json' }),
          ...(token !== null && { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function served(name: string, response: { status: number; body: string }): boolean {
  if (response.status !== 200) return false;
  const json = JSON.parse(response.body) as {
    data?: { secret?: string | null } | null;
    errors?: unknown[];
    result?: { data?: unknown };
  };
  return name.startsWith('yoga') ? json.data?.secret === 'ok' && !json.errors : json.result?.data === 'ok';
}

/** Every protected server refuses a missing, a forged and an under-scoped token. */
export async function checkHttpContenders(servers: ServerProcess): Promise<void> {
  for (const [name, url] of Object.entries(servers.urls)) {
    check(served(name, await send(name, url, servers.tokens.good)), `${name} serves a good token`);
    if (name.endsWith('public')) continue;
    for (const [what, token] of [
      ['missing', null],
      ['forged', servers.tokens.forged],
      ['under-scoped', servers.tokens.underScoped],
    ] as const) {
      const response = await send(name, url, token);
      check(
        !served(name, response),
        `${name} refuses a ${what} token (got ${response.status} ${response.body})`,
      );
      check(!response.body.includes('"ok"'), `${name} leaks the value to a ${what} token`);
    }
  }
}

/** Closed loop: CONCURRENCY requests in flight for `ms`; returns how many were served. */
export async function load(name: string, url: string, token: string, ms: number): Promise<number> {
  const start = performance.now();
  let done = 0;
  const worker = async () => {
    while (performance.now() - start < ms) {
      const response = await send(name, url, token);
      if (response.status !== 200) throw new Error(`${name}: status ${response.status} under load`);
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return done;
}

interface Round {
  /** Requests per wall-clock second (what a client sees; moves with the machine's load). */
  readonly wall: number;
  /** Requests per second of the server process's CPU time (what the server pays per request). */
  readonly cpu: number;
}

async function round(servers: ServerProcess, name: string, ms: number): Promise<Round> {
  const cpuBefore = await servers.cpu();
  const start = performance.now();
  const done = await load(name, servers.urls[name] as string, servers.tokens.good, ms);
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = ((await servers.cpu()) - cpuBefore) / 1e6;
  return { wall: done / seconds, cpu: done / cpuSeconds };
}

/** The servers of bench/servers.ts, each measured in a process of its own. */
export const SERVER_NAMES = [
  'yoga public',
  'yoga scopegate @auth',
  'yoga @graphql-yoga/plugin-jwt',
  'yoga + jose in context',
  'tRPC public',
  'tRPC scopegate protectedProcedure + requireScopes',
  'tRPC hand-written jose middleware',
] as const;

export async function httpSection(options: {
  rounds: number;
  ms: number;
  concurrency?: number;
}): Promise<string> {
  CONCURRENCY = options.concurrency ?? CONCURRENCY;
  agent.maxSockets = CONCURRENCY;
  // One process per server: servers sharing a process share the JIT's type feedback for yoga's
  // and tRPC's code, and one server's garbage; each alone is what an application runs.
  const processes = new Map<string, ServerProcess>();
  try {
    const label = baselineLabel();
    const names = label
      ? SERVER_NAMES.flatMap((name) => (name.includes('scopegate') ? [name, `${name} ${label}`] : [name]))
      : [...SERVER_NAMES];
    for (const name of names) processes.set(name, await startServers(name));
    for (const server of processes.values()) await checkHttpContenders(server);
    const roundOf = (name: string, ms: number) => round(processes.get(name) as ServerProcess, name, ms);
    const perRound = new Map<string, Round[]>(names.map((n) => [n, []]));
    // Warm-up: yoga's and tRPC's paths take a few thousand requests to be optimized.
    for (const name of names) await roundOf(name, 1200);
    for (let r = 0; r < options.rounds; r++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length] as string;
        perRound.get(name)?.push(await roundOf(name, options.ms));
      }
    }
    const of = (name: string, key: keyof Round) => median((perRound.get(name) ?? []).map((x) => x[key]));
    const rows = names.map((name) => {
      const base = name.startsWith('yoga') ? 'yoga public' : 'tRPC public';
      const ratio = (key: keyof Round) =>
        name === base ? '1.00' : (of(name, key) / of(base, key)).toFixed(2);
      return [name, fmt(of(name, 'cpu')), ratio('cpu'), fmt(of(name, 'wall')), ratio('wall')];
    });
    return [
      `HTTP on 127.0.0.1 (each server in a child process of its own, ${CONCURRENCY} keep-alive connections from this one), median of ${options.rounds} interleaved rounds of ${options.ms} ms, Node ${process.version}`,
      '',
      table(
        [
          'server',
          'req per server CPU-s',
          'protected / public (CPU)',
          'req/s (wall)',
          'protected / public (wall)',
        ],
        ['l', 'r', 'r', 'r', 'r'],
        rows,
      ),
    ].join('\n');
  } finally {
    agent.destroy();
    await Promise.all([...processes.values()].map((p) => p.stop()));
  }
}
