/**
 * A throwaway lab host for the simulator tests: a mount + UTS + PID namespace whose /etc, /var,
 * /home, /usr/share, /root and /opt are overlays with `root/` as upper dir (the lab's layout),
 * private /tmp and /run, lab/sim at /opt/lab/sim read-only, the lab's systemctl stand-in
 * (lab/bin) first on PATH, and the host name set. No sshd: tests run commands with `exec` (nsenter).
 * Everything in it dies with it. Needs root (the lab does too).
 * Example: `const host = await Sandbox.start('web'); await host.exec('ps -ef'); await host.stop();`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SIM_DIR = path.dirname(new URL(import.meta.url).pathname);
const BIN_DIR = path.join(path.dirname(SIM_DIR), 'bin');
const PATH = '/opt/lab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PRIVATE_TREES = ['etc', 'var', 'home', 'usr/share', 'root', 'opt'];

/** Result of one command in the sandbox. Example: `{ code: 0, stdout: 'ok\n', stderr: '' }`. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Sandbox {
  private constructor(
    /** Upper dirs, laid out like `/` (what `Scenario.populate` writes into; readable from outside). */
    readonly root: string,
    private readonly dir: string,
    private readonly unshare: ChildProcess,
    /** PID of the namespace's init, in the controller's PID namespace. */
    readonly initPid: number,
    /** The PID namespace's identity, e.g. `pid:[4026532301]`. */
    private readonly pidNamespace: string,
  ) {}

  /** Makes an empty host root to populate before `start`. Example: Sandbox.prepare() -> '/tmp/lab-sim-x/root'. */
  static prepare(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'lab-sim-'));
    return path.join(dir, 'root');
  }

  /** Boots the namespace over a root made by `prepare` (and populated). Example: await Sandbox.start('web', root). */
  static async start(hostname: string, root = Sandbox.prepare()): Promise<Sandbox> {
    const dir = path.dirname(root);
    const mounts = PRIVATE_TREES.map((tree) => {
      const upper = path.join(root, tree);
      const work = path.join(dir, 'work', tree);
      return `mkdir -p '${upper}' '${work}' && mount -t overlay overlay -o 'lowerdir=/${tree},upperdir=${upper},workdir=${work}' /${tree}`;
    });
    const setup = [
      'set -e',
      ...mounts,
      'mount -t tmpfs tmpfs /tmp',
      'mount -t tmpfs tmpfs /run',
      'mkdir -p /opt/lab/sim',
      `mount --bind '${SIM_DIR}' /opt/lab/sim`,
      'mount -o remount,bind,ro /opt/lab/sim',
      'mkdir -p /opt/lab/bin',
      `mount --bind '${BIN_DIR}' /opt/lab/bin`,
      `hostname '${hostname}'`,
      'echo ready',
      // PID 1 must reap orphans (daemons whose starter exited), or they linger as zombies.
      `exec perl -e '$0 = "lab-init"; while (1) { sleep 1 if wait() == -1 }'`,
    ].join('\n');
    const unshare = spawn(
      'unshare',
      [
        '--mount',
        '--uts',
        '--pid',
        '--fork',
        '--mount-proc',
        '--propagation',
        'private',
        '--kill-child',
        'sh',
        '-c',
        setup,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    unshare.stderr?.on('data', (d) => {
      stderr += d;
    });
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      unshare.stdout?.on('data', (d) => {
        if (String(d).includes('ready')) {
          ready = true;
          resolve();
        }
      });
      unshare.on('exit', (code) => {
        if (ready) return;
        rmSync(dir, { recursive: true, force: true });
        reject(new Error(`sandbox ${hostname} did not start (exit ${code}): ${stderr}`));
      });
    });
    const pid = Number(
      readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim().split(/\s+/)[0],
    );
    return new Sandbox(root, dir, unshare, pid, readlinkSync(`/proc/${pid}/ns/pid`));
  }

  /**
   * Runs a POSIX sh script inside the host as root (cwd /root). Background processes it starts
   * must redirect their output, or this waits for them. Example: await host.exec('hostname').
   */
  exec(script: string, env: Record<string, string> = {}, timeoutMs = 15_000): Promise<ExecResult> {
    const child = spawn(
      'nsenter',
      ['--target', String(this.initPid), '--mount', '--uts', '--pid', '--wd=/root', '--', 'sh', '-c', script],
      { env: { PATH, HOME: '/root', ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `sandbox command timed out after ${timeoutMs} ms: ${script}\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Like exec, but throws unless the script exits 0. Example: await host.run('test -f /etc/hostname'). */
  async run(script: string, env: Record<string, string> = {}): Promise<string> {
    const r = await this.exec(script, env);
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${script}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** Reads a file of the host (from the upper dir, so only files the host or populate wrote). Example: host.read('var/log/x.log'). */
  read(relative: string): string {
    try {
      return readFileSync(path.join(this.root, relative), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills everything in the host and removes its files. */
  async stop(): Promise<void> {
    if (this.unshare.exitCode === null) {
      const exited = new Promise((resolve) => this.unshare.once('exit', resolve));
      this.unshare.kill('SIGKILL');
      await exited;
    }
    // The namespace's init got SIGKILL from --kill-child; the kernel then kills the rest. Wait
    // until no live process is left in the namespace, so its mounts are gone before the rm.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && processesIn(this.pidNamespace) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Live processes in a PID namespace (zombies are dead: whoever reaps them, they hold nothing). */
function processesIn(namespace: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== namespace) continue;
      if (!/\) Z /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

/**
 * Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`
 * and the last value seen). Example: await until(() => host.read(log).includes('loaded'), 'platform loaded').
 */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}
