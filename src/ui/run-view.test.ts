import { describe, expect, it } from 'vitest';
import type { JournalEvent, JournalEventBody } from '../journal/events.js';
import { sampleRun } from '../testing/sample-run.js';
import { runView } from './run-view.js';
import { hostSummaries, summaryTable } from './summary.js';

describe('runView', () => {
  it('folds a finished run into hosts, bars, undos and per-host counts', async () => {
    const { events } = await sampleRun();
    const view = runView(events);
    expect(view.outcome).toBe('failed');
    expect(view.open).toBe(false);
    const [a, b] = view.hosts;
    expect(a).toMatchObject({ name: 'a', status: 'succeeded', done: 6, failed: 0, undone: 0, total: 6 });
    expect(a).toMatchObject({ versionBefore: '1.0', versionAfter: '2.0' });
    // b: install failed twice, so install and stop were undone; the read-only steps stay done.
    expect(b).toMatchObject({ name: 'b', status: 'failed', done: 2, failed: 1, undone: 2, total: 6 });
    expect(b?.versionBefore).toBe('1.0');
    expect(b?.versionAfter).toBeUndefined();
    expect(view.bars.filter((x) => x.host === 'b').map((x) => `${x.short}:${x.outcome}`)).toEqual([
      'up/version-before:succeeded',
      'up/stop:succeeded',
      'up/wait-gone:succeeded',
      'up/install:retried',
      'up/install:failed',
    ]);
    expect(view.undos.map((u) => `${u.host} ${u.short} ${u.outcome}`)).toEqual([
      'b up/install succeeded',
      'b up/stop succeeded',
    ]);
    const wait = view.bars.find((x) => x.id === 'up/wait-gone@a');
    expect(wait?.waitStart).toBeGreaterThanOrEqual(wait?.start ?? Number.NaN);
    expect(wait?.end).toBeGreaterThan(wait?.waitStart ?? Number.NaN);
    expect(view.bars.find((x) => x.id === 'up/check@a')?.gate).toEqual({
      approved: true,
      by: 'dashboard (127.0.0.1)',
    });
    expect(view.phases).toEqual([
      { id: 'up', start: view.startedAt, end: view.finishedAt, outcome: 'failed' },
    ]);
    expect(view.details.get('up/install@b')?.errors).toHaveLength(2);
    expect(view.details.get('up/stop@a')?.output).toBe('stopping app\n');
    expect(b?.log.at(-1)).toBe('↶ undone up/stop');
  });

  it('shows where a host is mid-run: the step, its wait, a pending gate with its journal seq', async () => {
    const { events } = await sampleRun();
    const waiting = events.findIndex((e) => e.type === 'step.waiting' && e.host === 'a');
    const mid = runView(events.slice(0, waiting + 1));
    expect(mid.open).toBe(true);
    expect(mid.hosts[0]?.status).toBe('running');
    expect(mid.hosts[0]?.current).toMatchObject({
      short: 'up/wait-gone',
      kind: 'wait.file',
      waiting: { what: '/run/app.pid to be gone' },
    });
    expect(mid.hosts[1]?.status).toBe('pending');

    const pending = events.find((e) => e.type === 'gate.pending');
    const atGate = runView(events.slice(0, pending?.seq));
    expect(atGate.pendingGates).toEqual([
      { step: 'up/check@a', host: 'a', message: 'Check the app on 10.9.0.1', seq: pending?.seq },
    ]);
    expect(atGate.hosts[0]?.current?.gate).toBe('Check the app on 10.9.0.1');
  });

  it('reopens the run on a resume, as the journal replay does, and closes it on the next finish', async () => {
    const { events } = await sampleRun();
    const last = events.at(-1) as JournalEvent;
    const more = (body: JournalEventBody, i: number) =>
      ({
        ...body,
        seq: last.seq + i,
        at: new Date(Date.parse(last.at) + i * 1000).toISOString(),
        run: last.run,
      }) as JournalEvent;
    const aborted = [...events, more({ type: 'abort.requested', by: 'ops' }, 1)];
    expect(runView(aborted).abort).toEqual({ by: 'ops', at: Date.parse(last.at) + 1000 });
    const resumed = [...aborted, more({ type: 'run.resumed', planHash: 'h', operator: 'ops' }, 2)];
    const view = runView(resumed);
    expect(view).toMatchObject({ open: true, outcome: undefined, finishedAt: undefined, error: undefined });
    expect(view.abort).toBeUndefined();
    expect(view.state).toMatchObject({ outcome: undefined, finishedAt: undefined, abortRequested: false });
    const finished = runView([...resumed, more({ type: 'run.finished', outcome: 'succeeded' }, 3)]);
    expect(finished).toMatchObject({
      open: false,
      outcome: 'succeeded',
      finishedAt: Date.parse(last.at) + 3000,
    });
    expect(finished.state.outcome).toBe('succeeded');
  });

  it('summarises hosts for the end-of-run table, with versions when the runbook captures them', async () => {
    const { events } = await sampleRun();
    const view = runView(events);
    expect(hostSummaries(view).map((r) => [r.host, r.outcome, r.duration])).toEqual([
      ['a', 'succeeded', '1.7s'],
      ['b', 'failed', '1.7s'],
    ]);
    expect(summaryTable(view, { color: false })).toEqual([
      'run r1 failed in 3.4s',
      'host  outcome    duration  done  failed  undone  version before → after',
      'a     succeeded  1.7s      6/6   0       0       1.0 → 2.0',
      'b     failed     1.7s      2/6   1       2       1.0 → —',
    ]);
  });
});
