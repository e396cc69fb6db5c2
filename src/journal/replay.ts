import type { StepRole } from '../plan/types.js';
import type { JournalEvent, LogMark, Outcome } from './events.js';

export type StepStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'compensating'
  | 'compensated'
  | 'compensation-failed';

/** One step's state as the journal tells it. */
export interface StepState {
  id: string;
  host: string;
  phase: string;
  kind: string;
  name: string;
  status: StepStatus;
  attempts: number;
  outputs: Record<string, string>;
  marks: LogMark[];
  startedAt?: string;
  endedAt?: string;
  /** Order in which steps completed (for newest-first compensation). */
  completedSeq?: number;
  error?: string;
  lastLines?: string[];
  via?: 'probe';
  /** What the step does for the rollout beyond its kind (`'drain'`), from its events. */
  role?: StepRole;
}

/** The state of a run, rebuilt from its events. Example: `replay(journal.read(run)).steps.get('upgrade/stop@web')`. */
export interface RunState {
  run: string;
  planHash: string;
  runbook: string;
  inventory: string;
  cluster: string;
  params: Record<string, string>;
  /** Who started the run, and on which machine. */
  operator: string;
  controller: string;
  startedAt: string;
  finishedAt?: string;
  outcome?: Outcome;
  error?: string;
  /** In plan order. */
  steps: Map<string, StepState>;
  hosts: string[];
  /** Steps first seen after `run.started` (drains: they start once their neighbour is chosen). */
  dynamicSteps: string[];
  pendingGates: { step: string; host: string; message: string }[];
  abortRequested: boolean;
  events: number;
  /** How many times `resume --replan` changed the plan the run follows. */
  replans: number;
}

export function replay(events: readonly JournalEvent[]): RunState {
  const first = events[0];
  if (first?.type !== 'run.started') throw new Error('journal does not start with run.started');
  const state = newRunState(first);
  for (const e of events) applyEvent(state, e);
  return state;
}

/** The state right after `run.started`. */
export function newRunState(first: Extract<JournalEvent, { type: 'run.started' }>): RunState {
  const state: RunState = {
    run: first.run,
    planHash: first.planHash,
    runbook: first.runbook,
    inventory: first.inventory,
    cluster: first.cluster,
    params: first.params,
    operator: first.operator,
    controller: first.controller,
    startedAt: first.at,
    steps: new Map(),
    hosts: first.hosts,
    dynamicSteps: [],
    pendingGates: [],
    abortRequested: false,
    events: 0,
    replans: 0,
  };
  for (const s of first.steps) {
    state.steps.set(s.id, { ...s, status: 'pending', attempts: 0, outputs: {}, marks: [] });
  }
  return state;
}

/** Folds one event into the state (the engine keeps its state current this way, without re-reading). */
export function applyEvent(state: RunState, e: JournalEvent): void {
  state.events += 1;
  const get = (id: string, host: string, kind = '', name = id): StepState => {
    let s = state.steps.get(id);
    if (!s) {
      s = {
        id,
        host,
        phase: id.split('/')[0] ?? '',
        kind,
        name,
        status: 'pending',
        attempts: 0,
        outputs: {},
        marks: [],
      };
      state.steps.set(id, s);
      state.dynamicSteps.push(id);
    }
    return s;
  };
  switch (e.type) {
    case 'run.resumed':
      state.outcome = undefined;
      state.finishedAt = undefined;
      state.error = undefined;
      state.abortRequested = false;
      break;
    case 'run.replanned': {
      // The new plan's steps in its order; a journaled step it no longer has stays only if it ever ran.
      const before = state.steps;
      state.steps = new Map();
      for (const s of e.steps) {
        state.steps.set(
          s.id,
          before.get(s.id) ?? { ...s, status: 'pending', attempts: 0, outputs: {}, marks: [] },
        );
      }
      for (const [id, s] of before)
        if (!state.steps.has(id) && s.status !== 'pending') state.steps.set(id, s);
      state.dynamicSteps = state.dynamicSteps.filter((id) => state.steps.has(id));
      state.planHash = e.planHash;
      state.hosts = e.hosts;
      state.replans += 1;
      break;
    }
    case 'run.finished':
      state.outcome = e.outcome;
      state.finishedAt = e.at;
      state.error = e.error;
      break;
    case 'step.started': {
      const s = get(e.step, e.host, e.kind, e.name);
      s.status = 'running';
      s.attempts = e.attempt;
      if (e.role) s.role = e.role;
      s.startedAt ??= e.at;
      break;
    }
    case 'step.mark':
      get(e.step, e.host).marks.push(e.mark);
      break;
    case 'step.succeeded': {
      const s = get(e.step, e.host);
      s.status = 'succeeded';
      s.outputs = e.outputs;
      s.endedAt = e.at;
      s.completedSeq = e.seq;
      s.via = e.via;
      break;
    }
    case 'step.failed': {
      const s = get(e.step, e.host);
      s.outputs = e.outputs;
      s.error = e.error;
      s.lastLines = e.lastLines;
      if (e.role) s.role = e.role;
      if (e.final) {
        s.status = 'failed';
        s.endedAt = e.at;
        s.completedSeq = e.seq;
      }
      break;
    }
    case 'compensation.started':
      get(e.step, e.host).status = 'compensating';
      break;
    case 'compensation.succeeded':
      get(e.step, e.host).status = 'compensated';
      break;
    case 'compensation.failed': {
      const s = get(e.step, e.host);
      s.status = 'compensation-failed';
      s.error = e.error;
      break;
    }
    case 'gate.pending':
      state.pendingGates.push({ step: e.step, host: e.host, message: e.message });
      break;
    case 'gate.decided':
      state.pendingGates = state.pendingGates.filter((g) => !(g.step === e.step && g.host === e.host));
      break;
    case 'abort.requested':
      state.abortRequested = true;
      break;
    default:
      break;
  }
}
