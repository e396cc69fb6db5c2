/**
 * A host's traffic drain at run time. The plan holds the drain step (plan/drain.ts); here its
 * neighbour is chosen — among the drain's candidates, one that is neither drained nor being
 * upgraded and answers the health check — and reserved in the rolling window before the route is
 * written, so it does not start its own upgrade while it carries this host's traffic. Traffic goes
 * back by the step's compensation (the saga's, after the host answers its health check), on
 * success as on failure. The drain budget (`max_drained`) is a place in the rolling window.
 */
import { StepFailedError } from '../errors.js';
import type { Host } from '../inventory/model.js';
import { selectHosts } from '../inventory/select.js';
import { routeStep } from '../plan/drain.js';
import type { StepState } from '../journal/replay.js';
import type { PlannedDrain, PlannedDrainStep } from '../plan/types.js';
import { evaluate } from '../runbook/expr.js';
import { renderTemplate } from '../runbook/template.js';
import { staticValue } from '../shell/word.js';
import type { RunContext } from './context.js';
import { probeHealth, renderHealth } from './health.js';
import type { TrafficLedger } from './rolling.js';
import type { StepRunner } from './step.js';

/** Undoes a journaled step (the saga's `compensate`: a drain's undo waits for its host's health). */
export type Undo = (s: StepState) => Promise<boolean>;

/**
 * Drains and restores hosts' traffic, keeping `ledger`'s books (the rolling window in a rollout).
 * Example: `await drains.drain(phase.drains.web, window)`.
 */
export class Drains {
  readonly #run: RunContext;
  readonly #steps: StepRunner;
  readonly #undo: Undo;

  constructor(run: RunContext, steps: StepRunner, undo: Undo) {
    this.#run = run;
    this.#steps = steps;
    this.#undo = undo;
  }

  /** Routes the host's own nginx locations to a healthy neighbour that is not drained or being upgraded. */
  async drain(step: PlannedDrainStep, ledger: TrafficLedger): Promise<void> {
    const run = this.#run;
    const host = run.host(step.host);
    const spec = step.drain;
    if (!spec) {
      // At the balancers in front: no neighbour to choose; the balancer sends to the others.
      await this.#steps.execute(step);
      ledger.drained(host.name);
      return;
    }
    const tried: string[] = [];
    for (const neighbour of this.#candidates(spec, host).filter((h) => ledger.canCarry(h.name))) {
      if (spec.health) {
        const check = renderHealth(run, spec.health, host, neighbour);
        const answer = await probeHealth(check, run.signal);
        if (!answer.ok) {
          tried.push(`${neighbour.name} (${check.url} answered ${answer.seen})`);
          continue;
        }
      }
      // It may have started its own upgrade during the probe.
      if (!ledger.canCarry(neighbour.name)) {
        tried.push(`${neighbour.name} (started its own upgrade meanwhile)`);
        continue;
      }
      // Reserved before the route is written: from now on it does not start until this traffic is back.
      ledger.carry(host.name, neighbour.name);
      const upstream = staticValue(renderTemplate(spec.upstream, run.options.templateScope(host, neighbour)));
      await this.#steps.execute(routeStep(step, upstream), { neighbour: neighbour.name, upstream });
      ledger.drained(host.name);
      run.emit({ type: 'drain.routed', host: host.name, neighbour: neighbour.name, upstream, step: step.id });
      return;
    }
    const error = `no healthy neighbour to take ${host.name}'s traffic: ${tried.join('; ') || 'every candidate is drained or being upgraded'}`;
    run.emit({
      type: 'step.failed',
      step: step.id,
      host: host.name,
      error,
      attempt: 0,
      final: true,
      outputs: {},
      role: 'drain',
    });
    throw new StepFailedError(
      `${step.id}: ${error}`,
      host.name,
      step.id,
      {},
      'Bring a neighbour back to health (or widen drain.neighbours), then resume.',
    );
  }

  /** Puts the host's traffic back (once it answers its health check) and frees its neighbour. */
  async restore(step: PlannedDrainStep, ledger: TrafficLedger): Promise<void> {
    const state = this.#run.state().steps.get(step.id);
    if (state?.status === 'succeeded' && !(await this.#undo(state))) {
      throw new StepFailedError(`could not restore traffic on ${step.host}`, step.host, step.id);
    }
    ledger.restored(step.host);
  }

  /** The drain's neighbour candidates in preference order, the host itself left out. */
  #candidates(spec: PlannedDrain, host: Host): Host[] {
    const run = this.#run;
    return selectHosts({ file: '', cluster: '', hosts: run.plan.hosts }, spec.neighbours, (expr, h) =>
      Boolean(evaluate(expr, run.options.templateScope(h))),
    ).filter((h) => h.name !== host.name);
  }
}
