import type { Host } from '../inventory/model.js';
import type { DrainSpec, RollingPolicy } from '../runbook/model.js';
import type { Loc } from '../source/loc.js';

/**
 * One step on one host, compiled: params rendered for that host and parsed by its kind.
 * Example id: `upgrade/stop-gateway@web`.
 */
export interface PlannedStep {
  id: string;
  phase: string;
  stepId: string;
  host: string;
  kind: string;
  name: string;
  /** Rendered and parsed params (may hold Words, Secrets and HostDates). */
  params: unknown;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** For `wait.log`: the plan id of the step before which the log offset is recorded. */
  since?: string;
  loc: Loc;
  source?: string;
}

/** A group of hosts rolled one batch after another; groups of a phase run in parallel. */
export interface HostGroup {
  key: string;
  hosts: string[];
}

export interface PlannedPhase {
  id: string;
  name: string;
  rolling: RollingPolicy;
  drain?: DrainSpec;
  groups: HostGroup[];
  /** Host name -> its steps in order (hosts whose steps were all skipped by `when` still appear). */
  steps: Record<string, PlannedStep[]>;
  /** Steps skipped by `when`, for the plan view. */
  skipped: { stepId: string; host: string; when: string }[];
  /** Per host: the nginx file its drain edits, rendered for that host; absent when `skip_when` holds. */
  drainConfig: Record<string, string>;
}

/**
 * The compiled, deterministic plan: what `plan` prints and `apply` runs. Its hash covers every
 * host, step, rendered param and uploaded file checksum (never secret values).
 */
export interface Plan {
  runbook: { file: string; name: string; dir: string };
  inventory: { file: string; cluster: string };
  params: Record<string, string>;
  hosts: Host[];
  preflight: PlannedStep[];
  phases: PlannedPhase[];
  /** Controller files the plan uploads, with their sha256. */
  localFiles: Record<string, string>;
  hash: string;
}

/** Every step of the plan in execution-independent plan order. */
export function allSteps(plan: Plan): PlannedStep[] {
  return [
    ...plan.preflight,
    ...plan.phases.flatMap((p) => p.groups.flatMap((g) => g.hosts.flatMap((h) => p.steps[h] ?? []))),
  ];
}
