/**
 * The last check of compile: every step is planned and rendered exactly as `plan` and `apply`
 * will do it (actions, probe, undo), so whatever a planner or the script scanner refuses is an
 * input problem at the step's file:line:col now, never a crash later. `validate` runs the same.
 */
import type { InputProblem } from '../errors.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import { describeAction, recordedOutputs, stepContext } from './render.js';
import type { Plan, PlannedStep } from './types.js';

/** Plans and renders every step of `plan`; each refusal becomes a problem at its step. */
export function checkRendering(plan: Omit<Plan, 'hash'>, problems: InputProblem[]): void {
  const steps = [
    ...plan.preflight,
    ...plan.phases.flatMap((p) => Object.values(p.steps).flat()),
    // Drains at balancers are complete when planned (a node's own nginx drain is routed at run time).
    ...plan.phases.flatMap((p) => Object.values(p.drains).filter((d) => !d.drain)),
  ];
  const seen = new Set<string>();
  for (const step of steps) {
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    try {
      const ctx = stepContext(plan as Plan, step);
      const planned = kind.plan(step.params, ctx);
      const actions = [...planned.actions, ...(kind.compensate?.(step.params, recordedOutputs, ctx) ?? [])];
      for (const a of actions) {
        describeAction(a);
        if (a.type === 'exec') a.cmd.render('exec');
      }
      if (planned.probe) planned.probe.cmd.render('exec');
    } catch (e) {
      const message = `${(e as Error).message}`;
      // One problem per step and message, not one per host.
      const key = `${step.phase}/${step.stepId}: ${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problemAt(step, message));
    }
  }
}

function problemAt(step: PlannedStep, message: string): InputProblem {
  return {
    ...step.loc,
    path: `${step.phase}/${step.stepId}/${step.kind}`,
    message: `for host ${step.host}: ${message}`,
    severity: 'error',
  };
}
