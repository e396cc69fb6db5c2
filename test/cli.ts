import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JournalEvent } from '../src/journal/events.js';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'cutover.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `cutover` CLI (dist, built by the global setup). Example: `await cutover(['validate', '-r', f])`. */
export function cutover(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  return runNode(BIN, args, opts);
}

/** Runs a Node script of the repository (e.g. dist/demo.js) with no terminal, NO_COLOR set, output captured. */
export function runNode(
  file: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [file, ...args], {
      cwd: opts.cwd ?? resolve(import.meta.dirname, '..'),
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

/** The events of a run, read from its journal file. */
export function journalEvents(stateDir: string, run: string): JournalEvent[] {
  return readFileSync(join(stateDir, 'runs', run, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEvent);
}

/**
 * The events journaled so far by the newest run in a state folder, read while it runs (a line still
 * being written is left out). Tests use it as a barrier: wait for an event, then release a fault.
 * Example: await eventually(() => liveEvents(stateDir).find((e) => e.type === 'step.failed'), 60_000, 'the failure').
 */
export function liveEvents(stateDir: string): JournalEvent[] {
  const runs = existsSync(join(stateDir, 'runs')) ? readdirSync(join(stateDir, 'runs')).sort() : [];
  const newest = runs.at(-1);
  if (!newest || !existsSync(join(stateDir, 'runs', newest, 'events.jsonl'))) return [];
  const lines = readFileSync(join(stateDir, 'runs', newest, 'events.jsonl'), 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or a line still being written
  return lines.filter(Boolean).map((l) => JSON.parse(l) as JournalEvent);
}

/** The run id printed by apply (`run <id> started`). */
export function runIdFrom(output: string): string {
  const m = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(output);
  if (!m) throw new Error(`no run id in output:\n${output}`);
  return m[1] as string;
}
