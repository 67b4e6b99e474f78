/**
 * Shared by the bench sections: interleaved rounds, medians, tables, and the refusal checks every
 * contender passes before it is measured (a contender that accepts a bad token aborts the bench).
 */
import { performance } from 'node:perf_hooks';

/** With --expose-gc (npm run bench sets it) each measurement starts from a collected heap. */
export const collect: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

export function median(numbers: readonly number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export interface Timed {
  readonly name: string;
  /** One unit of work (a request, a verify); awaited when it returns a promise. */
  readonly run: () => unknown;
}

/**
 * Runs every contender `iterations` times per round, `rounds` rounds, in a rotating order (no
 * contender always first or always after the same one), and returns the median microseconds per
 * iteration of each. A round of one contender is also bounded by `maxMs` (wall time).
 *
 * The clock is this process's CPU time (user + system, all its threads: GC helpers included), not
 * wall time: the machine is shared, and CPU time does not count the time other processes hold
 * the cores. Everything measured this way runs in this process.
 */
export async function interleave(
  contenders: readonly Timed[],
  options: {
    readonly rounds: number;
    readonly iterations: number;
    readonly warmup?: number;
    readonly maxMs?: number;
  },
): Promise<Map<string, number>> {
  const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const once = async (contender: Timed, iterations: number): Promise<number> => {
    collect();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    let done = 0;
    while (done < iterations) {
      const result = contender.run();
      if (result instanceof Promise) await result;
      done++;
      if (options.maxMs !== undefined && performance.now() - start > options.maxMs) break;
    }
    const cpu = process.cpuUsage(cpuStart);
    return (cpu.user + cpu.system) / done;
  };
  for (const contender of contenders)
    await once(contender, options.warmup ?? Math.ceil(options.iterations / 4));
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length] as Timed;
      perRound.get(contender.name)?.push(await once(contender, options.iterations));
    }
  }
  return new Map([...perRound].map(([name, values]) => [name, median(values)]));
}

export function table(
  header: readonly string[],
  align: readonly ('l' | 'r')[],
  rows: readonly (readonly string[])[],
): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  return lines.join('\n');
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Fails the bench: a contender that accepts what it must refuse is not measured. */
export function check(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`bench aborted: ${what}`);
  }
}
