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
import { hostProcesses, readHostRun } from './hosts.js';
import { allPids, cmdlineOf, isAlive, type ProcessRef, procStat } from './procs.js';
import type { LabHostSpec, Scenario } from './scenario.js';
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
  const options = () => [
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${controlDir}/%h`,
    '-o',
    'ControlPersist=60',
  ];
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
    /** Ends the shared connections and waits until their master processes are gone. */
    async close(): Promise<void> {
      await Promise.all(
        [...opened].map((host) =>
          execFileAsync('ssh', ['-F', layout.sshConfig, ...options(), '-O', 'exit', host]).catch(
            () => undefined,
          ),
        ),
      );
      opened.clear();
      const masters = () =>
        allPids().filter((pid) => procStat(pid)?.state !== 'Z' && cmdlineOf(pid).includes(controlDir));
      await eventually(
        () => (masters().length === 0 ? true : undefined),
        10_000,
        'ssh connection masters to exit',
      );
    },
  };
}

/** What a lab left behind after `lab down`. Example: `{ processes: [], mounts: [], listening: [] }` when clean. */
export interface Leftovers {
  processes: string[];
  mounts: string[];
  listening: string[];
}

/**
 * Every process of the lab's running hosts (taken while they run, since namespace ids are reused
 * once freed), to pass to `leftovers` after `lab down`. Example: const before = await labProcesses(dir, ['web']).
 */
export async function labProcesses(labDir: string, hosts: readonly string[]): Promise<ProcessRef[]> {
  const layout = labLayout(labDir);
  const runs = await Promise.all(hosts.map((h) => readHostRun(layout, h)));
  return runs.flatMap((run) => (run ? [run.init, run.unshare, ...hostProcesses(run)] : []));
}

/**
 * Looks everywhere a lab could leave traces: any of `before` (the hosts' processes while up)
 * still alive, live processes whose command line names the lab folder, any process's mount
 * table (and /proc/mounts) naming the folder, and sshd still answering on the hosts' addresses.
 * Example: expect(await leftovers(dir, before, hosts)).toEqual({ processes: [], mounts: [], listening: [] }).
 */
export async function leftovers(
  labDir: string,
  before: readonly ProcessRef[],
  hosts: readonly LabHostSpec[],
): Promise<Leftovers> {
  const dir = labLayout(labDir).dir;
  const processes = new Set<string>();
  for (const ref of before)
    if (isAlive(ref)) processes.add(`${ref.pid} ${cmdlineOf(ref.pid)} (was a host process)`);
  for (const pid of allPids()) {
    if (pid === process.pid || procStat(pid)?.state === 'Z') continue;
    const cmd = cmdlineOf(pid);
    if (cmd.includes(dir)) processes.add(`${pid} ${cmd}`);
  }
  const mounts = new Set<string>();
  const tables = [
    '/proc/mounts',
    ...readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => `/proc/${p}/mountinfo`),
  ];
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
  for (const h of hosts)
    if ((await sshBanner(h.address, 22, 300)) !== undefined) listening.push(`${h.address}:22`);
  return { processes: [...processes], mounts: [...mounts], listening };
}

/** Polls until `fn` returns a value (not undefined) or the deadline passes. Example: await eventually(() => file || undefined, 5000, 'file'). */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
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
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The same scenario on other loopback addresses (last octet kept), so a test can run while a
 * developer's lab (or another test file's) holds the scenario's own addresses. Only the addresses
 * the lab machinery hands out change; the scenario's code is the same.
 * Example: relocate(comindwareScenario, '127.0.40').hosts[0].address -> '127.0.40.10'.
 */
export function relocate(scenario: Scenario, prefix: string): Scenario {
  return {
    ...scenario,
    hosts: scenario.hosts.map((h) => ({ ...h, address: `${prefix}.${h.address.split('.')[3]}` })),
  };
}
