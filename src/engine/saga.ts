/**
 * Undo. When a host fails, the compensations of its completed steps run newest first (restore
 * backups, configs, traffic), and the rollout stops; `rollback RUN` does the same for every host of
 * the run, newest first, then verifies that every host it put back answers its health check.
 * A drain is undone only once its host answers that check, and only when every other undo of that
 * host succeeded; otherwise its traffic stays on the neighbour and the undo is reported as failed
 * (a later resume or rollback retries). A host that becomes unreachable gets no further undo
 * attempts in this run: each is reported "not run", never tried into a timeout.
 */
import { runAction } from '../actions/index.js';
import { TransportError } from '../transport/errors.js';
import type { RunState, StepState } from '../journal/replay.js';
import { stepKinds } from '../steps/index.js';
import type { Action, StepKind } from '../steps/kind.js';
import { drainOf } from '../plan/drain.js';
import type { RunContext } from './context.js';
import type { Drains } from './drain.js';
import { untilHealthy } from './health.js';
import type { TrafficLedger } from './rolling.js';
import type { StepRunner } from './step.js';

/** A compensation may take at least this long, whatever its step's own timeout. */
const MIN_COMPENSATION_MS = 120_000;

/** Runs compensations and says whether all of them succeeded. Example: `const ok = await saga.host('web')`. */
export class Saga {
  readonly #run: RunContext;
  readonly #steps: StepRunner;
  /** Hosts an undo could not put back in this run, and why (for the run's closing message). */
  readonly notPutBack = new Map<string, string>();

  constructor(run: RunContext, steps: StepRunner) {
    this.#run = run;
    this.#steps = steps;
  }

  /** Undoes the host's completed steps (this run, every phase), newest first. */
  async host(hostName: string): Promise<boolean> {
    return this.#undo(this.#todo((s) => s.host === hostName));
  }

  /**
   * Undoes every completed step of the run, host by host, the host upgraded last first, each host's
   * steps newest first; then verifies every host it touched. A host whose phase has a traffic drain
   * is drained first (budget and neighbour rules as in the upgrade) and its traffic goes back only
   * once it answers its health check: a rollback drops no more requests than the upgrade did.
   */
  async everything(drains: Drains): Promise<boolean> {
    const todo = this.#todo(() => true);
    let ok = true;
    for (const host of hostsNewestFirst(todo)) {
      for (const phase of [...this.#run.plan.phases].reverse()) {
        const steps = todo.filter((s) => s.host === host && s.phase === phase.id);
        if (steps.length === 0) continue;
        const drain = drainOf(phase, host);
        const open = drain && this.#run.state().steps.get(drain.id)?.status === 'succeeded';
        const undo = steps.filter((s) => s.id !== drain?.id);
        if (drain && !open && undo.length > 0) {
          try {
            await drains.drain(drain, rollbackLedger(this.#run, host));
          } catch (e) {
            // Undoing a host that serves users without its drain would fail their requests: stop here.
            const error = `not rolled back: ${(e as Error).message}`;
            this.notPutBack.set(host, error);
            this.#run.emit({ type: 'compensation.failed', step: drain.id, host, error });
            return false;
          }
          const drained = this.#run.state().steps.get(drain.id) as StepState;
          ok = (await this.#undo([...undo, drained])) && ok;
        } else {
          ok = (await this.#undo(steps)) && ok;
        }
      }
    }
    // Verify: every host that was put back answers its phase's health check again.
    const touched = new Map(todo.map((s) => [`${s.phase}\u0000${s.host}`, s]));
    for (const s of touched.values()) {
      const unhealthy = await untilHealthy(this.#run, s.phase, s.host);
      if (unhealthy) {
        ok = false;
        this.#run.emit({ type: 'compensation.failed', step: s.id, host: s.host, error: unhealthy });
      }
    }
    return ok;
  }

  /**
   * Runs one step's compensation; a drain's only when the host's other undos succeeded
   * (`hostPutBack`) and the host answers its health check.
   */
  async compensate(s: StepState, hostPutBack = true): Promise<boolean> {
    const run = this.#run;
    const step = run.stepFor(s);
    const fail = (error: string) => {
      run.emit({ type: 'compensation.failed', step: s.id, host: s.host, error });
      this.notPutBack.set(s.host, this.notPutBack.get(s.host) ?? error);
      return false;
    };
    if (!step) return fail('step is not in this plan');
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    const ctx = this.#steps.context(step);
    const actions: readonly Action[] = kind.compensate?.(step.params, s.outputs, ctx) ?? [];
    if (actions.length === 0) return true;
    const unreachable = run.unreachable(s.host);
    if (unreachable) return fail(`not run: ${s.host} is unreachable (${unreachable})`);
    if (step.role === 'drain') {
      const neighbour = s.outputs.neighbour ?? 'its neighbour';
      if (!hostPutBack)
        return fail(
          `not run: ${s.host} was not put back (an undo before this one failed); its traffic stays on ${neighbour}`,
        );
      const unhealthy = await untilHealthy(run, step.phase, step.host, s.id);
      if (unhealthy) return fail(unhealthy);
    }
    run.emit({ type: 'compensation.started', step: s.id, host: s.host });
    try {
      const deadline = run.clock.now() + Math.max(step.timeoutMs, MIN_COMPENSATION_MS);
      const env = await this.#steps.actionEnv(step, ctx, {}, deadline);
      // A compensation must run to the end even when the operator aborted the run.
      env.signal = new AbortController().signal;
      for (const action of actions) await runAction(action, env);
      run.emit({ type: 'compensation.succeeded', step: s.id, host: s.host });
      return true;
    } catch (e) {
      const message = run.options.redactor.redact((e as Error).message);
      if (e instanceof TransportError && e.unreachable) run.markUnreachable(s.host, message);
      return fail(message);
    }
  }

  /** Runs the undos in order; a host's drain is restored only if all of that host's undos before it succeeded. */
  async #undo(todo: readonly StepState[]): Promise<boolean> {
    let ok = true;
    const failedHosts = new Set<string>();
    for (const s of todo) {
      const undone = await this.compensate(s, !failedHosts.has(s.host));
      if (!undone) failedHosts.add(s.host);
      ok = undone && ok;
    }
    return ok;
  }

  /** The steps to undo, newest first (preflight checks change nothing). */
  #todo(which: (s: StepState) => boolean): StepState[] {
    return [...this.#run.state().steps.values()]
      .filter((s) => s.phase !== 'preflight' && which(s) && needsCompensation(s))
      .sort((a, b) => (b.completedSeq ?? 0) - (a.completedSeq ?? 0));
  }
}

/** Completed, partly done, or an undo that was interrupted or failed (undos are safe to run again). */
export function needsCompensation(s: StepState): boolean {
  return (
    s.status === 'succeeded' ||
    s.status === 'compensating' ||
    s.status === 'compensation-failed' ||
    (s.status === 'failed' && s.attempts > 0)
  );
}

/** Whether a host has undos of this run that did not finish (interrupted, failed, or never run). */
export function pendingUndo(state: RunState, host: string, phase?: string): boolean {
  return [...state.steps.values()].some(
    (s) =>
      s.host === host &&
      (phase === undefined || s.phase === phase) &&
      (s.status === 'compensating' || s.status === 'compensation-failed'),
  );
}

/** Hosts in the order a rollback undoes them: the one whose last step finished last comes first. */
function hostsNewestFirst(todo: readonly StepState[]): string[] {
  const newest = new Map<string, number>();
  for (const s of todo) newest.set(s.host, Math.max(newest.get(s.host) ?? 0, s.completedSeq ?? 0));
  return [...newest.keys()].sort((a, b) => (newest.get(b) ?? 0) - (newest.get(a) ?? 0));
}

/**
 * The books of a rollback's drain: one host is undone at a time, so a neighbour may carry its
 * traffic unless it is that host or its own traffic is still drained (an open drain in the journal).
 */
function rollbackLedger(run: RunContext, host: string): TrafficLedger {
  const drained = (name: string) =>
    [...run.state().steps.values()].some(
      (s) => s.host === name && s.role === 'drain' && s.status === 'succeeded',
    );
  return {
    canCarry: (name) => name !== host && !drained(name),
    carry: () => {},
    drained: () => {},
    restored: () => {},
  };
}
