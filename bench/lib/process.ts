/**
 * Running what a benchmark measures: commands with their output captured, repeated runs under
 * hyperfine, and single runs with their CPU time and peak memory (GNU time for the process
 * tree, a cpuacct cgroup for everything they started, detached ssh masters included).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What a finished command left. Example: `{ code: 0, stdout: 'ok\n', stderr: '', ms: 12.5 }`. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of `run`. Example: `{ env: { ANSIBLE_PIPELINING: 'True' }, cwd: '/tmp/bench', timeoutMs: 60_000 }`. */
export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** Reject unless the exit code is 0 (default true). */
  check?: boolean;
}

/** The last lines of some output, indented, for error messages. Example: tail('a\nb\nc', 2) -> '  | b\n  | c'. */
export function tail(text: string, lines = 12): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `  | ${l}`)
    .join('\n');
}

/**
 * Runs a program (no shell), capturing its output; by default rejects with its output's tail
 * when it fails or outlives `timeoutMs` (default 10 min). Example: `await run('ssh', ['-V'], { check: false })`.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}; is it installed?`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? 128, stdout, stderr, ms: performance.now() - t0 };
      if ((opts.check ?? true) && code !== 0) {
        reject(
          new Error(
            `${[cmd, ...args].join(' ')} ${signal ? `was killed (${signal}; timeout ${opts.timeoutMs ?? 600_000} ms?)` : `exited ${code}`}${opts.cwd ? ` in ${opts.cwd}` : ''}:\n${tail(stderr || stdout)}`,
          ),
        );
      } else resolve(result);
    });
  });
}

/** One command for hyperfine. Example: `{ name: 'floor, sequential', argv: ['bash', 'floor-seq.sh'] }`. */
export interface TimedCommand {
  name: string;
  argv: string[];
  env?: Record<string, string>;
}

/** What hyperfine measured for one command: wall times in ms, one per run. */
export interface HyperfineResult {
  name: string;
  timesMs: number[];
}

/** Reads hyperfine's `--export-json` file. Example: parseHyperfine(json)[0].timesMs -> [812.3, 790.1]. */
export function parseHyperfine(json: string): HyperfineResult[] {
  const doc = JSON.parse(json) as { results?: { command: string; times?: number[] }[] };
  return (doc.results ?? []).map((r) => {
    if (!r.times || r.times.length === 0)
      throw new Error(`hyperfine reported no run times for "${r.command}"`);
    return { name: r.command, timesMs: r.times.map((s) => s * 1000) };
  });
}

/** A word for hyperfine's own command-line splitting (it splits like a POSIX shell). Example: hyperfineWord('a b') -> "'a b'". */
export function hyperfineWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Runs each command `runs` times (after `warmup` unmeasured runs) under hyperfine without a
 * shell; `prepare` runs before every run of every command. A failing run fails the benchmark,
 * and the command is run once more to show why. Example:
 * `await hyperfine([{ name: 'floor', argv: ['bash', 'floor.sh'] }], { runs: 5, warmup: 1, workDir })`.
 */
export async function hyperfine(
  commands: readonly TimedCommand[],
  opts: { runs: number; warmup: number; workDir: string; prepare?: string[]; cwd?: string },
): Promise<HyperfineResult[]> {
  const out = join(opts.workDir, `hyperfine-${process.pid}-${Date.now()}.json`);
  const args = ['-N', '--style', 'none', '--runs', String(opts.runs), '--warmup', String(opts.warmup)];
  args.push('--export-json', out);
  if (opts.prepare) args.push('--prepare', opts.prepare.map(hyperfineWord).join(' '));
  for (const c of commands) {
    const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const argv = env.length > 0 ? ['env', ...env, ...c.argv] : c.argv;
    args.push('-n', c.name, argv.map(hyperfineWord).join(' '));
  }
  const r = await run('hyperfine', args, { cwd: opts.cwd, check: false, timeoutMs: 30 * 60_000 });
  if (r.code !== 0) {
    // hyperfine hides the command's output; run each once more so the error says why.
    for (const c of commands) {
      if (opts.prepare) await run(opts.prepare[0] as string, opts.prepare.slice(1), { check: false });
      const again = await run(c.argv[0] as string, c.argv.slice(1), {
        env: c.env,
        cwd: opts.cwd,
        check: false,
      });
      if (again.code !== 0) {
        throw new Error(
          `benchmark command "${c.name}" failed (exit ${again.code}): ${c.argv.join(' ')}\n${tail(again.stderr || again.stdout)}`,
        );
      }
    }
    throw new Error(
      `hyperfine failed (exit ${r.code}) although each command succeeds alone:\n${tail(r.stderr || r.stdout)}`,
    );
  }
  const results = parseHyperfine(readFileSync(out, 'utf8'));
  rmSync(out, { force: true });
  return results;
}

/** One measured run: wall time, CPU and peak memory. Example: `{ wallMs: 812, cpuMs: 640, treeCpuMs: 540, maxRssKiB: 61234 }`. */
export interface ResourceUse {
  wallMs: number;
  /** CPU time (user + system) of everything the command started, detached daemons too (cpuacct cgroup); undefined without cgroup v1 cpuacct. */
  cpuMs?: number;
  /** CPU time of the command and the children it waited for (GNU time). */
  treeCpuMs: number;
  /** The largest resident set of one process of the tree (GNU time %M). */
  maxRssKiB: number;
}

/** Parses GNU time's `-f '%e %U %S %M'` line. Example: parseGnuTime('0.81 0.42 0.12 61234') -> { wallMs: 810, treeCpuMs: 540, maxRssKiB: 61234 }. */
export function parseGnuTime(text: string): Omit<ResourceUse, 'cpuMs'> {
  const line = text.trim().split('\n').at(-1) ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(line);
  if (!m) throw new Error(`cannot read GNU time's output "${line}": expected "wall user sys maxrss"`);
  return {
    wallMs: Math.round(Number(m[1]) * 1000),
    treeCpuMs: Math.round((Number(m[2]) + Number(m[3])) * 1000),
    maxRssKiB: Number(m[4]),
  };
}

const CPUACCT = '/sys/fs/cgroup/cpuacct';
let cgroupCount = 0;

/**
 * Runs a command once and measures its resources: GNU time for the process tree, and when
 * cgroup v1 cpuacct is writable, the CPU of everything it started (processes left in the cgroup
 * afterwards, such as Ansible's ControlPersist masters, are ended by pid). Example:
 * `await measure(['node', 'bin/cutover.js', 'apply', ...], { workDir })`.
 */
export async function measure(
  argv: readonly string[],
  opts: { workDir: string; env?: Record<string, string>; cwd?: string },
): Promise<ResourceUse> {
  const timeFile = join(opts.workDir, `time-${process.pid}-${cgroupCount}.txt`);
  const timed = ['/usr/bin/time', '-f', '%e %U %S %M', '-o', timeFile, '--', ...argv];
  const cgroup = makeCgroup();
  const wrapped = cgroup
    ? ['sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cgroup, ...timed]
    : timed;
  try {
    const r = await run(wrapped[0] as string, wrapped.slice(1), {
      env: opts.env,
      cwd: opts.cwd,
      check: false,
    });
    if (r.code !== 0)
      throw new Error(
        `measured command failed (exit ${r.code}): ${argv.join(' ')}\n${tail(r.stderr || r.stdout)}`,
      );
    const use: ResourceUse = parseGnuTime(readFileSync(timeFile, 'utf8'));
    if (cgroup) use.cpuMs = Math.round(Number(readFileSync(join(cgroup, 'cpuacct.usage'), 'utf8')) / 1e6);
    return use;
  } finally {
    rmSync(timeFile, { force: true });
    if (cgroup) await removeCgroup(cgroup);
  }
}

function makeCgroup(): string | undefined {
  if (!existsSync(join(CPUACCT, 'cgroup.procs'))) return undefined;
  const dir = join(CPUACCT, `cutover-bench-${process.pid}-${cgroupCount++}`);
  try {
    mkdirSync(dir);
    return dir;
  } catch {
    return undefined;
  }
}

/** Ends what is left in a cgroup (only processes the measured command started), then removes it. */
async function removeCgroup(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let signal: NodeJS.Signals = 'SIGTERM'; ; ) {
    const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `processes ${pids.join(', ')} in ${dir} did not end after SIGKILL; look at them with ps -p`,
      );
    }
    if (Date.now() > deadline - 5_000) signal = 'SIGKILL';
    await new Promise((r) => setTimeout(r, 100));
  }
  rmdirSync(dir);
}
