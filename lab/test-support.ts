/**
 * Helpers for the lab's own tests: a lab folder per test file, ssh with a shared connection so
 * each command costs milliseconds, and the leftover check `lab down` must pass.
 * Example: `const lab = await testLab('hosts'); await lab.ssh('node1', 'hostname')`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { labLayout } from './layout.js';
import { allPids, cmdlineOf, pidsInNamespaces, procStat } from './procs.js';
import type { LabHostSpec } from './scenario.js';
import { labSsh, type SshResult, sshBanner } from './ssh.js';

const execFileAsync = promisify(execFile);

/** A fresh lab folder under /tmp. Example: tempLabDir('hosts') -> '/tmp/cutover-lab-hosts-Ab12Cd'. */
export function tempLabDir(name: string): string {
  return mkdtempSync(path.join('/tmp', `cutover-lab-${name}-`));
}

/**
 * Runs commands on lab hosts over one ssh ControlMaster connection per host (opened on first
 * use); `close()` ends them. Example: `const s = sshPool(labDir); await s.run('node1', 'hostname')`.
 */
export function sshPool(labDir: string) {
  const layout = labLayout(labDir);
  const controlDir = path.join(layout.dir, 'test-mux');
  const opened = new Set<string>();
  const options = () => ['-o', 'ControlMaster=auto', '-o', `ControlPath=${controlDir}/%h`, '-o', 'ControlPersist=60'];
  return {
    /** Runs a command; never throws for a non-zero exit. */
    async run(host: string, command: string, timeoutMs = 30_000): Promise<SshResult> {
      await fs.mkdir(controlDir, { recursive: true });
      opened.add(host);
      return labSsh(layout.sshConfig, host, command, { timeoutMs, extraOptions: options() });
    },
    /** Runs a command and returns its stdout, throwing with stderr on a non-zero exit. */
    async out(host: string, command: string, timeoutMs = 30_000): Promise<string> {
      const r = await this.run(host, command, timeoutMs);
      if (r.code !== 0) throw new Error(`${host}: \`${command}\` exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    async close(): Promise<void> {
      await Promise.all(
        [...opened].map((host) =>
          execFileAsync('ssh', ['-F', layout.sshConfig, ...options(), '-O', 'exit', host]).catch(() => undefined),
        ),
      );
      opened.clear();
    },
  };
}

/** What a lab left behind after `lab down`. Example: `{ processes: [], mounts: [] }` when clean. */
export interface Leftovers {
  processes: string[];
  mounts: string[];
  listening: string[];
}

/**
 * Looks everywhere a lab could leave traces: live processes whose command line names the lab
 * folder or that sit in the hosts' recorded namespaces, any process's mount table (and
 * /proc/mounts) naming the folder, and sshd still answering on the hosts' addresses.
 * Example: expect(await leftovers(dir, namespaces, hosts)).toEqual({ processes: [], mounts: [], listening: [] }).
 */
export async function leftovers(labDir: string, namespaces: readonly string[], hosts: readonly LabHostSpec[]): Promise<Leftovers> {
  const dir = labLayout(labDir).dir;
  const processes = new Set<string>();
  for (const pid of allPids()) {
    if (pid === process.pid || procStat(pid)?.state === 'Z') continue;
    const cmd = cmdlineOf(pid);
    if (cmd.includes(dir)) processes.add(`${pid} ${cmd}`);
  }
  for (const pid of pidsInNamespaces(namespaces)) processes.add(`${pid} ${cmdlineOf(pid)} (in a host namespace)`);
  const mounts = new Set<string>();
  const tables = ['/proc/mounts', ...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => `/proc/${p}/mountinfo`)];
  for (const table of tables) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) if (line.includes(dir)) mounts.add(`${table}: ${line}`);
  }
  const listening: string[] = [];
  for (const h of hosts) if ((await sshBanner(h.address, 22, 300)) !== undefined) listening.push(`${h.address}:22`);
  return { processes: [...processes], mounts: [...mounts], listening };
}

/** Polls until `fn` returns a value (not undefined) or the deadline passes. Example: await eventually(() => file || undefined, 5000, 'file'). */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until no sshd answers on these addresses (another test's lab on fixed addresses may still be up). */
export async function waitForAddressesFree(addresses: readonly string[], timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const busy = await Promise.all(addresses.map(async (a) => (await sshBanner(a, 22, 200)) !== undefined));
      return busy.some(Boolean) ? undefined : true;
    },
    timeoutMs,
    `${addresses.join(', ')} to be free`,
  );
}
