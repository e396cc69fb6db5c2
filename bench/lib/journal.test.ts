import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEvent, JournalEventBody } from '../../src/journal/events.js';
import {
  ansibleLogWaitSamples,
  engineSpan,
  logWaitSamples,
  readRuns,
  splitTime,
  waitsOnApplication,
} from './journal.js';

const T0 = Date.parse('2026-11-22T06:00:00.000Z');

/** Events of one run at the given ms offsets from T0. */
function run(entries: [number, JournalEventBody][]): JournalEvent[] {
  return entries.map(
    ([ms, body], i) =>
      ({ ...body, seq: i + 1, at: new Date(T0 + ms).toISOString(), run: 'r1' }) as JournalEvent,
  );
}

const started = (steps: [string, string][]): JournalEventBody => ({
  type: 'run.started',
  planHash: 'h',
  runbook: 'rb.yml',
  inventory: 'inv.ini',
  cluster: 'c',
  params: {},
  operator: 'root',
  controller: 'vm',
  hosts: ['a', 'b'],
  steps: steps.map(([id, kind]) => ({ id, kind, host: id.split('@')[1] as string, phase: 'p', name: id })),
});
const stepStart = (step: string): JournalEventBody => ({
  type: 'step.started',
  step,
  host: step.split('@')[1] as string,
  attempt: 1,
  kind: '',
  name: step,
});
const stepOk = (step: string, outputs: Record<string, string> = {}): JournalEventBody => ({
  type: 'step.succeeded',
  step,
  host: step.split('@')[1] as string,
  outputs,
  durationMs: 0,
});

describe("reading timings from cutover's journal", () => {
  it('reads the engine time and outcome of a run', () => {
    const events = run([
      [0, started([])],
      [612, { type: 'run.finished', outcome: 'succeeded' }],
    ]);
    expect(engineSpan(events)).toEqual({ ms: 612, outcome: 'succeeded' });
    expect(() => engineSpan(events.slice(0, 1))).toThrow(/did not finish/);
  });

  it('splits wall time into application waits, other steps and no step, overlaps counted once', () => {
    // a: command 0-100, wait.log 100-400; b (parallel): command 50-250; nothing 400-500.
    const events = run([
      [
        0,
        started([
          ['p/cmd@a', 'shell.run'],
          ['p/wait@a', 'wait.log'],
          ['p/cmd@b', 'file.upload'],
        ]),
      ],
      [0, stepStart('p/cmd@a')],
      [50, stepStart('p/cmd@b')],
      [100, stepOk('p/cmd@a')],
      [100, stepStart('p/wait@a')],
      [250, stepOk('p/cmd@b')],
      [400, stepOk('p/wait@a')],
      [500, { type: 'run.finished', outcome: 'succeeded' }],
    ]);
    expect(splitTime(events)).toEqual({ wallMs: 500, appMs: 300, commandMs: 100, idleMs: 100 });
  });

  it('counts waits, services and processes as time the application needs', () => {
    expect(['wait.log', 'wait.http', 'service.stop', 'process.start'].every(waitsOnApplication)).toBe(true);
    expect(['shell.run', 'file.upload', 'backup.copy', ''].some(waitsOnApplication)).toBe(false);
  });

  it('measures a log wait from the written timestamp to the step success', () => {
    const writtenNs = BigInt(T0 + 300) * 1_000_000n + 250_000n; // 300.25 ms after T0
    const events = run([
      [0, started([])],
      [10, stepStart('log-wait/wait-1@a')],
      [420, stepOk('log-wait/wait-1@a', { matched: `bench-1 READY ${writtenNs}` })],
      [430, stepStart('log-wait/wait-2@a')],
      [440, stepOk('log-wait/wait-2@a', { matched: `bench-2 READY ${BigInt(T0 + 435) * 1_000_000n}` })],
    ]);
    const [first, second] = logWaitSamples(events);
    expect(first?.id).toBe(1);
    expect(first?.latencyMs).toBeCloseTo(119.75, 5);
    expect(first?.waitedFirst).toBe(true);
    expect(second).toMatchObject({ id: 2, latencyMs: 5, waitedFirst: true });
    const late = run([
      [0, started([])],
      [500, stepStart('log-wait/wait-1@a')],
      [520, stepOk('log-wait/wait-1@a', { matched: `bench-1 READY ${writtenNs}` })],
    ]);
    expect(logWaitSamples(late)[0]?.waitedFirst).toBe(false);
  });

  it('refuses a wait whose matched line is not a writer line', () => {
    const events = run([[0, stepOk('log-wait/wait-1@a', { matched: 'something else' })]]);
    expect(() => logWaitSamples(events)).toThrow(/expected the matched line/);
  });

  it("measures Ansible's wait_for from its match group to the callback's time", () => {
    const written = String(BigInt(T0 + 1000) * 1_000_000n);
    const samples = ansibleLogWaitSamples([
      { event: 'start', task: 'trigger-1', host: 'a', t: T0 / 1000 },
      { event: 'start', task: 'wait-1', host: 'a', t: (T0 + 400) / 1000 },
      { event: 'ok', task: 'wait-1', host: 'a', t: (T0 + 1612) / 1000, groups: [written] },
    ]);
    expect(samples).toHaveLength(1);
    expect(samples[0]?.latencyMs).toBeCloseTo(612, 3);
    expect(samples[0]?.waitedFirst).toBe(true);
    expect(() =>
      ansibleLogWaitSamples([{ event: 'ok', task: 'wait-2', host: 'a', t: 1, groups: [] }]),
    ).toThrow(/match group/);
  });

  it('reads every run of a state folder, oldest first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-journal-'));
    try {
      // Same second: the random suffix sorts b before a, the event times say a came first.
      for (const [id, ms] of [
        ['20261122-060000-bbbb', 500],
        ['20261122-060000-aaaa', 900],
        ['20261122-055959-cccc', 0],
      ] as const) {
        mkdirSync(join(dir, 'runs', id), { recursive: true });
        const event = { type: 'run.started', run: id, at: new Date(T0 + ms).toISOString() };
        writeFileSync(join(dir, 'runs', id, 'events.jsonl'), `${JSON.stringify(event)}\n`);
      }
      expect(readRuns(dir).map((r) => r.run)).toEqual([
        '20261122-055959-cccc',
        '20261122-060000-bbbb',
        '20261122-060000-aaaa',
      ]);
      expect(readRuns(join(dir, 'none'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
