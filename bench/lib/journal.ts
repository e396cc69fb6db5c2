/**
 * Reading cutover's journal for timings: how long a run took inside the engine, where a run's
 * wall time went (waiting on the application, running commands, or in no step at all), and
 * the log-wait latencies. The journal is the source: every event carries the time it was written.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/journal/events.js';
import { WRITTEN_LINE } from './render.js';

/** One run's events. Example: `{ run: '20261122-062205-6353', events: [...] }`. */
export interface JournaledRun {
  run: string;
  events: JournalEvent[];
}

/**
 * Every run in a cutover state folder, oldest first (by the time of its first event: run ids
 * started within the same second do not sort by time). Example: readRuns('/tmp/state')[0].events[0].type -> 'run.started'.
 */
export function readRuns(stateDir: string): JournaledRun[] {
  const dir = join(stateDir, 'runs');
  if (!existsSync(dir)) return [];
  const firstAt = (r: JournaledRun) => r.events[0]?.at ?? '';
  return readdirSync(dir)
    .map((run) => ({
      run,
      events: readFileSync(join(dir, run, 'events.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as JournalEvent),
    }))
    .sort((a, b) => firstAt(a).localeCompare(firstAt(b)) || a.run.localeCompare(b.run));
}

const at = (e: JournalEvent) => Date.parse(e.at);

/**
 * Milliseconds from `run.started` to `run.finished`, and the outcome; throws when the run did
 * not finish. Example: engineSpan(events) -> { ms: 612, outcome: 'succeeded' }.
 */
export function engineSpan(events: readonly JournalEvent[]): { ms: number; outcome: string } {
  const start = events.find((e) => e.type === 'run.started');
  const end = events.find((e) => e.type === 'run.finished');
  if (!start || !end || end.type !== 'run.finished') {
    throw new Error(
      `run ${events[0]?.run ?? '?'}: the journal has no run.started/run.finished pair; the run did not finish (see its events.jsonl)`,
    );
  }
  return { ms: at(end) - at(start), outcome: end.outcome };
}

/** Where a run's wall time went. Example: `{ wallMs: 13750, appMs: 10200, commandMs: 2900, idleMs: 650 }`. */
export interface TimeSplit {
  wallMs: number;
  /** Some host was waiting on the application: a wait.*, service.* or process.* step was running. */
  appMs: number;
  /** No such wait, but some host ran another step (commands, transfers, edits, drains). */
  commandMs: number;
  /** No step ran on any host: cutover alone (plan, connect, journal, between steps and batches). */
  idleMs: number;
}

/** Step kinds whose time is mostly the application's: waits, and starting/stopping services and processes. */
export function waitsOnApplication(kind: string): boolean {
  return /^(wait|service|process)\./.test(kind);
}

/**
 * Splits a run's engine time (run.started..run.finished) into application waits, other steps,
 * and no step at all, by sweeping over every step's interval. Example: splitTime(events).idleMs -> 640.
 */
export function splitTime(events: readonly JournalEvent[]): TimeSplit {
  const started = events.find((e) => e.type === 'run.started');
  const finished = events.find((e) => e.type === 'run.finished');
  if (started?.type !== 'run.started' || !finished) {
    throw new Error(
      `run ${events[0]?.run ?? '?'}: no run.started/run.finished in the journal; the run did not finish`,
    );
  }
  const kinds = new Map(started.steps.map((s) => [s.id, s.kind]));
  const open = new Map<string, number>();
  const intervals: { from: number; to: number; app: boolean }[] = [];
  for (const e of events) {
    if (e.type === 'step.started') open.set(e.step, at(e));
    if (e.type === 'step.succeeded' || e.type === 'step.failed') {
      const from = open.get(e.step);
      if (from === undefined) continue;
      open.delete(e.step);
      intervals.push({ from, to: at(e), app: waitsOnApplication(kinds.get(e.step) ?? '') });
    }
  }
  const t0 = at(started);
  const t1 = at(finished);
  const cuts = [...new Set([t0, t1, ...intervals.flatMap((i) => [i.from, i.to])])]
    .filter((t) => t >= t0 && t <= t1)
    .sort((a, b) => a - b);
  const split: TimeSplit = { wallMs: t1 - t0, appMs: 0, commandMs: 0, idleMs: 0 };
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i] as number;
    const to = cuts[i + 1] as number;
    const covering = intervals.filter((iv) => iv.from <= from && iv.to >= to);
    if (covering.some((iv) => iv.app)) split.appMs += to - from;
    else if (covering.length > 0) split.commandMs += to - from;
    else split.idleMs += to - from;
  }
  return split;
}

/** One measured log wait. Example: `{ id: 3, latencyMs: 131, waitedFirst: true }`. */
export interface LogWaitSample {
  id: number;
  /** From the moment the line was written to the moment the wait step succeeded. */
  latencyMs: number;
  /** The wait step had started before the line was written (else the sample measures no waiting). */
  waitedFirst: boolean;
}

/**
 * The log-wait latencies of a run of logWaitRunbook: the writer's timestamp (in the matched
 * line) to the journal time of the wait step's success. Example: logWaitSamples(events)[0].latencyMs -> 131.
 */
export function logWaitSamples(events: readonly JournalEvent[]): LogWaitSample[] {
  const startedAt = new Map<string, number>();
  const samples: LogWaitSample[] = [];
  for (const e of events) {
    if (e.type === 'step.started') startedAt.set(e.step, at(e));
    if (e.type !== 'step.succeeded' || !/\/wait-\d+@/.test(e.step)) continue;
    const m = WRITTEN_LINE.exec(e.outputs.matched ?? '');
    if (!m) {
      throw new Error(
        `${e.step}: expected the matched line "bench-N READY <ns>" in the step's outputs, got ${JSON.stringify(e.outputs.matched)}`,
      );
    }
    const writtenMs = Number(BigInt(m[2] as string) / 1000n) / 1000;
    samples.push({
      id: Number(m[1]),
      latencyMs: at(e) - writtenMs,
      waitedFirst: (startedAt.get(e.step) ?? Number.POSITIVE_INFINITY) <= writtenMs,
    });
  }
  return samples;
}

/** One line of the Ansible bench_times callback. Example: `{ event: 'ok', task: 'wait-1', host: 'node1', t: 1.7e9, groups: ['...'] }`. */
export interface AnsibleTimeRecord {
  event: 'start' | 'ok';
  task: string;
  host: string;
  t: number;
  groups?: string[];
}

/**
 * The log-wait latencies of an Ansible run: the writer's timestamp (wait_for's match group) to
 * the moment the controller got the task result. Example: ansibleLogWaitSamples(records)[0].latencyMs -> 612.
 */
export function ansibleLogWaitSamples(records: readonly AnsibleTimeRecord[]): LogWaitSample[] {
  const started = new Map<string, number>();
  const samples: LogWaitSample[] = [];
  for (const r of records) {
    const m = /^wait-(\d+)$/.exec(r.task);
    if (!m) continue;
    if (r.event === 'start') started.set(r.task, r.t * 1000);
    if (r.event !== 'ok') continue;
    const written = r.groups?.[0];
    if (!written || !/^\d{19}$/.test(written)) {
      throw new Error(
        `Ansible task ${r.task}: expected wait_for's match group to hold the written time, got ${JSON.stringify(r.groups)}`,
      );
    }
    const writtenMs = Number(BigInt(written) / 1000n) / 1000;
    samples.push({
      id: Number(m[1]),
      latencyMs: r.t * 1000 - writtenMs,
      waitedFirst: (started.get(r.task) ?? Number.POSITIVE_INFINITY) <= writtenMs,
    });
  }
  return samples;
}
