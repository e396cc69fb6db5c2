import type { Host, HostSelector } from '../inventory/model.js';
import type { BalancerSpec, DrainSpec, RollingPolicy } from '../runbook/model.js';
import type { Loc } from '../source/loc.js';

/**
 * What a planned step does for the rollout beyond its kind; absent on the runbook's own steps.
 * Example: `'drain'`, a host's traffic routed to a neighbour before its steps (restored after them).
 */
export type StepRole = (typeof STEP_ROLES)[number];
/** Every step role, for schemas (the journal's events). */
export const STEP_ROLES = ['drain'] as const;

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
  /** Set on the steps the plan adds around a host's own steps (its traffic drain). */
  role?: StepRole;
  /** The drain's typed data, on `role: 'drain'` steps. */
  drain?: PlannedDrain;
  /** The user sudo runs the step as (become); unset: the login user. */
  runAs?: string;
}

/**
 * One host's traffic drain, planned: route `locations` of its own nginx `config` to a neighbour's
 * `upstream`; `nginx -t`, reload; restored byte-identical after its steps. The neighbour is chosen
 * at run time (healthy, not drained, not being upgraded), so the upstream is still a template.
 * Example: `{ config: '/etc/nginx/conf.d/app.conf', locations: ['/'], upstream: 'http://{{ neighbour.address }}:8080', neighbours: { roles: ['app'] } }`.
 */
export interface PlannedDrain {
  config: string;
  locations: string[];
  /** A template over `neighbour`, rendered once the neighbour is chosen. */
  upstream: string;
  neighbours: HostSelector;
  health?: { url: string; expectStatus: number[] };
  validate?: string;
  reload?: string;
}

/**
 * A host's drain step as planned: an `nginx.route` whose params are complete only once its
 * neighbour is chosen (`routeStep` in plan/drain.ts). Example id: `upgrade/drain@web`.
 */
/**
 * A host's drain step: through its own nginx (`drain` set: `nginx.route`, neighbour chosen at run
 * time), or at the balancers in front (`haproxy.drain` / `balancer.commands`, complete when planned).
 */
export type PlannedDrainStep = PlannedStep & { role: 'drain'; drain?: PlannedDrain };

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
  balancer?: BalancerSpec;
  groups: HostGroup[];
  /** Host name -> its steps in order (hosts whose steps were all skipped by `when` still appear). */
  steps: Record<string, PlannedStep[]>;
  /** Steps skipped by `when`, for the plan view. */
  skipped: { stepId: string; host: string; when: string }[];
  /** Per host: its drain step, run before its steps and undone after them; absent when `skip_when` holds. */
  drains: Record<string, PlannedDrainStep>;
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
  /** `--limit` as given, when the plan runs on some hosts only. Example: `'web*,!web-3'`. */
  limit?: string;
  /** `--only STEP…` / `--from STEP` as given, when the plan runs some steps only. Example: `{ from: 'upgrade/backup' }`. */
  steps?: { only?: string[]; from?: string };
  hash: string;
}

/** Every step of the plan in execution-independent plan order. */
export function allSteps(plan: Plan): PlannedStep[] {
  return [
    ...plan.preflight,
    ...plan.phases.flatMap((p) => p.groups.flatMap((g) => g.hosts.flatMap((h) => p.steps[h] ?? []))),
  ];
}

/** Every step as the journal lists it at the start of a run (or a replan). Example: `[{ id: 'up/stop@web', host: 'web', phase: 'up', kind: 'service.stop', name: 'stop' }]`. */
export function journalSteps(
  plan: Plan,
): { id: string; host: string; phase: string; kind: string; name: string }[] {
  return allSteps(plan).map((s) => ({ id: s.id, host: s.host, phase: s.phase, kind: s.kind, name: s.name }));
}

/** For a wait.log: the runbook id of the step its lines count from (set by compile when not written). */
export function sinceOf(plan: Plan, step: PlannedStep): { since?: string } {
  if (!step.since) return {};
  const target = allSteps(plan).find((s) => s.id === step.since);
  return target ? { since: target.stepId } : {};
}
