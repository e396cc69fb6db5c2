/**
 * Preflight: the runbook's checks on every host, hosts in parallel, each host's checks in order.
 * Nothing changes on any host before all of them pass; a resume repeats them unless they passed.
 */
import { PreflightError } from '../errors.js';
import type { PlannedStep } from '../plan/types.js';
import type { RunContext } from './context.js';
import type { StepRunner } from './step.js';

/** Runs every preflight check; throws PreflightError listing each one that failed. */
export async function runPreflight(run: RunContext, steps: StepRunner): Promise<void> {
  run.emit({ type: 'preflight.started' });
  const byHost = new Map<string, PlannedStep[]>();
  for (const s of run.plan.preflight) byHost.set(s.host, [...(byHost.get(s.host) ?? []), s]);
  const results = await Promise.allSettled(
    [...byHost.values()].map(async (checks) => {
      for (const s of checks) await steps.execute(s);
    }),
  );
  const errors = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as Error).message);
  run.emit({
    type: 'preflight.finished',
    ok: errors.length === 0,
    ...(errors.length ? { error: errors.join('\n') } : {}),
  });
  if (errors.length)
    throw new PreflightError(
      `preflight failed:\n${errors.join('\n')}`,
      'Nothing was changed on any host. Fix the cause and run again.',
    );
}

/** Whether every preflight check of the plan has passed in this run already. */
export function preflightPassed(run: RunContext): boolean {
  return run.plan.preflight.every((s) => run.state().steps.get(s.id)?.status === 'succeeded');
}
