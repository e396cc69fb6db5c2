/**
 * The validated runbook as the rest of cutover sees it (the loader's output). Template strings
 * (`{{ ... }}`) are still unrendered here; `src/plan/compile.ts` renders them per host.
 */
import type { HostSelector } from '../inventory/model.js';
import type { Loc } from '../source/loc.js';

export type ParamType = 'string' | 'version' | 'number' | 'boolean';

/** A runbook parameter. Example: `{ type: 'version', required: true, description: 'target version' }`. */
export interface ParamSpec {
  type: ParamType;
  required: boolean;
  default?: string | number | boolean;
  /** For strings: a regex the value must match fully (e.g. an instance name). */
  pattern?: string;
  description?: string;
}

/** Where a secret comes from, tried in order. Example: `[{ env: 'CMW_PASSWORD' }, { prompt: true }]`. */
export type SecretSource = { env: string } | { file: string } | { prompt: true };

export interface SecretSpec {
  from: SecretSource[];
  description?: string;
}

/**
 * How hosts of a phase are rolled. Example: `{ serial: 1, maxUnavailable: 1, failureBudget: 0 }`.
 * `groupBy` runs groups (e.g. one per service) in parallel, each rolled by `serial`.
 */
export interface RollingPolicy {
  /** Hosts at once: batches of this many (each waits for its slowest host); with `window`, the window's width. */
  serial: number;
  /**
   * Pool semantics: keep this many hosts in flight, starting the next host as soon as one finishes
   * (no batch waits for its slowest host). Absent: batches of `serial`. Example: `10`.
   */
  window?: number;
  /** Hosts out of service at once across the whole phase (all groups); absent with groups = `serial` per group. */
  maxUnavailable?: number;
  /** How many hosts may fail before the phase stops (0 = stop at the first failure). */
  failureBudget: number;
  canary?: { hosts: number; pauseMs?: number; confirm?: boolean };
  /** An expression over host, e.g. `host.vars.service`: hosts with equal values form one group; groups run in parallel. */
  groupBy?: string;
}

/** Phase-level traffic drain through the host's own nginx. */
export interface DrainSpec {
  /** Path of the nginx file holding the locations (template). */
  config: string;
  locations: string[];
  /** Upstream to route to, a template over `neighbour` (e.g. `http://{{ neighbour.address }}:8080`). */
  upstream: string;
  /** Candidate neighbours in preference order. */
  neighbours: HostSelector;
  /** Probed before routing to a neighbour (template over `neighbour`). */
  health?: { url: string; expectStatus: number[] };
  /** At most this many hosts drained at once (the drain budget). */
  maxDrained: number;
  /** Hosts for which no drain happens (e.g. `'backup' in host.roles`). */
  skipWhen?: string;
  validate?: string;
  reload?: string;
}

/** Traffic out of rotation at balancers in front (see balancerSchema). Example: `{ hosts: { roles: ['lb'] }, haproxy: { socket, backend, server }, ... }`. */
export interface BalancerSpec {
  hosts: HostSelector;
  haproxy?: { socket: string; backend: string; server: string };
  nginx?: { config: string; upstream: string; server: string; validate?: string; reload?: string };
  commands?: { drain: string; drained: string; undrain: string; ready?: string };
  health?: { url: string; expectStatus: number[] };
  maxDrained: number;
  drainTimeoutMs: number;
  skipWhen?: string;
}

/** A step as written: its kind, raw params, and the common fields. */
export interface StepDef {
  id: string;
  name?: string;
  kind: string;
  params: Record<string, unknown>;
  when?: string;
  timeoutMs?: number;
  retries: number;
  retryDelayMs: number;
  loc: Loc;
  /** Where this step came from in an imported document (`cutover import`). */
  source?: string;
  /** A note left by `cutover import` for a person to check (a load warning until removed). */
  todo?: string;
  /** Privilege for this step, overriding the phase's and the host's. */
  privilege?: Privilege;
}

/**
 * Who runs a step, as written at one level (step, phase): sudo on or off, and to whom.
 * Example: `{ become: true, user: 'postgres' }`; `{ become: false }`.
 */
export interface Privilege {
  become?: boolean;
  user?: string;
}

export interface PhaseDef {
  id: string;
  name: string;
  hosts: HostSelector;
  rolling: RollingPolicy;
  drain?: DrainSpec;
  balancer?: BalancerSpec;
  steps: StepDef[];
  loc: Loc;
  /** Privilege for the phase's steps (its drain too), overriding the host's. */
  privilege?: Privilege;
}

export interface Runbook {
  /** Absolute path of the runbook file. */
  file: string;
  name: string;
  description?: string;
  params: Record<string, ParamSpec>;
  secrets: Record<string, SecretSpec>;
  vars: Record<string, string>;
  /** Programs the author vouches keep their arguments data (`safe_programs:`); see src/shell/programs.ts. Example: `['mytool']`. */
  safePrograms: string[];
  preflight: StepDef[];
  phases: PhaseDef[];
  /**
   * Where each YAML node sits, by path (`phases/0/hosts/roles/1`), so checks made after loading
   * (inventory, params) can point at the exact place. Example: `{ 'phases/0/name': { file, line: 9, col: 11 } }`.
   */
  sourceLocs?: Record<string, Loc>;
}
