import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';
import { type InputProblem, InputError } from '../errors.js';
import type { Host, Inventory } from '../inventory/model.js';
import { inLimit, type Limit } from '../inventory/limit.js';
import { selectHosts } from '../inventory/select.js';
import { evaluate } from '../runbook/expr.js';
import type { BalancerSpec, PhaseDef, Privilege, Runbook, StepDef } from '../runbook/model.js';
import { renderParams, renderTemplate, type TemplateScope } from '../runbook/template.js';
import type { Secret } from '../shell/secret.js';
import { concat, Expanded, partsOf, staticValue, TemplatedWord, type Word } from '../shell/word.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import { scriptText } from '../steps/params.js';
import { checkRendering } from './check.js';
import { confineLocalFiles, hashLocalFiles } from './local-files.js';
import { planDrain } from './drain.js';
import { describeSelection, type StepSelection, selectionProblems, selectSteps } from './select.js';
import type { HostGroup, Plan, PlannedDrainStep, PlannedPhase, PlannedStep } from './types.js';

/** What compile needs besides the runbook: the hosts, the resolved params and secrets. */
export interface CompileInput {
  runbook: Runbook;
  inventory: Inventory;
  params: Record<string, string | number | boolean>;
  secrets: Record<string, Secret>;
  /**
   * Controller files already hashed, absolute path -> sha256 (a run rebuilt from its journal: the
   * copies in its run folder were checked against these). Listed files are not read again.
   */
  knownFiles?: Readonly<Record<string, string>>;
  /** `--limit`: only these hosts (names, roles, globs, `!` exclusions). */
  limit?: Limit;
  /** `--only STEP…` / `--from STEP`: only these runbook steps (plan/select.ts). */
  steps?: StepSelection;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * Compiles runbook + inventory + params into a deterministic plan: hosts selected and ordered,
 * `when` evaluated, params rendered per host and parsed by each kind, each host's traffic drain
 * planned as a step of its own (plan/drain.ts), ids stable, hash computed.
 * Throws InputError listing every problem at its file:line:col.
 */
export function compile(input: CompileInput): Plan {
  const { runbook, inventory } = input;
  const problems: InputProblem[] = [];
  const scopeFor = (host: Host, neighbour?: Host): TemplateScope => templateScope(input, host, neighbour);

  const stepOptions = { safePrograms: runbook.safePrograms ?? [], dir: dirname(runbook.file) };
  const phases: PlannedPhase[] = [];
  const usedHosts = new Set<string>();
  /** Balancers in front of some phase: connected and locked, never upgraded, no runbook preflight. */
  const balancerHosts = new Set<string>();
  const balancerChecks: PlannedStep[] = [];
  // `--only`/`--from`: the runbook steps kept; what a kept step relies on and that is left out is refused.
  const keep = input.steps ? selectSteps(runbook, input.steps) : undefined;
  const refusals = new Map<string, { problem: InputProblem; hosts: string[] }>();
  for (const phase of runbook.phases) {
    const selected = selectPhaseHosts(phase, inventory, scopeFor, problems);
    checkSelection(phase, selected.length, inventory.file, problems);
    // `--limit`: the phase runs on the hosts it selects that the limit lets in; none, no phase.
    const limit = input.limit;
    const hosts = limit ? selected.filter((h) => inLimit(limit, h)) : selected;
    if (limit && selected.length > 0 && hosts.length === 0) continue;
    const groups = groupHosts(phase, hosts, scopeFor, problems);
    const planned: PlannedPhase = {
      id: phase.id,
      name: phase.name,
      rolling: phase.rolling,
      ...(phase.drain ? { drain: phase.drain } : {}),
      ...(phase.balancer ? { balancer: phase.balancer } : {}),
      groups,
      steps: {},
      skipped: [],
      drains: {},
    };
    for (const host of hosts) {
      if (keep && !phase.steps.some((s) => keep.has(`${phase.id}/${s.id}`))) break;
      const compiled: PlannedStep[] = [];
      for (const def of phase.steps) {
        const step = compileStep(def, phase.id, host, scopeFor(host), problems, planned.skipped, {
          ...stepOptions,
          phasePrivilege: phase.privilege,
        });
        if (step) compiled.push(step);
      }
      resolveSince(compiled, phase, problems);
      watchStartedUnits(compiled);
      let steps = compiled;
      if (keep) {
        for (const p of selectionProblems(compiled, keep, describeSelection(input.steps ?? {}))) {
          const seen = refusals.get(`${p.path}: ${p.message}`);
          if (seen) seen.hosts.push(host.name);
          else refusals.set(`${p.path}: ${p.message}`, { problem: p, hosts: [host.name] });
        }
        steps = compiled.filter((s) => keep.has(`${s.phase}/${s.stepId}`));
        // A host none of whose chosen steps run here is no host of the phase (nor drained).
        if (steps.length === 0) continue;
      }
      usedHosts.add(host.name);
      if (phase.drain) {
        try {
          const scope = scopeFor(host);
          const skip = phase.drain.skipWhen ? Boolean(evaluate(phase.drain.skipWhen, scope)) : false;
          if (!skip) {
            const config = staticValue(renderTemplate(phase.drain.config, scope));
            const drain = planDrain(phase.id, phase.drain, host.name, config, phase.loc);
            const runAs = runAsFor(host, phase.privilege);
            planned.drains[host.name] = runAs ? { ...drain, runAs } : drain;
          }
        } catch (e) {
          problems.push({
            ...phase.loc,
            path: `phases/${phase.id}/drain`,
            message: `for host ${host.name}: ${(e as Error).message}`,
            severity: 'error',
          });
        }
      }
      if (phase.balancer) {
        const planned2 = planBalancer(
          phase,
          phase.balancer,
          host,
          inventory,
          hosts,
          scopeFor,
          problems,
          stepOptions,
        );
        if (planned2) {
          planned.drains[host.name] = planned2.drain;
          if (planned2.check) balancerChecks.push(planned2.check);
          for (const b of planned2.balancers) balancerHosts.add(b);
        }
      }
      planned.steps[host.name] = steps;
    }
    if (keep) {
      planned.groups = planned.groups
        .map((g) => ({ ...g, hosts: g.hosts.filter((h) => h in planned.steps) }))
        .filter((g) => g.hosts.length > 0);
      if (planned.groups.length === 0) continue;
    }
    phases.push(planned);
  }

  // A limited run (hosts or steps) still routes a drained host's traffic to its neighbours: they stay
  // in the plan's hosts (connected, preflighted, locked), though no step of theirs runs.
  if (input.limit || keep)
    for (const phase of runbook.phases) {
      if (!phase.drain || !phases.some((p) => p.id === phase.id)) continue;
      try {
        for (const h of selectHosts(inventory, phase.drain.neighbours, (expr, host) =>
          Boolean(evaluate(expr, scopeFor(host))),
        ))
          usedHosts.add(h.name);
      } catch {
        // The selection's own problem is reported where the phase is checked.
      }
    }
  const planHosts = inventory.hosts.filter((h) => usedHosts.has(h.name) || balancerHosts.has(h.name));
  const preflight: PlannedStep[] = [];
  for (const host of planHosts) {
    if (!usedHosts.has(host.name)) continue;
    for (const def of runbook.preflight) {
      const step = compileStep(def, 'preflight', host, scopeFor(host), problems, [], stepOptions);
      if (step) preflight.push(step);
    }
  }
  preflight.push(...balancerChecks);

  const runbookDir = dirname(runbook.file);
  const localFiles = hashLocalFiles(
    [...preflight, ...phases.flatMap((p) => Object.values(p.steps).flat())],
    runbookDir,
    problems,
    input.knownFiles,
  );

  if (problems.some((p) => p.severity === 'error')) throw new InputError(problems);
  if (refusals.size > 0)
    throw new InputError(
      [...refusals.values()].map(({ problem, hosts }) => ({
        ...problem,
        message: `${problem.message} (on ${hosts.join(', ')})`,
      })),
      `Choose those steps too (add them to --only, or start --from earlier), or run the whole phase; nothing was changed on any host.`,
    );

  const plan: Omit<Plan, 'hash'> = {
    runbook: { file: runbook.file, name: runbook.name, dir: runbookDir },
    inventory: { file: inventory.file, cluster: inventory.cluster },
    params: Object.fromEntries(Object.entries(input.params).map(([k, v]) => [k, String(v)])),
    hosts: planHosts,
    preflight,
    phases,
    localFiles,
    ...(input.limit ? { limit: input.limit.text } : {}),
    ...(input.steps ? { steps: input.steps } : {}),
  };
  checkRendering(plan, problems);
  if (problems.some((p) => p.severity === 'error')) throw new InputError(problems);
  return { ...plan, hash: planHash(plan) };
}

/** How long a balancer drain may take beyond its sessions' time: the API calls and the checks. */
const BALANCER_SLACK_MS = 60_000;

/**
 * A host's drain at the balancers in front (`balancer:`), planned as its drain step
 * (`haproxy.drain` or `balancer.commands`, complete: nothing is chosen at run time) plus, for
 * HAProxy, a read-only preflight check that each balancer answers and knows the server.
 */
function planBalancer(
  phase: PhaseDef,
  spec: BalancerSpec,
  host: Host,
  inventory: Inventory,
  phaseHosts: readonly Host[],
  scopeFor: (h: Host) => TemplateScope,
  problems: InputProblem[],
  stepOptions: { safePrograms: readonly string[]; dir: string },
): { drain: PlannedDrainStep; check?: PlannedStep; balancers: string[] } | undefined {
  const where = `phases/${phase.id}/balancer`;
  const fail = (message: string) => {
    problems.push({
      ...phase.loc,
      path: where,
      message: `for host ${host.name}: ${message}`,
      severity: 'error',
    });
    return undefined;
  };
  let balancers: Host[];
  try {
    if (spec.skipWhen && evaluate(spec.skipWhen, scopeFor(host))) return undefined;
    balancers = selectHosts(inventory, spec.hosts, (expr, h) => Boolean(evaluate(expr, scopeFor(h))));
  } catch (e) {
    return fail((e as Error).message);
  }
  if (balancers.length === 0)
    return fail('`balancer.hosts` selects no host of the inventory: which balancers are in front?');
  const upgraded = balancers.find((b) => phaseHosts.some((h) => h.name === b.name));
  if (upgraded)
    return fail(
      `${upgraded.name} is a balancer and a host of this phase: a balancer is never upgraded by the phase it drains for`,
    );
  const names = balancers.map((b) => b.name);
  const params: Record<string, unknown> = {
    balancers: names,
    ...(spec.haproxy ?? spec.nginx ?? spec.commands),
  };
  const kind = spec.haproxy ? 'haproxy.drain' : spec.nginx ? 'nginx.upstream' : 'balancer.commands';
  const base = {
    retries: 0,
    retryDelayMs: 0,
    loc: phase.loc,
    timeoutMs: spec.drainTimeoutMs + BALANCER_SLACK_MS,
  };
  const options = { ...stepOptions, phasePrivilege: phase.privilege };
  const drain = compileStep(
    { id: 'drain', kind, params, ...base },
    phase.id,
    host,
    scopeFor(host),
    problems,
    [],
    options,
  );
  if (!drain) return undefined;
  const check = spec.haproxy
    ? compileStep(
        { id: `balancer-${phase.id}`, kind: 'haproxy.check', params, ...base, timeoutMs: BALANCER_SLACK_MS },
        'preflight',
        host,
        scopeFor(host),
        problems,
        [],
        options,
      )
    : undefined;
  return {
    drain: { ...drain, role: 'drain', name: `take ${host.name} out of rotation at ${names.join(', ')}` },
    ...(check ? { check } : {}),
    balancers: names,
  };
}

/** The template scope for one host (and, inside a drain, its neighbour). */
export function templateScope(input: CompileInput, host: Host, neighbour?: Host): TemplateScope {
  return {
    params: input.params,
    vars: input.runbook.vars,
    secrets: input.secrets,
    host,
    ...(neighbour ? { neighbour } : {}),
  };
}

function selectPhaseHosts(
  phase: PhaseDef,
  inventory: Inventory,
  scopeFor: (h: Host) => TemplateScope,
  problems: InputProblem[],
): Host[] {
  try {
    return selectHosts(inventory, phase.hosts, (expr, host) => Boolean(evaluate(expr, scopeFor(host))));
  } catch (e) {
    problems.push({
      ...phase.loc,
      path: `phases/${phase.id}/hosts`,
      message: (e as Error).message,
      severity: 'error',
    });
    return [];
  }
}

/** A phase that selects no host, or a canary or failure budget larger than its hosts, cannot mean what it says. */
function checkSelection(
  phase: PhaseDef,
  hosts: number,
  inventoryFile: string,
  problems: InputProblem[],
): void {
  const problem = (path: string, message: string) =>
    problems.push({ ...phase.loc, path: `phases/${phase.id}/${path}`, message, severity: 'error' });
  if (hosts === 0 && !problems.some((p) => p.path === `phases/${phase.id}/hosts`)) {
    problem(
      'hosts',
      `selects no host of ${inventoryFile}; check the roles, names and where: of the selection`,
    );
    return;
  }
  const { canary, failureBudget } = phase.rolling;
  if (canary && canary.hosts > hosts)
    problem(
      'rolling/canary/hosts',
      `is ${canary.hosts}, but the phase has ${hosts} host(s): the canary would be the whole phase`,
    );
  if (failureBudget > hosts)
    problem(
      'rolling/failure_budget',
      `is ${failureBudget}, but the phase has ${hosts} host(s); at most ${hosts} can fail`,
    );
}

function groupHosts(
  phase: PhaseDef,
  hosts: Host[],
  scopeFor: (h: Host) => TemplateScope,
  problems: InputProblem[],
): HostGroup[] {
  const groupBy = phase.rolling.groupBy;
  if (!groupBy) return hosts.length ? [{ key: 'all', hosts: hosts.map((h) => h.name) }] : [];
  const groups = new Map<string, string[]>();
  for (const host of hosts) {
    let key: string;
    try {
      key = String(evaluate(groupBy, scopeFor(host)));
    } catch (e) {
      problems.push({
        ...phase.loc,
        path: `phases/${phase.id}/rolling/group_by`,
        message: (e as Error).message,
        severity: 'error',
      });
      key = '?';
    }
    groups.set(key, [...(groups.get(key) ?? []), host.name]);
  }
  return [...groups].map(([key, names]) => ({ key, hosts: names }));
}

function compileStep(
  def: StepDef,
  phaseId: string,
  host: Host,
  scope: TemplateScope,
  problems: InputProblem[],
  skipped: PlannedPhase['skipped'],
  options: { safePrograms: readonly string[]; dir: string; phasePrivilege?: Privilege | undefined },
): PlannedStep | undefined {
  const where = `${phaseId}/${def.id}@${host.name}`;
  const kind = stepKinds.get(def.kind) as StepKind<unknown> | undefined;
  if (!kind) {
    problems.push({ ...def.loc, path: where, message: `unknown step kind "${def.kind}"`, severity: 'error' });
    return undefined;
  }
  if (def.when) {
    let ok: boolean;
    try {
      ok = Boolean(evaluate(def.when, scope));
    } catch (e) {
      problems.push({ ...def.loc, path: `${where}/when`, message: (e as Error).message, severity: 'error' });
      return undefined;
    }
    if (!ok) {
      skipped.push({ stepId: def.id, host: host.name, when: def.when });
      return undefined;
    }
  }
  let params: unknown;
  try {
    const rendered = renderParams(def.params, scope) as Record<string, unknown>;
    params = kind.params.parse(normaliseRendered(kind, rendered, options.safePrograms));
    confineLocalFiles(kind, params, def.params, scope, options.dir);
  } catch (e) {
    const message =
      e instanceof z.ZodError
        ? e.issues.map((i) => `${[def.kind, ...i.path.map(String)].join('/')}: ${i.message}`).join('; ')
        : (e as Error).message;
    problems.push({
      ...def.loc,
      path: where,
      message: `for host ${host.name}: ${message}`,
      severity: 'error',
    });
    return undefined;
  }
  return {
    id: where,
    phase: phaseId,
    stepId: def.id,
    host: host.name,
    kind: def.kind,
    name: def.name ?? def.id,
    params,
    timeoutMs: def.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retries: def.retries,
    retryDelayMs: def.retryDelayMs,
    loc: def.loc,
    ...(def.source ? { source: def.source } : {}),
    ...runAsField(runAsFor(host, options.phasePrivilege, def.privilege)),
  };
}

/**
 * Whom sudo runs a step as on a host, or undefined for the login user: the step's own setting,
 * else the phase's, else the host's inventory `become`. At each level `become: false` means the
 * login user, and `become_user` alone turns become on. Example:
 * runAsFor({ become: { user: 'root', method: 'sudo' } } as Host, undefined, { become: false }) -> undefined.
 */
export function runAsFor(
  host: Pick<Host, 'become'>,
  ...levels: (Privilege | undefined)[]
): string | undefined {
  // The most specific level first: the step, then the phase.
  const specific = [...levels].reverse().filter((l): l is Privilege => l !== undefined);
  const decided = specific.find((l) => l.become !== undefined || l.user !== undefined);
  const on = decided ? (decided.become ?? true) : host.become !== undefined;
  if (!on) return undefined;
  return specific.find((l) => l.user !== undefined)?.user ?? host.become?.user ?? 'root';
}

function runAsField(runAs: string | undefined): { runAs?: string } {
  return runAs ? { runAs } : {};
}

/**
 * Template expansion keeps provenance (`Expanded`) so scripts can quote expanded values. Every
 * other field gets plain strings back, or a Word when it holds a secret or a host date.
 */
function normaliseRendered(
  kind: StepKind<unknown>,
  params: Record<string, unknown>,
  safePrograms: readonly string[] = [],
): Record<string, unknown> {
  const scripts = scriptFields(kind);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!scripts.has(key)) out[key] = flatten(value);
    // A script carries the programs the author vouches for to the scanner (see script() in src/shell).
    else out[key] = value instanceof TemplatedWord ? new TemplatedWord(value.parts, safePrograms) : value;
  }
  return out;
}

function flatten(value: unknown): unknown {
  if (value instanceof TemplatedWord || value instanceof Expanded) {
    const word = concat(...partsOf(value as Word));
    return word;
  }
  if (Array.isArray(value)) return value.map(flatten);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flatten(v)]));
  }
  return value;
}

function scriptFields(kind: StepKind<unknown>): Set<string> {
  const fields = new Set<string>();
  const shape = (kind.params as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return fields;
  for (const [key, schema] of Object.entries(shape)) if (isScript(unwrap(schema))) fields.add(key);
  return fields;
}

/** `scriptText` itself or a copy of it (`.describe()` clones a schema and links the original as its parent). */
function isScript(schema: z.ZodType): boolean {
  let s: { _zod: { parent?: unknown } } | undefined = schema as unknown as { _zod: { parent?: unknown } };
  while (s) {
    if ((s as unknown) === scriptText) return true;
    s = s._zod.parent as typeof s;
  }
  return false;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } };
  while (['optional', 'default', 'nullable', 'prefault'].includes(s._zod.def.type) && s._zod.def.innerType) {
    s = s._zod.def.innerType as unknown as typeof s;
  }
  return s as unknown as z.ZodType;
}

/**
 * A wait that follows a `service.start`/`service.restart` (its `since` step, or the step before it)
 * watches that unit unless it names its own `watch`: a unit that fails while the wait runs ends it
 * at once. Shown in the plan as "watching unit …".
 */
function watchStartedUnits(steps: PlannedStep[]): void {
  steps.forEach((step, i) => {
    if (step.kind !== 'wait.log' && step.kind !== 'wait.http') return;
    const params = step.params as { watch?: unknown };
    if (params.watch !== undefined) return;
    const trigger =
      step.kind === 'wait.log'
        ? steps.find((s) => s.id === step.since)
        : steps
            .slice(0, i)
            .reverse()
            .find((s) => !s.kind.startsWith('wait.') && s.kind !== 'gate.confirm');
    if (trigger?.kind !== 'service.start' && trigger?.kind !== 'service.restart') return;
    const unit = (trigger.params as { unit: unknown }).unit;
    step.params = { ...(step.params as object), watch: { unit } };
  });
}

/** `wait.log` lines count from a mark taken before the step they follow (explicit `since`, else the previous acting step). */
function resolveSince(steps: PlannedStep[], phase: PhaseDef, problems: InputProblem[]): void {
  steps.forEach((step, i) => {
    if (step.kind !== 'wait.log') return;
    const wanted = (step.params as { since?: string }).since;
    if (wanted) {
      const target = steps.find((s) => s.stepId === wanted);
      if (!target || steps.indexOf(target) > i) {
        problems.push({
          ...step.loc,
          path: step.id,
          message: `since: "${wanted}" must name an earlier step of phase ${phase.id} that runs on ${step.host}`,
          severity: 'error',
        });
        return;
      }
      step.since = target.id;
      return;
    }
    for (let j = i - 1; j >= 0; j--) {
      const prev = steps[j] as PlannedStep;
      if (!prev.kind.startsWith('wait.') && prev.kind !== 'gate.confirm') {
        step.since = prev.id;
        return;
      }
    }
    step.since = step.id;
  });
}

/** sha256 over the canonical JSON of the plan (Words and Secrets serialise to their display form). */
export function planHash(plan: Omit<Plan, 'hash'>): string {
  const canonical = {
    runbook: plan.runbook.name,
    cluster: plan.inventory.cluster,
    params: plan.params,
    hosts: plan.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: h.port,
      user: h.user,
      roles: h.roles,
    })),
    preflight: plan.preflight.map(stepKey),
    phases: plan.phases.map((p) => ({
      id: p.id,
      rolling: p.rolling,
      drain: p.drain ?? null,
      // The drain's rendered nginx file per host (the rest of it is \`drain\` above).
      drainConfig: Object.fromEntries(
        Object.entries(p.drains).map(([host, d]) => [host, d.drain?.config ?? stepKey(d)]),
      ),
      groups: p.groups,
      steps: Object.fromEntries(Object.entries(p.steps).map(([h, s]) => [h, s.map(stepKey)])),
    })),
    files: Object.values(plan.localFiles).sort(),
  };
  return createHash('sha256').update(stableStringify(canonical)).digest('hex');
}

function stepKey(s: PlannedStep): unknown {
  return {
    id: s.id,
    kind: s.kind,
    params: s.params,
    timeoutMs: s.timeoutMs,
    retries: s.retries,
    since: s.since ?? null,
    // Only when set, so plans without become keep the hash they had before become existed.
    ...(s.runAs ? { runAs: s.runAs } : {}),
  };
}

/** JSON with object keys sorted (the form the plan hash is taken over). Example: `stableStringify({ b: 1, a: 2 })` -> `{"a":2,"b":1}`. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}
