/**
 * Fault knobs: files in a host's /etc/lab/faults/<knob> (content: an optional value) that the
 * simulators read when they start (and for `ignore-term` when the signal arrives). On the
 * controller the folder is `<labDir>/hosts/<host>/faults`, bind-mounted into the host, so a knob
 * set here is seen by the host at once, whether it is up or not.
 * Example: `await setFault('.lab/comindware', 'backup', 'slow-start', '7')`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../src/errors.js';
import { readHostRun, readLabState } from './hosts.js';
import { labLayout } from './layout.js';

/** The knobs, what they do, and whether they take a value. Example: FAULT_KNOBS['slow-start'].value -> 'seconds'. */
export const FAULT_KNOBS = {
  'fail-start': { summary: 'the application exits 1 during startup', value: undefined },
  'no-rebalance': { summary: 'comindware never prints the "Skipping rebalancing" line', value: undefined },
  'crash-after-start': {
    summary: 'the application dies a few seconds after reporting started',
    value: undefined,
  },
  'slow-start': { summary: 'startup takes VALUE extra seconds (default 5)', value: 'seconds' },
  'ignore-term': { summary: 'the application ignores SIGTERM (only SIGKILL stops it)', value: undefined },
  'hold-start': {
    summary:
      'startup waits until the knob is cleared (a barrier: a test holds a node in flight, then releases it)',
    value: undefined,
  },
} as const satisfies Record<string, { summary: string; value: 'seconds' | undefined }>;

/** A knob name. Example: 'fail-start'. */
export type FaultKnob = keyof typeof FAULT_KNOBS;

/** True for a known knob name. Example: isFaultKnob('slow-start') -> true. */
export function isFaultKnob(name: string): name is FaultKnob {
  return Object.hasOwn(FAULT_KNOBS, name);
}

function knobList(): string {
  return Object.entries(FAULT_KNOBS)
    .map(([name, k]) => `  ${name}${k.value ? ' [SECONDS]' : ''}: ${k.summary}`)
    .join('\n');
}

/** Checks a knob and its value; returns the file content. Example: faultContent('slow-start', '7') -> '7\n'. */
export function faultContent(knob: string, value?: string): string {
  if (!isFaultKnob(knob)) throw new UsageError(`unknown fault knob "${knob}"`, `Known knobs:\n${knobList()}`);
  const spec = FAULT_KNOBS[knob];
  if (value === undefined || value === '') return '';
  if (spec.value === undefined) {
    throw new UsageError(
      `fault knob ${knob} takes no value (got "${value}")`,
      `Run it without a value: cutover lab fault HOST ${knob}`,
    );
  }
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) {
    throw new UsageError(
      `fault knob ${knob}: "${value}" is not a number of seconds`,
      `Example: cutover lab fault HOST ${knob} 7`,
    );
  }
  return `${value}\n`;
}

async function faultDir(labDir: string, host: string): Promise<string> {
  const layout = labLayout(labDir);
  const state = await readLabState(layout);
  if (!state)
    throw new UsageError(
      `${layout.dir} holds no lab (no lab.json)`,
      'Start one with `cutover lab up --scenario NAME`.',
    );
  if (!state.hosts.some((h) => h.name === host)) {
    throw new UsageError(
      `lab ${state.scenario} has no host "${host}"`,
      `Its hosts: ${state.hosts.map((h) => h.name).join(', ')}.`,
    );
  }
  return layout.host(host).faults;
}

/**
 * Turns a knob on for one host (replacing its value). Returns the controller-side file.
 * Example: await setFault('.lab/comindware', 'web', 'fail-start') -> '.../hosts/web/faults/fail-start'.
 */
export async function setFault(labDir: string, host: string, knob: string, value?: string): Promise<string> {
  const content = faultContent(knob, value);
  const dir = await faultDir(labDir, host);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, knob);
  await fs.writeFile(`${file}.tmp`, content);
  await fs.rename(`${file}.tmp`, file);
  return file;
}

/** Turns a knob off for one host; true when it was on. Example: await clearFault('.lab/comindware', 'web', 'fail-start'). */
export async function clearFault(labDir: string, host: string, knob: string): Promise<boolean> {
  faultContent(knob);
  const file = path.join(await faultDir(labDir, host), knob);
  try {
    await fs.rm(file);
    return true;
  } catch {
    return false;
  }
}

/** The knobs that are on for a host, with their values ('' = no value). Example: await listFaults(dir, 'web') -> { 'slow-start': '7' }. */
export async function listFaults(labDir: string, host: string): Promise<Record<string, string>> {
  const dir = await faultDir(labDir, host);
  const out: Record<string, string> = {};
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).sort()) {
    if (name.endsWith('.tmp') || name.endsWith('.held')) continue;
    out[name] = (await fs.readFile(path.join(dir, name), 'utf8').catch(() => '')).trim();
  }
  return out;
}

/**
 * The pid of a process that started under `hold-start` and is waiting for the knob to be cleared,
 * or undefined. Example: await eventually(() => heldProcess(dir, 'ecsc-1'), 60_000, 'ecsc-1 held').
 */
export async function heldProcess(labDir: string, host: string): Promise<number | undefined> {
  const marker = path.join(await faultDir(labDir, host), 'hold-start.held');
  const pid = Number((await fs.readFile(marker, 'utf8').catch(() => '')).trim());
  return pid > 0 ? pid : undefined;
}

/**
 * Takes a host off the network as far as cutover can tell: kills its sshd and every SSH session
 * (`down`), or starts its sshd again (`up`), inside the host's namespaces. The host's services keep
 * running meanwhile, as on a real host whose sshd died. Example: await hostSshd(dir, 'web', 'down').
 */
export async function hostSshd(labDir: string, host: string, state: 'down' | 'up'): Promise<void> {
  await faultDir(labDir, host);
  const run = await readHostRun(labLayout(labDir), host);
  if (!run) throw new UsageError(`lab host ${host} is not running`, 'Start it with `cutover lab up`.');
  const script =
    state === 'down'
      ? 'pkill -KILL -x sshd; while pgrep -x sshd >/dev/null; do sleep 0.05; done'
      : '/usr/sbin/sshd -f /etc/ssh/sshd_config </dev/null >/dev/null 2>&1';
  await promisify(execFile)('nsenter', [
    '-t',
    String(run.init.pid),
    '-m',
    '-p',
    '-u',
    '--',
    'sh',
    '-c',
    script,
  ]);
}
