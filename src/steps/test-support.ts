import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '../shell/command.js';
import type { Action, StepContext } from './kind.js';

/**
 * Helpers for the step kinds' tests: a step context, and running a planned command for real
 * with `sh -c` on this machine (stdin as the transport would send it).
 */

/** A context for host `web`. Example: `testContext({ runDir: '/tmp/x/run' })`. */
export function testContext(overrides: Partial<StepContext> = {}): StepContext {
  return {
    host: { name: 'web', address: '10.0.0.10', roles: ['web'], vars: {} },
    runDir: '/var/tmp/cutover/r1',
    controllerDir: '/srv/runbooks',
    stepId: 'upgrade_step_web',
    localSha256: {},
    ...overrides,
  };
}

/** The result of running a command for real. */
export interface RealRun {
  code: number;
  stdout: string;
  stderr: string;
  /** `key=value` stdout lines, as the engine records them. */
  outputs: Record<string, string>;
}

/** The shells planned programs are run under in the behaviour tests: a host's /bin/sh is dash or bash. */
export const SHELLS = ['dash', 'bash'] as const;

/** `sh` (this machine's /bin/sh) or one of SHELLS. */
export type TestShell = 'sh' | (typeof SHELLS)[number];

/** Runs a command with `sh -c` (or `shell -c`) like a host would, bounded by 20 s. Example: `runForReal(sh\`true\`).code === 0`. */
export function runForReal(cmd: Command, env: Record<string, string> = {}, shell: TestShell = 'sh'): RealRun {
  const stdin = cmd.stdinText();
  const res = spawnSync(shell, ['-c', cmd.render('exec')], {
    input: stdin ?? '',
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  if (res.error) throw res.error;
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr, outputs: keyValues(res.stdout) };
}

/** Like `runForReal`, without blocking the event loop (for tests that serve HTTP in-process). */
export function runForRealAsync(cmd: Command, shell: TestShell = 'sh'): Promise<RealRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ['-c', cmd.render('exec')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, outputs: keyValues(stdout) });
    });
    child.stdin.end(cmd.stdinText() ?? '');
  });
}

function keyValues(stdout: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(line.trim());
    if (m) outputs[m[1] as string] = m[2] as string;
  }
  return outputs;
}

/** Runs every exec action in order (under `shell`) and stops at the first failure; returns the merged outputs and the last run. */
export function runActionsForReal(
  actions: readonly Action[],
  shell: TestShell = 'sh',
): {
  ok: boolean;
  outputs: Record<string, string>;
  last?: RealRun;
} {
  const outputs: Record<string, string> = {};
  let last: RealRun | undefined;
  for (const action of actions) {
    if (action.type !== 'exec')
      throw new Error(`runActionsForReal runs exec actions only, got ${action.type}`);
    last = runForReal(action.cmd, {}, shell);
    if (!(action.okCodes ?? [0]).includes(last.code)) return { ok: false, outputs, last };
    if (action.capture && 'keyValues' in action.capture) Object.assign(outputs, last.outputs);
    if (action.capture && 'as' in action.capture) outputs[action.capture.as] = last.stdout.trim();
  }
  return { ok: true, outputs, ...(last ? { last } : {}) };
}

/** A fresh temp folder and its cleanup. Example: `const t = tempDir(); ...; t.remove()`. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'cutover-steps-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The display text of every exec command of a list of actions (other actions by type). */
export function commandsOf(actions: readonly Action[]): string[] {
  return actions.map((a) => (a.type === 'exec' ? String(a.cmd) : a.type));
}
