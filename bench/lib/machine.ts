/**
 * The machine a benchmark runs on: the Debian packages it needs (installed when missing), what
 * the machine is (cores, memory, kernel, versions), its load, and waiting for it to be quiet.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';

/** A Debian package and the program that shows it is installed. Example: `{ pkg: 'hyperfine', binary: '/usr/bin/hyperfine' }`. */
export interface DebianTool {
  pkg: string;
  binary: string;
}

/** What the benchmarks run besides the lab's own packages (lab/setup.sh installs those). */
export const BENCH_TOOLS: readonly DebianTool[] = [
  { pkg: 'ansible-core', binary: '/usr/bin/ansible-playbook' },
  { pkg: 'hyperfine', binary: '/usr/bin/hyperfine' },
  { pkg: 'time', binary: '/usr/bin/time' },
];

/**
 * The tools whose program is missing. Example: missingTools(BENCH_TOOLS, () => false) -> all three.
 */
export function missingTools(tools: readonly DebianTool[], exists = existsSync): DebianTool[] {
  return tools.filter((t) => !exists(t.binary));
}

/**
 * Installs the missing tools with apt-get (update first, as Debian wants); says what it does.
 * Example: ensureDebianTools(BENCH_TOOLS, console.log) -> ['hyperfine'] when only hyperfine was missing.
 */
export function ensureDebianTools(tools: readonly DebianTool[], log: (line: string) => void): string[] {
  const missing = missingTools(tools);
  if (missing.length === 0) return [];
  const pkgs = missing.map((t) => t.pkg);
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the benchmarks need ${pkgs.join(', ')}, which are not installed: run as root, or install them with apt-get install -y ${pkgs.join(' ')}`,
    );
  }
  log(`installing ${pkgs.join(', ')} from Debian (apt-get update, then apt-get install)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...pkgs],
  ]) {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n')}\nInstall ${pkgs.join(', ')} by hand and run the benchmarks again.`,
      );
    }
  }
  const still = missingTools(missing);
  if (still.length > 0) {
    throw new Error(
      `apt-get installed ${pkgs.join(', ')} but ${still.map((t) => t.binary).join(', ')} is still missing; check the packages`,
    );
  }
  return pkgs;
}

/** First line of a command's output (stdout, else stderr), or 'not installed'. Example: versionOf('ssh', ['-V']) -> 'OpenSSH_9.2p1 ...'. */
export function versionOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'not installed';
  return (r.stdout.trim() || r.stderr.trim()).split('\n')[0]?.trim() ?? 'unknown';
}

/** The machine and tool versions, for the README. Example: machineInfo().cores -> 2. */
export interface MachineInfo {
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  tmpFilesystem: string;
  node: string;
  openssh: string;
  ansible: string;
  python: string;
  hyperfine: string;
}

/** Reads what this machine is. Example: machineInfo().openssh -> 'OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026'. */
export function machineInfo(): MachineInfo {
  const fs = (() => {
    try {
      return (
        execFileSync('df', ['--output=fstype', '/tmp'], { encoding: 'utf8' }).split('\n')[1]?.trim() ?? '?'
      );
    } catch {
      return '?';
    }
  })();
  return {
    cores: os.cpus().length,
    cpu: (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `Linux ${os.release()}`,
    tmpFilesystem: fs,
    node: process.version,
    openssh: versionOf('ssh', ['-V']),
    ansible: versionOf('ansible-playbook', ['--version']).replace(/^ansible-playbook /, 'ansible-core '),
    python: versionOf('/usr/bin/python3', ['--version']),
    hyperfine: versionOf('hyperfine', ['--version']),
  };
}

/** The 1/5/15-minute load averages, as `uptime` shows them. Example: loadAverage() -> [0.42, 0.8, 1.1]. */
export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/** How a wait for a quiet machine ended. Example: `{ quiet: true, waitedMs: 95_000, load: [0.9, 1.4, 1.6] }`. */
export interface QuietResult {
  quiet: boolean;
  waitedMs: number;
  load: number[];
}

/**
 * Polls the load average until the 1-minute figure is below `threshold`, at most `maxWaitMs`;
 * never fails: the result says whether the machine got quiet. Example:
 * `await waitForQuiet({ threshold: 1, maxWaitMs: 600_000, pollMs: 15_000, log })`.
 */
export async function waitForQuiet(opts: {
  threshold: number;
  maxWaitMs: number;
  pollMs: number;
  log: (line: string) => void;
  read?: () => number[];
  sleep?: (ms: number) => Promise<void>;
}): Promise<QuietResult> {
  const read = opts.read ?? loadAverage;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let waited = 0;
  for (;;) {
    const load = read();
    if ((load[0] ?? 0) < opts.threshold) return { quiet: true, waitedMs: waited, load };
    if (waited >= opts.maxWaitMs) return { quiet: false, waitedMs: waited, load };
    if (waited === 0) {
      opts.log(
        `load average ${load.join(' ')}: waiting up to ${Math.round(opts.maxWaitMs / 60_000)} min for the 1-minute load to drop below ${opts.threshold}`,
      );
    }
    const step = Math.min(opts.pollMs, opts.maxWaitMs - waited);
    await sleep(step);
    waited += step;
  }
}
