/**
 * The machine a benchmark runs on (its packages come from scripts/prerequisites.sh bench): what
 * the machine is (cores, memory, kernel, versions), its load, and waiting for it to be quiet.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';

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
