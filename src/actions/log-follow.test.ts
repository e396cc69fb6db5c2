/**
 * wait.log followed on the host (issue 15): the host blocks in `tail -F` from the cursor until the
 * log changes, then the controller reads the new bytes by offset as a poll does. Run for real with
 * the local transport (`/bin/sh` on this machine). Every order here is made by a barrier: a change
 * is written once the host's follower is seen running, never after a delay.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from './clock.js';
import type { ActionEnv } from './env.js';
import { LogFollower, markCommand, parseMark } from './log-follow.js';
import { runWait } from './waits.js';
import { Redactor } from '../shell/secret.js';
import { LocalTransport } from '../transport/local.js';
import type { Session } from '../transport/transport.js';

const transport = new LocalTransport({ killGraceMs: 300 });
const dir = mkdtempSync(join(tmpdir(), 'cutover-follow-'));
afterAll(async () => {
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh log file (not created when `text` is null) and a session on this machine. */
async function log(text: string | null = 'old line\n') {
  const path = join(dir, `app-${++n}.log`);
  if (text !== null) writeFileSync(path, text);
  const session = await transport.connect({ name: 'ctl', address: 'localhost' });
  const mark = parseMark((await session.exec(markCommand(path).render('exec'))).stdout);
  return { path, session, mark };
}

/** Resolves once the host's follower (`tail -F` of `path`) is running: the barrier for a change. */
async function following(path: string): Promise<void> {
  for (;;) {
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    if (ps.split('\n').some((l) => l.startsWith('tail ') && l.includes(`-F -- ${path}`))) return;
    await new Promise<void>((r) => setImmediate(r));
  }
}

describe('LogFollower.next: the host waits for the log, then the controller reads it', () => {
  it('wakes on a line written after the cursor; lines before it never count', async () => {
    const { path, session, mark } = await log();
    const next = new LogFollower(session, path, mark).next(30, 10_000);
    await following(path);
    appendFileSync(path, 'started READY\n');
    expect(await next).toEqual({ lines: ['started READY'], followed: true, changed: true });
  });

  it('follows a rotation that happens while it waits: the new file from its start', async () => {
    const { path, session, mark } = await log();
    const next = new LogFollower(session, path, mark).next(30, 10_000);
    await following(path);
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'fresh READY\n');
    expect((await next).lines).toEqual(['fresh READY']);
  });

  it('follows a truncation, and a file that did not exist yet', async () => {
    const t = await log('a long first line that will be cut\n');
    const truncated = new LogFollower(t.session, t.path, t.mark);
    const next = truncated.next(30, 10_000);
    await following(t.path);
    writeFileSync(t.path, 'again\n');
    expect((await next).lines).toEqual(['again']);

    const m = await log(null);
    expect(m.mark.inode).toBe('');
    const born = new LogFollower(m.session, m.path, m.mark).next(30, 10_000);
    await following(m.path);
    writeFileSync(m.path, 'born READY\n');
    expect((await born).lines).toEqual(['born READY']);
  });

  it('answers at the cap when nothing changed, and at once when there is more to read', async () => {
    const { path, session, mark } = await log();
    const follower = new LogFollower(session, path, mark);
    expect(await follower.next(1, 10_000)).toEqual({ lines: [], followed: true, changed: false });
    appendFileSync(path, 'one\ntwo\n');
    // Written before the round began: the host sees it at once and does not wait.
    expect(await follower.next(30, 10_000)).toEqual({ lines: ['one', 'two'], followed: true, changed: true });
  });

  it('an abort ends the round at once and leaves no follower behind on the host', async () => {
    const { path, session, mark } = await log();
    const abort = new AbortController();
    const next = new LogFollower(session, path, mark).next(30, 10_000, abort.signal);
    await following(path);
    abort.abort(new Error('operator abort'));
    await expect(next).rejects.toThrow();
    const ps = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    // The session kills the command's process group: wait for the follower to be gone (a barrier).
    while (ps().includes(`-F -- ${path}`)) await new Promise<void>((r) => setImmediate(r));
    expect(await session.exec('echo still usable')).toMatchObject({ code: 0, stdout: 'still usable\n' });
  });

  it('a host without timeout(1) is polled: it answers at once, saying so', async () => {
    const { path, session, mark } = await log();
    const bare: Session = {
      ...session,
      host: session.host,
      exec: (script, opts) =>
        session.exec(script.replace('command -v timeout', 'command -v cutover-no-timeout'), opts),
    };
    appendFileSync(path, 'late\n');
    expect(await new LogFollower(bare, path, mark).next(30, 10_000)).toEqual({
      lines: ['late'],
      followed: false,
      changed: true,
    });
  });
});

describe('runWait on a followed log', () => {
  async function waitFor(pattern: string, failPatterns: string[], write: (path: string) => void) {
    const { path, session, mark } = await log();
    const events: string[] = [];
    const outputs: Record<string, string> = {};
    const env = {
      session,
      clock: systemClock,
      deadline: Date.now() + 60_000,
      signal: new AbortController().signal,
      stepId: 'up/ready@ctl',
      host: 'ctl',
      marks: [mark],
      outputs,
      redactor: new Redactor(),
      emit: (e: { type: string }) => events.push(e.type),
      pollIntervalMs: 250,
    } as unknown as ActionEnv;
    const done = runWait({ kind: 'log', path, pattern, failPatterns, since: 'up/start@ctl' }, 250, env).then(
      () => 'matched',
      (e: Error) => e.message,
    );
    await following(path);
    write(path);
    return { result: await done, outputs };
  }

  it('ends as the line is written, with the matched line as output', async () => {
    const r = await waitFor('READY', [], (p) => appendFileSync(p, 'warming up\nREADY at last\n'));
    expect(r.result).toBe('matched');
    expect(r.outputs.matched).toBe('READY at last');
  });

  it('a failure pattern ends it at once, naming the line', async () => {
    const r = await waitFor('READY', ['FATAL'], (p) => appendFileSync(p, 'FATAL: no disk\n'));
    expect(r.result).toMatch(/failure pattern \/FATAL\/ matched: FATAL: no disk/);
  });
});
