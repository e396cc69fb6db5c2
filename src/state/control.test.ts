import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../journal/events.js';
import { ControlWatcher, controlFile, raceGate, readControl, sendControl } from './control.js';

function tempFile(): string {
  return controlFile(mkdtempSync(join(tmpdir(), 'cutover-control-')), 'r1');
}

/** A journal event as the run's printer would see it. */
function ev(seq: number, body: Record<string, unknown>): JournalEvent {
  return { ...body, seq, at: '2026-11-22T03:00:00.000Z', run: 'r1' } as JournalEvent;
}

const GATE = { step: 'up/check@web', host: 'web', message: 'Check web' };

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000; // a bound for a stuck test, not an expected duration
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('control file', () => {
  it('appends requests as JSON lines and reads only complete ones', () => {
    const file = tempFile();
    sendControl(file, { type: 'abort', by: 'alice' });
    appendFileSync(file, '{"type":"gate","gateSeq":3,"step":"a","ho'); // a writer mid-append
    const first = readControl(file, 0);
    expect(first.requests).toEqual([{ type: 'abort', by: 'alice', at: expect.any(String) }]);
    appendFileSync(
      file,
      'st":"web","approved":true,"by":"bob","at":"x"}\nnot json\n{"type":"other","by":"x","at":"y"}\n',
    );
    const second = readControl(file, first.offset);
    expect(second.requests).toEqual([
      { type: 'gate', gateSeq: 3, step: 'a', host: 'web', approved: true, by: 'bob', at: 'x' },
    ]);
    expect(readControl(file, second.offset).requests).toEqual([]);
  });

  it('a watcher ignores requests written before it started and aborts on new ones', () => {
    const file = tempFile();
    sendControl(file, { type: 'abort', by: 'an earlier process' });
    const watcher = new ControlWatcher(file).start();
    const aborts: string[] = [];
    watcher.onAbort((by) => aborts.push(by));
    watcher.poll();
    expect(aborts).toEqual([]);
    sendControl(file, { type: 'abort', by: 'dashboard (127.0.0.1)' });
    watcher.poll();
    watcher.stop();
    expect(aborts).toEqual(['dashboard (127.0.0.1)']);
  });

  it('a gate decision applies only to the gate.pending it names (seq), once', async () => {
    const file = tempFile();
    const watcher = new ControlWatcher(file).start();
    watcher.observe(ev(7, { type: 'gate.pending', ...GATE }));
    const decision = watcher.waitForGate(GATE.step, GATE.host);
    // A stale approval (an earlier gate on the same step) and one for another host do nothing.
    sendControl(file, {
      type: 'gate',
      gateSeq: 4,
      step: GATE.step,
      host: 'web',
      approved: true,
      by: 'old page',
    });
    sendControl(file, {
      type: 'gate',
      gateSeq: 7,
      step: GATE.step,
      host: 'db',
      approved: true,
      by: 'wrong host',
    });
    sendControl(file, {
      type: 'gate',
      gateSeq: 7,
      step: GATE.step,
      host: 'web',
      approved: false,
      by: 'carol',
    });
    sendControl(file, {
      type: 'gate',
      gateSeq: 7,
      step: GATE.step,
      host: 'web',
      approved: true,
      by: 'too late',
    });
    watcher.poll();
    await expect(decision).resolves.toEqual({ approved: false, by: 'carol' });
    watcher.stop();
  });

  it('polls the file by itself, from before the file exists', async () => {
    const file = tempFile();
    const watcher = new ControlWatcher(file, { intervalMs: 10 }).start();
    watcher.observe(ev(2, { type: 'gate.pending', ...GATE }));
    let decided: unknown;
    void watcher.waitForGate(GATE.step, GATE.host).then((d) => {
      decided = d;
    });
    sendControl(file, { type: 'gate', gateSeq: 2, step: GATE.step, host: 'web', approved: true, by: 'dave' });
    await until('the watcher to read the approval', () => decided !== undefined);
    watcher.stop();
    expect(decided).toEqual({ approved: true, by: 'dave' });
  });
});

describe('raceGate', () => {
  function setup() {
    const file = tempFile();
    const watcher = new ControlWatcher(file).start();
    watcher.observe(ev(5, { type: 'gate.pending', ...GATE }));
    const approve = (approved: boolean, by: string) => {
      sendControl(file, { type: 'gate', gateSeq: 5, step: GATE.step, host: GATE.host, approved, by });
      watcher.poll();
    };
    return { watcher, approve };
  }

  it('--approve-gates wins without asking anyone', async () => {
    const { watcher } = setup();
    let asked = false;
    const approver = raceGate(watcher, {
      approveAll: true,
      awaitRemote: true,
      prompt: async () => {
        asked = true;
        return false;
      },
    });
    await expect(approver(GATE)).resolves.toBe(true);
    expect(asked).toBe(false);
    watcher.stop();
  });

  it('with no terminal and no --await-approval it declines at once and says why', async () => {
    const { watcher } = setup();
    const notices: string[] = [];
    const approver = raceGate(watcher, {
      approveAll: false,
      awaitRemote: false,
      notice: (t) => notices.push(t),
    });
    await expect(approver(GATE)).resolves.toBe(false);
    expect(notices.join('')).toContain('--await-approval');
    watcher.stop();
  });

  it('with --await-approval it waits for the dashboard and reports who decided', async () => {
    const { watcher, approve } = setup();
    const approver = raceGate(watcher, { approveAll: false, awaitRemote: true });
    const result = approver(GATE);
    approve(true, 'dashboard (127.0.0.1)');
    await expect(result).resolves.toEqual({ approved: true, by: 'dashboard (127.0.0.1)' });
    watcher.stop();
  });

  it('the dashboard answering first withdraws the terminal prompt', async () => {
    const { watcher, approve } = setup();
    let cancelled = false;
    const approver = raceGate(watcher, {
      approveAll: false,
      awaitRemote: false,
      prompt: (_gate, cancel) =>
        new Promise((resolve) =>
          cancel.addEventListener('abort', () => {
            cancelled = true;
            resolve(undefined);
          }),
        ),
    });
    const result = approver(GATE);
    approve(true, 'dashboard (10.0.0.5)');
    await expect(result).resolves.toEqual({ approved: true, by: 'dashboard (10.0.0.5)' });
    expect(cancelled).toBe(true);
    watcher.stop();
  });

  it('the terminal answering first decides, and a later dashboard request is ignored', async () => {
    const { watcher, approve } = setup();
    const approver = raceGate(watcher, { approveAll: false, awaitRemote: false, prompt: async () => true });
    await expect(approver(GATE)).resolves.toBe(true);
    approve(false, 'too late');
    watcher.stop();
  });

  it('an abort while the gate is open declines it', async () => {
    const { watcher } = setup();
    const abort = new AbortController();
    const approver = raceGate(watcher, { approveAll: false, awaitRemote: true, signal: abort.signal });
    const result = approver(GATE);
    abort.abort();
    await expect(result).resolves.toBe(false);
    watcher.stop();
  });
});
