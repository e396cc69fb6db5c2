/**
 * The traffic drain as a planned step. Before a host's own steps, its nginx routes the drain's
 * locations to a neighbour's upstream; after them the route is restored byte-identical (the
 * step's compensation). The neighbour is chosen at run time, so the plan holds everything but the
 * upstream and `routeStep` completes it. Drain ids (`<phase>/drain@<host>`) are built here only;
 * every other module reads the step's `role`.
 */
import type { DrainSpec } from '../runbook/model.js';
import type { Loc } from '../source/loc.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import type { PlannedDrainStep, PlannedPhase, PlannedStep } from './types.js';

const DRAIN_TIMEOUT_MS = 120_000;

/** The drain step of `host` in a phase, its nginx file rendered for that host. */
export function planDrain(
  phaseId: string,
  spec: DrainSpec,
  host: string,
  config: string,
  loc: Loc,
): PlannedDrainStep {
  return {
    id: `${phaseId}/drain@${host}`,
    phase: phaseId,
    stepId: 'drain',
    host,
    kind: 'nginx.route',
    name: `route ${spec.locations.join(', ')} to a healthy neighbour`,
    params: undefined,
    timeoutMs: DRAIN_TIMEOUT_MS,
    retries: 0,
    retryDelayMs: 0,
    loc,
    role: 'drain',
    drain: {
      config,
      locations: spec.locations,
      upstream: spec.upstream,
      neighbours: spec.neighbours,
      ...(spec.health ? { health: spec.health } : {}),
      ...(spec.validate ? { validate: spec.validate } : {}),
      ...(spec.reload ? { reload: spec.reload } : {}),
    },
  };
}

/**
 * The drain step to run once its neighbour is chosen: `nginx.route` of the drain's locations to
 * `upstream` (rendered for that neighbour). Example: `routeStep(phase.drains.web, 'http://10.0.0.11:8080')`.
 */
export function routeStep(drain: PlannedDrainStep, upstream: string): PlannedDrainStep {
  const d = drain.drain;
  if (!d) return drain;
  const kind = stepKinds.get('nginx.route') as StepKind<unknown>;
  return {
    ...drain,
    name: `route ${d.locations.join(', ')} to ${upstream}`,
    params: kind.params.parse({
      config: d.config,
      locations: d.locations,
      upstream,
      ...(d.validate ? { validate: d.validate } : {}),
      ...(d.reload ? { reload: d.reload } : {}),
    }),
  };
}

/** The drain step of a host in a phase, if it has one. Example: `drainOf(phase, 'web')?.id` -> `'upgrade/drain@web'`. */
export function drainOf(phase: PlannedPhase, host: string): PlannedDrainStep | undefined {
  return phase.drains[host];
}

/** Whether a step (planned or journaled) is a drain. Example: `isDrainStep({ role: 'drain' })` -> true. */
export function isDrainStep(step: { role?: PlannedStep['role'] }): boolean {
  return step.role === 'drain';
}
