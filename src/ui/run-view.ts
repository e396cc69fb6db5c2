/**
 * What the terminal progress, the HTML report and the dashboard show, folded from journal events:
 * per host where it is (step, wait, gate), per step its attempts as timeline bars, compensations,
 * output, and a per-host summary. A view of the journal like `replay`, which it builds on.
 */
import type { JournalEvent, Outcome } from '../journal/events.js';
import { applyEvent, newRunState, type RunState, type StepStatus } from '../journal/replay.js';
import type { StepRole } from '../plan/types.js';

/** Kinds whose time is mostly spent waiting for something outside cutover (drawn hatched). */
const WAIT_KINDS = new Set(['wait.log', 'wait.http', 'wait.file', 'gate.confirm']);

/** How much output a step keeps for reports (the journal has it all). */
const MAX_STEP_OUTPUT = 64 * 1024;
/** How many log lines each host keeps for the live tail. */
const MAX_HOST_LOG = 200;

/**
 * One attempt of one step on the timeline. Example:
 * `{ id: 'upgrade/wait-hold@web', short: 'upgrade/wait-hold', host: 'web', start: 1700000000000, end: 1700000042000, outcome: 'succeeded', waitStart: 1700000000100 }`.
 */
export interface StepBar {
  id: string;
  short: string;
  host: string;
  phase: string;
  kind: string;
  name: string;
  attempt: number;
  start: number;
  /** Undefined while the attempt runs. */
  end?: number;
  outcome: 'running' | 'succeeded' | 'failed' | 'retried' | 'probed';
  /** When the step began waiting (first `step.waiting` or `gate.pending`); drawn hatched from there. */
  waitStart?: number;
  gate?: { approved?: boolean; by?: string };
  error?: string;
}

/** One compensation (undo) on the timeline. Example: `{ id: 'upgrade/backup@web', host: 'web', start: 1, end: 2, outcome: 'succeeded' }`. */
export interface UndoBar {
  id: string;
  short: string;
  host: string;
  start: number;
  end?: number;
  outcome: 'running' | 'succeeded' | 'failed';
  error?: string;
}

/** Where a host is right now. Example: `{ step: 'upgrade/wait-hold@web', short: 'upgrade/wait-hold', kind: 'wait.log', since: 1700000000000, waiting: { what: '/hold\\.lock/', since: 1700000000100 } }`. */
export interface HostActivity {
  step: string;
  short: string;
  name: string;
  kind: string;
  attempt: number;
  since: number;
  waiting?: { what: string; since: number; lastLine?: string };
  gate?: string;
  undoing?: boolean;
}

/** A host's state and counts. Example: `{ name: 'web', status: 'running', done: 3, failed: 0, undone: 0, total: 14, ... }`. */
export interface HostView {
  name: string;
  /** `idle`: between its phases; `stopped`: the run ended before its later phases; `not-reached`: never started. */
  status:
    | 'pending'
    | 'running'
    | 'idle'
    | 'succeeded'
    | 'failed'
    | 'aborted'
    | 'rolled-back'
    | 'stopped'
    | 'not-reached';
  phase?: string;
  current?: HostActivity;
  firstStart?: number;
  lastEnd?: number;
  /** Plan steps by status (drains are on the timeline, not in the counts; a failed drain counts as failed). */
  done: number;
  failed: number;
  undone: number;
  total: number;
  /** From step outputs named `version` (first/last seen) or `version_before`/`version_after`. */
  versionBefore?: string;
  versionAfter?: string;
  /** The latest log lines (commands, output, results), oldest first. */
  log: string[];
}

/** A step's journaled detail for reports. Example: `{ id, commands: ['systemctl stop app'], output: '...', outputs: { version: '5.0.1' } }`. */
export interface StepDetail {
  id: string;
  commands: string[];
  output: string;
  truncated: boolean;
  outputs: Record<string, string>;
  errors: string[];
  lastLines: string[];
}

/** The whole picture of one run. Example: `runView(journal.read(run)).hosts[0].current?.short`. */
export interface RunView {
  run: string;
  cluster: string;
  runbook: string;
  inventory: string;
  planHash: string;
  operator: string;
  controller: string;
  params: Record<string, string>;
  startedAt: number;
  finishedAt?: number;
  outcome?: Outcome;
  error?: string;
  /** No run.finished after the last start/resume: running, or its controller died. */
  open: boolean;
  lastEventAt: number;
  hosts: HostView[];
  bars: StepBar[];
  undos: UndoBar[];
  phases: { id: string; start: number; end?: number; outcome?: Outcome }[];
  pendingGates: { step: string; host: string; message: string; seq: number }[];
  abort?: { by: string; at: number };
  state: RunState;
  details: Map<string, StepDetail>;
}

/** `upgrade/stop@web` -> `upgrade/stop`. */
export function shortStep(id: string): string {
  return id.replace(/@[^@]*$/, '');
}

/** Builds a RunView event by event (the dashboard and terminal feed it live). Example: `const b = new RunViewBuilder(); for (const e of events) b.add(e); b.view`. */
export class RunViewBuilder {
  #view?: RunView;
  readonly #openBars = new Map<string, StepBar>();
  readonly #openUndos = new Map<string, UndoBar>();
  /** Steps whose last attempt failed (and that did not succeed later), by host. */
  readonly #failed = new Map<string, Set<string>>();
  readonly #versions = new Map<string, { first?: string; last?: string; before?: string; after?: string }>();

  /** The view so far; undefined before `run.started`. */
  get view(): RunView | undefined {
    return this.#view;
  }

  add(e: JournalEvent): void {
    if (e.type === 'run.started' && !this.#view) this.#view = this.#start(e);
    const v = this.#view;
    if (!v) return;
    applyEvent(v.state, e);
    const at = Date.parse(e.at);
    v.lastEventAt = Math.max(v.lastEventAt, at);
    const host = 'host' in e ? v.hosts.find((h) => h.name === e.host) : undefined;
    this.#runFields(v);
    switch (e.type) {
      case 'run.finished':
        for (const bar of this.#openBars.values()) bar.end ??= at;
        for (const h of v.hosts) {
          if (h.status === 'running') h.status = e.outcome === 'aborted' ? 'aborted' : 'failed';
          if (h.status === 'idle') h.status = e.outcome === 'succeeded' ? 'succeeded' : 'stopped';
          if (h.status === 'pending') h.status = 'not-reached';
          h.current = undefined;
        }
        if (e.outcome === 'rolled-back') for (const h of v.hosts) if (h.undone > 0) h.status = 'rolled-back';
        break;
      case 'phase.started':
        v.phases.push({ id: e.phase, start: at });
        break;
      case 'phase.finished': {
        const phase = [...v.phases].reverse().find((p) => p.id === e.phase);
        if (phase) Object.assign(phase, { end: at, outcome: e.outcome });
        break;
      }
      case 'host.started':
        if (host) {
          host.status = 'running';
          host.phase = e.phase;
          host.firstStart ??= at;
        }
        break;
      case 'host.finished':
        if (host) {
          host.lastEnd = at;
          host.current = undefined;
          host.status =
            e.outcome !== 'succeeded'
              ? e.outcome === 'aborted'
                ? 'aborted'
                : 'failed'
              : this.#remaining(host)
                ? 'idle'
                : 'succeeded';
        }
        break;
      case 'step.started': {
        const bar: StepBar = {
          id: e.step,
          short: shortStep(e.step),
          host: e.host,
          phase: e.step.split('/')[0] ?? '',
          kind: e.kind,
          name: e.name,
          attempt: e.attempt,
          start: at,
          outcome: 'running',
        };
        v.bars.push(bar);
        this.#openBars.set(e.step, bar);
        if (host) {
          if (host.status === 'pending' || host.status === 'idle') host.status = 'running';
          host.firstStart ??= at;
          host.current = {
            step: e.step,
            short: bar.short,
            name: e.name,
            kind: e.kind,
            attempt: e.attempt,
            since: at,
          };
          this.#log(host, `▶ ${bar.short}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
        }
        break;
      }
      case 'step.command':
        this.#detail(e.step).commands.push(e.command);
        if (host) this.#log(host, `$ ${e.command.replace(/\s*\n\s*/g, '; ')}`);
        break;
      case 'step.output': {
        const d = this.#detail(e.step);
        if (d.output.length < MAX_STEP_OUTPUT) d.output += e.text.slice(0, MAX_STEP_OUTPUT - d.output.length);
        else d.truncated = true;
        if (host) for (const line of e.text.replace(/\n$/, '').split('\n')) this.#log(host, `| ${line}`);
        break;
      }
      case 'step.waiting': {
        const bar = this.#openBars.get(e.step);
        if (bar) bar.waitStart ??= at;
        if (host?.current?.step === e.step) {
          const w = host.current.waiting;
          // The first event names the whole condition; later ones only the pattern and a line.
          host.current.waiting = {
            what: w?.what ?? e.what,
            since: w?.since ?? at,
            ...(e.lastLine !== undefined
              ? { lastLine: e.lastLine }
              : w?.lastLine
                ? { lastLine: w.lastLine }
                : {}),
          };
        }
        if (e.lastLine !== undefined && host) this.#log(host, `… ${e.lastLine}`);
        break;
      }
      case 'step.succeeded': {
        const bar = this.#close(e.step, at, e.via === 'probe' ? 'probed' : 'succeeded');
        if (!bar) {
          // Verified by probe on resume without a start: a zero-length mark.
          v.bars.push({
            id: e.step,
            short: shortStep(e.step),
            host: e.host,
            phase: e.step.split('/')[0] ?? '',
            kind: v.state.steps.get(e.step)?.kind ?? '',
            name: v.state.steps.get(e.step)?.name ?? e.step,
            attempt: 0,
            start: at,
            end: at,
            outcome: 'probed',
          });
        }
        this.#detail(e.step).outputs = e.outputs;
        this.#failed.get(e.host)?.delete(e.step);
        this.#noteVersions(e.host, e.outputs);
        if (host) {
          if (host.current?.step === e.step) host.current = undefined;
          host.lastEnd = at;
          this.#log(host, `✓ ${shortStep(e.step)}`);
        }
        break;
      }
      case 'step.failed': {
        const bar = this.#close(e.step, at, e.final ? 'failed' : 'retried');
        if (bar) bar.error = e.error;
        const d = this.#detail(e.step);
        d.errors.push(e.error);
        if (e.lastLines) d.lastLines = e.lastLines;
        if (e.final) this.#failedSet(e.host).add(e.step);
        d.outputs = { ...d.outputs, ...e.outputs };
        if (host) {
          if (host.current?.step === e.step) host.current = undefined;
          host.lastEnd = at;
          this.#log(
            host,
            `✗ ${shortStep(e.step)}: ${e.error.split('\n')[0]}${e.final ? '' : ' (will retry)'}`,
          );
        }
        break;
      }
      case 'compensation.started': {
        const undo: UndoBar = {
          id: e.step,
          short: shortStep(e.step),
          host: e.host,
          start: at,
          outcome: 'running',
        };
        v.undos.push(undo);
        this.#openUndos.set(e.step, undo);
        if (host) {
          host.current = {
            step: e.step,
            short: undo.short,
            name: `undo ${undo.short}`,
            kind: 'undo',
            attempt: 1,
            since: at,
            undoing: true,
          };
          this.#log(host, `↶ undoing ${undo.short}`);
        }
        break;
      }
      case 'compensation.succeeded':
      case 'compensation.failed': {
        const undo = this.#openUndos.get(e.step);
        this.#openUndos.delete(e.step);
        if (undo) {
          undo.end = at;
          undo.outcome = e.type === 'compensation.succeeded' ? 'succeeded' : 'failed';
          if (e.type === 'compensation.failed') undo.error = e.error;
        }
        if (e.type === 'compensation.failed') {
          this.#detail(e.step).errors.push(`undo: ${e.error}`);
          this.#failedSet(e.host).add(`undo:${e.step}`);
        } else this.#failed.get(e.host)?.delete(`undo:${e.step}`);
        if (host) {
          if (host.current?.step === e.step && host.current.undoing) host.current = undefined;
          host.lastEnd = at;
          this.#log(
            host,
            e.type === 'compensation.succeeded'
              ? `↶ undone ${shortStep(e.step)}`
              : `↶ undo failed ${shortStep(e.step)}: ${e.error}`,
          );
        }
        break;
      }
      case 'gate.pending': {
        v.pendingGates.push({ step: e.step, host: e.host, message: e.message, seq: e.seq });
        const bar = this.#openBars.get(e.step);
        if (bar) {
          bar.waitStart ??= at;
          bar.gate = {};
        }
        if (host?.current?.step === e.step) host.current.gate = e.message;
        if (host) this.#log(host, `? ${e.message}`);
        break;
      }
      case 'gate.decided': {
        v.pendingGates = v.pendingGates.filter((g) => !(g.step === e.step && g.host === e.host));
        const bar = this.#openBars.get(e.step);
        if (bar?.gate) bar.gate = { approved: e.approved, by: e.by };
        if (host?.current?.step === e.step) host.current.gate = undefined;
        if (host) this.#log(host, `gate ${e.approved ? 'approved' : 'declined'} by ${e.by}`);
        break;
      }
      case 'host.unreachable':
        if (host) {
          host.status = 'failed';
          this.#log(host, `unreachable: ${e.error}`);
        }
        break;
      case 'host.unhealthy':
        if (host) {
          host.status = 'failed';
          this.#log(host, `down after its upgrade: ${e.url} answered ${e.seen}`);
        }
        break;
      case 'drain.routed':
        if (host) this.#log(host, `traffic routed to ${e.neighbour} (${e.upstream})`);
        break;
      case 'abort.requested':
        v.abort = { by: e.by, at };
        break;
      default:
        break;
    }
    this.#count(v);
  }

  #start(e: Extract<JournalEvent, { type: 'run.started' }>): RunView {
    return {
      run: e.run,
      cluster: e.cluster,
      runbook: e.runbook,
      inventory: e.inventory,
      planHash: e.planHash,
      operator: e.operator,
      controller: e.controller,
      params: e.params,
      startedAt: Date.parse(e.at),
      open: true,
      lastEventAt: Date.parse(e.at),
      hosts: e.hosts.map((name) => ({
        name,
        status: 'pending',
        done: 0,
        failed: 0,
        undone: 0,
        total: 0,
        log: [],
      })),
      bars: [],
      undos: [],
      phases: [],
      pendingGates: [],
      state: newRunState(e),
      details: new Map(),
    };
  }

  /** The run's outcome, end, error and abort, as the journal's fold (replay.ts) has them: a resume reopens the run. */
  #runFields(v: RunView): void {
    const s = v.state;
    v.outcome = s.outcome;
    v.error = s.error;
    v.finishedAt = s.finishedAt === undefined ? undefined : Date.parse(s.finishedAt);
    v.open = s.outcome === undefined;
    if (!s.abortRequested) v.abort = undefined;
  }

  #close(step: string, at: number, outcome: StepBar['outcome']): StepBar | undefined {
    const bar = this.#openBars.get(step);
    if (!bar) return undefined;
    this.#openBars.delete(step);
    bar.end = at;
    bar.outcome = outcome;
    return bar;
  }

  #detail(step: string): StepDetail {
    const details = (this.#view as RunView).details;
    let d = details.get(step);
    if (!d) {
      d = { id: step, commands: [], output: '', truncated: false, outputs: {}, errors: [], lastLines: [] };
      details.set(step, d);
    }
    return d;
  }

  #failedSet(host: string): Set<string> {
    let set = this.#failed.get(host);
    if (!set) {
      set = new Set();
      this.#failed.set(host, set);
    }
    return set;
  }

  #log(host: HostView, line: string): void {
    host.log.push(line);
    if (host.log.length > MAX_HOST_LOG) host.log.splice(0, host.log.length - MAX_HOST_LOG);
  }

  #noteVersions(host: string, outputs: Record<string, string>): void {
    const seen = this.#versions.get(host) ?? {};
    if (outputs.version !== undefined) {
      seen.first ??= outputs.version;
      seen.last = outputs.version;
    }
    if (outputs.version_before !== undefined) seen.before = outputs.version_before;
    if (outputs.version_after !== undefined) seen.after = outputs.version_after;
    this.#versions.set(host, seen);
    const h = this.#view?.hosts.find((x) => x.name === host);
    if (!h) return;
    h.versionBefore = seen.before ?? seen.first;
    // One `version` capture is the version before; a second (after the upgrade) is the one after.
    h.versionAfter =
      seen.after ?? (seen.last !== undefined && seen.last !== seen.first ? seen.last : undefined);
  }

  /** Whether the host has plan steps not yet done (it will run in a later phase). */
  #remaining(host: HostView): boolean {
    const v = this.#view as RunView;
    for (const s of v.state.steps.values()) if (s.host === host.name && s.status === 'pending') return true;
    return false;
  }

  #count(v: RunView): void {
    for (const h of v.hosts) {
      h.done = 0;
      h.failed = this.#failed.get(h.name)?.size ?? 0;
      h.undone = 0;
      h.total = 0;
    }
    const byName = new Map(v.hosts.map((h) => [h.name, h]));
    for (const s of v.state.steps.values()) {
      const h = byName.get(s.host);
      // A drain is undone on every success (traffic comes back): not a step of the count.
      if (!h || isDrain(s)) continue;
      h.total += 1;
      const status: StepStatus = s.status;
      if (status === 'succeeded') h.done += 1;
      else if (status === 'compensated') h.undone += 1;
    }
  }
}

/** The view of a whole journal. Example: `runView(journal.read(run)).outcome`. */
export function runView(events: readonly JournalEvent[]): RunView {
  const b = new RunViewBuilder();
  for (const e of events) b.add(e);
  if (!b.view) throw new Error('journal does not start with run.started');
  return b.view;
}

/** Whether a journaled step is a host's traffic drain (its role). Example: `isDrain({ role: 'drain' })` -> true. */
export function isDrain(step: { role?: StepRole }): boolean {
  return step.role === 'drain';
}

/** Whether a step kind waits on the outside world (its bar is hatched). Example: `isWaitKind('wait.log')` -> true. */
export function isWaitKind(kind: string): boolean {
  return WAIT_KINDS.has(kind);
}
