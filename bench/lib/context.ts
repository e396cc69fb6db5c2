/**
 * What every benchmark gets from `npm run bench`: the repo, a work folder for generated files,
 * how many times to repeat, the CLI, the plain lab's hosts and how to log in, and a progress log.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAverage } from './machine.js';
import type { BenchTable } from './report.js';
import type { BenchHost, LabAccess } from './render.js';

/** The shared setup of one `npm run bench`. Example: `ctx.cli` -> ['/usr/bin/node', '/work/main/bin/cutover.js']. */
export interface BenchContext {
  root: string;
  /** Generated files, cutover state folders, hyperfine exports; removed at the end unless --keep. */
  work: string;
  /** Repeated runs of quick commands (slower ones use fewer, said in each table). */
  runs: number;
  /** argv prefix that runs the built CLI. */
  cli: string[];
  /** The plain lab booted for the benchmarks (its first hosts serve items 1 and 3). */
  plain: { labDir: string; access: LabAccess; hosts: BenchHost[] };
  /** Where the seed labs go (--seed-prefixes), when not bench/seeds.ts's SEED_PREFIX. Example: `{ comindware: '127.0.72', ecsc: '127.0.73' }`. */
  seedPrefix?: { comindware: string; ecsc: string };
  log(line: string): void;
  /** `--fanout-tools`: the fan-out rows to run (default all: floor, serial, window, ansible). */
  fanoutTools?: readonly string[];
  /** `--before CLI.js`: another build's CLI, run beside this one where a benchmark supports it (fan-out). */
  beforeCli?: string[];
  /** `--fanout-hosts`: the fleet sizes of the fan-out (default 3, 30, 100). */
  fanoutHosts?: readonly number[];
}

/** A fresh folder under the work folder. Example: benchDir(ctx, 'fanout') -> '/tmp/cutover-bench-x/fanout'. */
export function benchDir(ctx: Pick<BenchContext, 'work'>, name: string): string {
  const dir = join(ctx.work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes a generated file and returns its path. Example: writeIn(dir, 'bench3.ini', text). */
export function writeIn(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The table parts a benchmark fills in; `timed` adds the load average and duration around it. */
export type TableBody = Omit<BenchTable, 'load' | 'tookMs'>;

/**
 * Runs one benchmark, recording the load average before and after and how long it took.
 * Example: `await timed(() => fanout(ctx))`.
 */
export async function timed(body: () => Promise<TableBody>): Promise<BenchTable> {
  const before = loadAverage();
  const t0 = performance.now();
  const table = await body();
  return { ...table, load: { before, after: loadAverage() }, tookMs: performance.now() - t0 };
}

/** A seeded pseudo-random generator (mulberry32), so generated delays are the same on every run. Example: seeded(1)() -> 0.627... */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
