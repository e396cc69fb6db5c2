import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../journal/events.js';
import { sampleRun } from '../testing/sample-run.js';
import { fitWidth, LiveProgress, visibleWidth } from './tty.js';

/** A terminal that records what was written. */
function terminal(columns = 120, rows = 40) {
  const out = {
    text: '',
    columns,
    rows,
    write: (t: string) => {
      out.text += t;
      return true;
    },
  };
  return out;
}

/** The screen as a terminal would show it after the writes (enough of VT100 for this renderer). */
function screen(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  for (let i = 0; i < text.length; ) {
    const m = /^\x1b\[(\??)(\d*)([A-Za-z])/.exec(text.slice(i));
    if (m) {
      if (m[3] === 'A') row = Math.max(0, row - Number(m[2] || 1));
      if (m[3] === 'J') {
        lines.splice(row + 1);
        lines[row] = '';
      }
      i += m[0].length;
      continue;
    }
    const ch = text[i] as string;
    if (ch === '\n') {
      row += 1;
      lines[row] ??= '';
    } else if (ch === '\r') lines[row] = '';
    else lines[row] = (lines[row] ?? '') + ch;
    i += 1;
  }
  while (lines.length && lines.at(-1) === '') lines.pop();
  return lines;
}

function feed(
  live: LiveProgress,
  events: JournalEvent[],
  until: (e: JournalEvent) => boolean,
): JournalEvent[] {
  const i = events.findIndex(until);
  for (const e of events.slice(0, i + 1)) live.onEvent(e);
  return events.slice(i + 1);
}

describe('LiveProgress (terminal)', () => {
  it('keeps one live line per host: its step, elapsed time, and what it waits for', async () => {
    const { events } = await sampleRun();
    const term = terminal();
    let now = Date.parse(events[0]?.at ?? '');
    const live = new LiveProgress(term, { color: false, tickMs: 0, now: () => now });
    feed(live, events, (e) => e.type === 'step.waiting' && e.host === 'a');
    const started = events.find((e) => e.type === 'step.started' && e.step === 'up/wait-gone@a');
    now = Date.parse(started?.at ?? '') + 700;
    const lines = live.lines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^run r1 .* · phase up · 1 running, 0\/2 hosts done$/);
    expect(lines[1]).toMatch(
      /^\S a +2\/6 {2}up\/wait-gone \[wait\.file\] 700ms {2}waiting for \/run\/app\.pid to be gone$/,
    );
    expect(lines[2]).toBe('· b      0/6  waiting for its turn');
    live.close();
  });

  it('shows a gate on the host line, collapses done steps, and closes with the summary table', async () => {
    const { events } = await sampleRun();
    const term = terminal();
    const gate = events.find((e) => e.type === 'gate.pending');
    const live = new LiveProgress(term, {
      color: false,
      tickMs: 0,
      now: () => Date.parse(gate?.at ?? '') + 300_000,
    });
    const rest = feed(live, events, (e) => e === gate);
    expect(live.lines()[1]).toMatch(
      /^\? a +5\/6 {2}up\/check \[gate\.confirm\] 5m00s {2}approve: Check the app on 10\.9\.0\.1$/,
    );
    for (const e of rest) live.onEvent(e);
    live.close();
    const shown = screen(term.text);
    // Lasting lines: phases, failures, undos, gates; no line per succeeded step.
    expect(shown.filter((l) => l.includes('✓ up/'))).toEqual([]);
    expect(shown).toContain('03:00:01 a              ? gate up/check: Check the app on 10.9.0.1');
    expect(shown).toContain(
      '03:00:03 b              ✗ up/install: command `install-app 2.0` exited 2: install-app: disk full',
    );
    expect(shown).toContain('03:00:03 b              ↶ undoing up/stop');
    expect(shown.slice(-4)).toEqual([
      'run r1 failed in 3.4s',
      'host  outcome    duration  done  failed  undone  version before → after',
      'a     succeeded  1.7s      6/6   0       0       1.0 → 2.0',
      'b     failed     1.7s      2/6   1       2       1.0 → —',
    ]);
    // The live area is gone at the end, and the cursor is back.
    expect(shown.some((l) => l.startsWith('run r1 ') && l.includes('running'))).toBe(false);
    expect(term.text.endsWith('\x1b[?25h')).toBe(true);
  });

  it('redraws in place: the screen never holds two live areas', async () => {
    const { events } = await sampleRun();
    const term = terminal();
    const live = new LiveProgress(term, { color: true, tickMs: 0 });
    feed(live, events, (e) => e.type === 'step.started' && e.host === 'b');
    await new Promise((r) => setTimeout(r, 60)); // the coalesced redraw
    const shown = screen(term.text);
    expect(shown.filter((l) => l.includes('run r1') && l.includes('hosts done'))).toHaveLength(1);
    expect(shown.filter((l) => /^\S a +\d+\/\d+ {2}/.test(l.replace(/\x1b\[[0-9;]*m/g, '')))).toHaveLength(1);
    expect(shown.filter((l) => /^\S b +\d+\/\d+ {2}/.test(l.replace(/\x1b\[[0-9;]*m/g, '')))).toHaveLength(1);
    live.close();
  });

  it('pauses for a prompt and prints what happened meanwhile when it resumes', async () => {
    const { events } = await sampleRun();
    const term = terminal();
    const live = new LiveProgress(term, { color: false, tickMs: 0 });
    const rest = feed(live, events, (e) => e.type === 'gate.pending');
    const resume = live.pause();
    const before = term.text.length;
    feed(live, rest, (e) => e.type === 'gate.decided');
    expect(term.text.slice(before)).toBe('');
    resume();
    expect(term.text.slice(before)).toContain('gate up/check approved by dashboard (127.0.0.1)');
    live.close();
  });

  it('starts a resumed run from its journal without printing the old events', async () => {
    const { events } = await sampleRun();
    const term = terminal();
    const live = new LiveProgress(term, { color: false, tickMs: 0 });
    const cut = events.findIndex((e) => e.type === 'host.started' && e.host === 'b');
    live.history(events.slice(0, cut));
    expect(term.text).not.toContain('run r1 started');
    for (const e of events.slice(cut, cut + 2)) live.onEvent(e);
    const lines = live.lines();
    expect(lines[1]).toMatch(/^✓ a +6\/6 {2}done in /);
    expect(lines[2]).toMatch(/^\S b +0\/6 {2}up\/version-before \[shell\.run\]/);
    live.close();
  });

  it('shows, while waiting, what for and the last line the host wrote that did not match', async () => {
    const { events } = await sampleRun();
    const term = terminal(160);
    const live = new LiveProgress(term, { color: false, tickMs: 0 });
    const i = events.findIndex((e) => e.type === 'step.waiting');
    for (const e of events.slice(0, i + 1)) live.onEvent(e);
    const waiting = events[i] as JournalEvent & { type: 'step.waiting' };
    live.onEvent({
      ...waiting,
      seq: 998,
      what: '/Skipping rebalancing \\(nothing scheduled\\)/',
      lastLine: 'WARN Still waiting for initial partition map exchange',
    });
    // The first waiting event named the whole condition; later ones bring the last line seen.
    expect(live.lines()[1]).toMatch(
      /waiting for \/run\/app\.pid to be gone · last: WARN Still waiting for initial partition map exchange$/,
    );
    // A later poll with nothing new keeps the last line seen.
    live.onEvent({ ...waiting, seq: 999, what: '/Skipping rebalancing \\(nothing scheduled\\)/' });
    expect(live.lines()[1]).toContain('· last: WARN Still waiting for initial partition map exchange');
    live.close();
  });

  it('cleans control codes a host printed and never wraps a line', async () => {
    const { events } = await sampleRun();
    const term = terminal(60);
    const live = new LiveProgress(term, { color: false, tickMs: 0 });
    const i = events.findIndex((e) => e.type === 'step.waiting');
    for (const e of events.slice(0, i + 1)) live.onEvent(e);
    live.onEvent({
      ...(events[i] as JournalEvent & { type: 'step.waiting' }),
      seq: 999,
      what: '/ready/',
      lastLine: '\x1b[2J\x1b]0;pwned\x07booting 日本語 very long line that goes on and on and on',
    });
    const lines = live.lines();
    for (const l of lines) {
      expect(l).not.toMatch(/[\x00-\x1f]/);
      expect(visibleWidth(l)).toBeLessThanOrEqual(59);
    }
    expect(lines[1]).toMatch(/…$/);
    live.close();
  });
});

describe('fitWidth', () => {
  it('cuts to terminal cells, counting wide characters twice and colour codes not at all', () => {
    expect(fitWidth('abcdef', 10)).toBe('abcdef');
    expect(fitWidth('abcdef', 4)).toBe('abc…');
    expect(fitWidth('日本語です', 6)).toBe('日本…');
    expect(fitWidth('\x1b[32m✓\x1b[0m done in 3s', 8)).toBe('\x1b[32m✓\x1b[0m done …\x1b[0m');
    expect(visibleWidth('日本')).toBe(4);
  });
});
