/**
 * wait.log followed on the host (issue 15): the host streams the log from the cursor (`tail -F`
 * through the long-lived sh) and the controller matches lines as they arrive. Run for real with
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
import { type Command, sh } from '../shell/command.js';
import { TemplatedWord } from '../shell/word.js';
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

/** Runs one segment, collecting its lines; `until` decides the wait (the segment is then killed). */
async function segment(
  follower: LogFollower,
  capSec: number,
  until: (line: string) => boolean = () => false,
  signal?: AbortSignal,
) {
  const lines: string[] = [];
  const end = await follower.segment(
    capSec,
    10_000,
    (more) => {
      lines.push(...more);
      return more.some(until);
    },
    signal,
  );
  return { lines, ...end };
}

/** A session whose scripts are rewritten on the way (a host without a tool, another date). */
function rewriting(session: Session, edit: (script: string) => string, seen?: string[]): Session {
  return {
    ...session,
    host: session.host,
    exec: (script, opts) => {
      seen?.push(script);
      return session.exec(edit(script), opts);
    },
  };
}

describe('LogFollower.segment: the host streams the log from the cursor', () => {
  it('hands over a line written after the cursor while the segment runs; lines before it never count', async () => {
    const { path, session, mark } = await log('READY but old\n');
    const run = segment(new LogFollower(session, path, mark), 30, (l) => l.includes('READY'));
    await following(path);
    appendFileSync(path, 'warming up\nstarted READY\n');
    expect(await run).toEqual({
      lines: ['warming up', 'started READY'],
      followed: true,
      changed: true,
      decided: true,
    });
    // The segment is killed in the background; the session runs the next command after it.
    expect(await session.exec('echo next')).toMatchObject({ stdout: 'next\n' });
  });

  it('resumes from the journaled cursor: lines written after the mark but before the wait count at once', async () => {
    const { path, session, mark } = await log('before the mark\n');
    appendFileSync(path, 'after the mark READY\n');
    expect(await segment(new LogFollower(session, path, mark), 30, (l) => l.includes('READY'))).toMatchObject(
      {
        lines: ['after the mark READY'],
        decided: true,
      },
    );
  });

  it('follows a rotation inside a segment: the new file from its start, and the next segment misses nothing', async () => {
    const { path, session, mark } = await log();
    const follower = new LogFollower(session, path, mark);
    const first = segment(follower, 1);
    await following(path);
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'fresh one\n');
    const end = await first;
    expect(end).toMatchObject({ followed: true, changed: true, decided: false });
    expect(end.lines.filter((l) => l !== 'fresh one')).toEqual([]);
    appendFileSync(path, 'fresh two\n');
    // tail said the file was replaced, so the count is unsure: the next segment reads the file under
    // the name from its start (a line seen twice is harmless, a skipped one is not).
    const next = await segment(follower, 30, (l) => l === 'fresh two');
    expect(next.lines.at(-1)).toBe('fresh two');
    expect(next.lines.filter((l) => l !== 'fresh one' && l !== 'fresh two')).toEqual([]);
  });

  it('follows a truncation inside a segment, and a file that did not exist yet', async () => {
    const t = await log('a long first line that will be cut\n');
    const cut = segment(new LogFollower(t.session, t.path, t.mark), 30, (l) => l === 'again');
    await following(t.path);
    writeFileSync(t.path, 'again\n');
    expect((await cut).lines).toEqual(['again']);

    const m = await log(null);
    expect(m.mark.inode).toBe('');
    const born = segment(new LogFollower(m.session, m.path, m.mark), 30, (l) => l.includes('READY'));
    await following(m.path);
    writeFileSync(m.path, 'born READY\n');
    expect((await born).lines).toEqual(['born READY']);
  });

  it('between segments: a truncation, then a new date in the name (the old file finished first)', async () => {
    const today = join(dir, `today-${++n}`);
    writeFileSync(today, '20261122');
    const base = join(dir, `dated-${n}`);
    const path = new TemplatedWord([`${base}-`, { hostDate: '%Y%m%d' }, '.log']);
    writeFileSync(`${base}-20261122.log`, 'old\n');
    const real = await transport.connect({ name: 'ctl', address: 'localhost' });
    const session = rewriting(real, (s) => s.replaceAll('$(date +%Y%m%d)', `$(cat ${today})`));
    const mark = parseMark((await session.exec(markCommand(path).render('exec'))).stdout);
    expect(mark.file).toBe(`${base}-20261122.log`);
    const follower = new LogFollower(session, path, mark);
    writeFileSync(`${base}-20261122.log`, 'x\n');
    expect(await segment(follower, 30)).toMatchObject({ lines: ['x'], followed: true, changed: true });
    appendFileSync(`${base}-20261122.log`, 'last of the day\n');
    writeFileSync(today, '20261123');
    writeFileSync(`${base}-20261123.log`, 'first of the next\n');
    expect((await segment(follower, 30)).lines).toEqual(['last of the day', 'first of the next']);
  });

  it('ends at its cap when nothing was written', async () => {
    const { path, session, mark } = await log();
    expect(await segment(new LogFollower(session, path, mark), 1)).toEqual({
      lines: [],
      followed: true,
      changed: false,
      decided: false,
    });
  });

  it('an abort ends the segment at once and leaves no follower behind on the host', async () => {
    const { path, session, mark } = await log();
    const abort = new AbortController();
    const run = segment(new LogFollower(session, path, mark), 30, undefined, abort.signal);
    await following(path);
    abort.abort(new Error('operator abort'));
    await expect(run).rejects.toThrow();
    const ps = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    // The session kills the command's process group (tail included: timeout --foreground).
    while (ps().includes(`-F -- ${path}`)) await new Promise<void>((r) => setImmediate(r));
    expect(await session.exec('echo still usable')).toMatchObject({ code: 0, stdout: 'still usable\n' });
  });

  it('a host without timeout(1) is polled: what is new is read by offset, and it says so', async () => {
    const { path, session, mark } = await log();
    const bare = rewriting(session, (s) => s.replace('command -v timeout', 'command -v cutover-no-timeout'));
    appendFileSync(path, 'late\n');
    expect(await segment(new LogFollower(bare, path, mark), 30)).toEqual({
      lines: ['late'],
      followed: false,
      changed: true,
      decided: false,
    });
  });

  it('a tail that cannot follow by name: what is new is read by offset, and the host is polled', async () => {
    const { path, session, mark } = await log();
    const oldTail = rewriting(session, (s) => s.replace('-F --', '--cutover-no-such-option --'));
    appendFileSync(path, 'late\n');
    expect(await segment(new LogFollower(oldTail, path, mark), 30)).toMatchObject({
      lines: ['late'],
      followed: false,
    });
  });
});

describe('runWait on a followed log', () => {
  async function waitFor(
    pattern: string,
    failPatterns: string[],
    write: (path: string) => void,
    opts: { guard?: Command; deadlineMs?: number } = {},
  ) {
    const { path, session: real, mark } = await log();
    const scripts: string[] = [];
    const session = rewriting(real, (s) => s, scripts);
    const events: string[] = [];
    const outputs: Record<string, string> = {};
    const env = {
      session,
      clock: systemClock,
      deadline: Date.now() + (opts.deadlineMs ?? 60_000),
      signal: new AbortController().signal,
      stepId: 'up/ready@ctl',
      host: 'ctl',
      marks: [mark],
      outputs,
      redactor: new Redactor(),
      emit: (e: { type: string }) => events.push(e.type),
      pollIntervalMs: 250,
    } as unknown as ActionEnv;
    const guard = opts.guard ? { guard: { cmd: opts.guard, description: 'watching the test' } } : {};
    const done = runWait(
      { kind: 'log', path, pattern, failPatterns, since: 'up/start@ctl', ...guard },
      250,
      env,
    ).then(
      () => 'matched',
      (e: Error) => e.message,
    );
    await following(path);
    write(path);
    return { result: await done, outputs, scripts };
  }

  it('ends as the line arrives in the stream: one command on the host, no read after it', async () => {
    const r = await waitFor('READY', [], (p) => appendFileSync(p, 'warming up\nREADY at last\n'));
    expect(r.result).toBe('matched');
    expect(r.outputs.matched).toBe('READY at last');
    expect(r.scripts).toHaveLength(1);
    expect(r.scripts[0]).toContain('tail -s 0.01 -c +10 -F --');
  });

  it('a failure pattern ends it at once, naming the line', async () => {
    const r = await waitFor('READY', ['FATAL'], (p) => appendFileSync(p, 'FATAL: no disk\n'));
    expect(r.result).toMatch(/failure pattern \/FATAL\/ matched: FATAL: no disk/);
  });

  it('a watch that fails between segments ends the wait, with its reason', async () => {
    const alive = join(dir, `alive-${++n}`);
    writeFileSync(alive, '');
    const guard = sh`test -e ${alive} || { echo 'the app is gone' >&2; exit 1; }`;
    const r = await waitFor('READY', [], () => rmSync(alive), { guard });
    expect(r.result).toMatch(/the app is gone: the wait ended at once/);
  });

  it('on timeout it shows the last lines seen', async () => {
    const r = await waitFor('READY', [], (p) => appendFileSync(p, 'still starting\n'), { deadlineMs: 1500 });
    expect(r.result).toMatch(/timed out waiting for \/READY\/.*\n {2}\| still starting/s);
  });
});
