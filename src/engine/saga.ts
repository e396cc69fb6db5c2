/**
 * Undo. When a host fails, the compensations of its completed steps run newest first (restore
 * backups, configs, traffic), and the rollout stops; `rollback RUN` does the same for every host of
 * the run, newest first, then verifies that every host it put back answers its health check.
 * A drain is undone only once its host answers that check; otherwise its traffic stays on the
 * neighbour and the undo is reported as failed (a later rollback retries).
 */
import { runAction } from '../actions/index.js';
import type { StepState } from '../journal/replay.js';
import { stepKinds } from '../steps/index.js';
import type { Action, StepKind } from '../steps/kind.js';
import type { RunContext } from './context.js';
import { untilHealthy } from './health.js';
import type { StepRunner } from './step.js';

/** A compensation may take at least this long, whatever its step's own timeout. */
const MIN_COMPENSATION_MS = 120_000;

/** Runs compensations and says whether all of them succeeded. Example: `const ok = await saga.host('web')`. */
export class Saga {
  readonly #run: RunContext;
  readonly #steps: StepRunner;

  constructor(run: RunContext, steps: StepRunner) {
    this.#run = run;
    this.#steps = steps;
  }

  /** Undoes the host's completed steps (this run, every phase), newest first. */
  async host(hostName: string): Promise<boolean> {
    return this.#undo(this.#todo((s) => s.host === hostName));
  }

  /** Undoes every completed step of the run, newest first, then verifies every host it touched. */
  async everything(): Promise<boolean> {
    const todo = this.#todo(() => true);
    let ok = await this.#undo(todo);
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

  /** Runs one step's compensation; a drain's only once its host is healthy. */
  async compensate(s: StepState): Promise<boolean> {
    const run = this.#run;
    const step = run.stepFor(s);
    if (!step) {
      run.emit({ type: 'compensation.failed', step: s.id, host: s.host, error: 'step is not in this plan' });
      return false;
    }
    if (step.role === 'drain') {
      const unhealthy = await untilHealthy(run, step.phase, step.host);
      if (unhealthy) {
        run.emit({ type: 'compensation.failed', step: s.id, host: s.host, error: unhealthy });
        return false;
      }
    }
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    const ctx = this.#steps.context(step);
    const actions: readonly Action[] = kind.compensate?.(step.params, s.outputs, ctx) ?? [];
    if (actions.length === 0) return true;
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
      run.emit({
        type: 'compensation.failed',
        step: s.id,
        host: s.host,
        error: run.options.redactor.redact((e as Error).message),
      });
      return false;
    }
  }

  async #undo(todo: readonly StepState[]): Promise<boolean> {
    let ok = true;
    for (const s of todo) ok = (await this.compensate(s)) && ok;
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
