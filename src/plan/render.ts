import { describeSelection } from './select.js';
import { formatDuration } from '../shared/duration.js';
import { statusList } from '../shared/format.js';
import { quote } from '../shell/quote.js';
import { stepKinds } from '../steps/index.js';
import type { Action, StepContext, StepKind, TextOp } from '../steps/kind.js';
import { type Plan, type PlannedPhase, type PlannedStep, sinceOf } from './types.js';

/** Placeholder run folder shown in plans (the real one is named after the run id). */
export const PLAN_RUN_DIR = '/var/tmp/cutover/<run>';

/**
 * Outputs recorded at run time, shown by name in the plan (`<dest recorded at run time>`),
 * so a compensation can be displayed before the run.
 */
export const recordedOutputs: Readonly<Record<string, string>> = new Proxy(
  {},
  {
    get: (_t, key) => (typeof key === 'string' ? `<${key} recorded at run time>` : undefined),
    has: () => true,
  },
);

export function stepContext(plan: Plan, step: PlannedStep, runDir = PLAN_RUN_DIR): StepContext {
  const host = plan.hosts.find((h) => h.name === step.host);
  return {
    host: { name: step.host, address: host?.address ?? '', roles: host?.roles ?? [], vars: host?.vars ?? {} },
    runDir,
    controllerDir: plan.runbook.dir,
    stepId: step.id.replace(/[^A-Za-z0-9_.-]/g, '_'),
    localSha256: plan.localFiles,
    ...sinceOf(plan, step),
  };
}

/** One line per action, as `plan` shows it; secrets are redacted by the Command printer. */
export function describeAction(a: Action): string {
  const on =
    (a.type === 'exec' || a.type === 'wait' || a.type === 'edit') && a.on !== undefined ? `on ${a.on}: ` : '';
  return on + describeOne(a);
}

function describeOne(a: Action): string {
  switch (a.type) {
    case 'exec':
      return `$ ${String(a.cmd)}${a.okCodes && a.okCodes.join() !== '0' ? `   (ok exit: ${a.okCodes.join(', ')})` : ''}`;
    case 'put':
      return `put ${a.localPath} -> ${quote(a.remotePath, 'display')}${a.mode ? ` (mode ${a.mode})` : ''}, sha256 verified on the host`;
    case 'edit':
      return `edit ${quote(a.path, 'display')}: ${describeEdit(a.spec)}; original kept at ${a.backupPath}${a.validate ? `; then $ ${String(a.validate)} (restore on failure)` : ''}`;
    case 'wait': {
      const c = a.condition;
      if (c.kind === 'log') {
        return `wait for /${c.pattern}/ in ${quote(c.path, 'display')}, only lines written after ${c.since} started${c.failPatterns.length ? `; fail at once on ${c.failPatterns.map((p) => `/${p}/`).join(', ')}` : ''}${c.guard ? `; ${c.guard.description} (fail at once if it dies)` : ''}`;
      }
      if (c.kind === 'http')
        return `wait for ${c.request.method} ${c.request.url} -> ${statusList(c.expectStatus)}${c.bodyPattern ? ` with /${c.bodyPattern}/` : ''}${c.guard ? `; ${c.guard.description} (fail at once if it dies)` : ''}`;
      return `wait until $ ${String(c.cmd)}${c.stdoutPattern !== undefined ? ` prints /${c.stdoutPattern}/${c.anyExit ? ' (any exit status)' : ' and exits 0'}` : ''}   (${c.description})`;
    }
    case 'http':
      return `${a.request.method} ${a.request.url} from the controller, expect ${statusList(a.expectStatus)}`;
    case 'confirm':
      return `gate: "${a.message}" (an operator must approve)`;
  }
}

function describeEdit(spec: Extract<Action, { type: 'edit' }>['spec']): string {
  if (spec.editor === 'nginx') return `route location ${spec.locations.join(', ')} to ${spec.upstream}`;
  if (spec.editor === 'nginx-upstream')
    return `${spec.down ? 'mark' : 'unmark'} server ${spec.server} of upstream ${spec.upstream} down`;
  if (spec.editor === 'text') return spec.ops.map(describeTextOp).join(', ');
  return spec.ops
    .map((op) => (op.op === 'set' ? `set ${op.key} = ${JSON.stringify(op.value)}` : `delete ${op.key}`))
    .join(', ');
}

function describeTextOp(op: TextOp): string {
  switch (op.op) {
    case 'replace':
      return `replace /${op.pattern}/ with ${JSON.stringify(op.with)} on ${op.all ? 'every match of' : 'the first match in'} each line${op.allowNoMatch ? ' (no match allowed)' : ' (fails if no line matches)'}`;
    case 'delete':
      return `delete every line matching /${op.pattern}/${op.allowNoMatch ? ' (no match allowed)' : ' (fails if no line matches)'}`;
    case 'set':
      return `set ${op.section ? `[${op.section}] ` : ''}${op.key}=${op.value} (${op.format})`;
    case 'xml':
      return `set ${op.attribute}="${op.value}" on ${op.element}`;
  }
}

/** The text `cutover plan` prints: per phase, per host in execution order, every command. */
/** Options of the plan view. `findings` (from `plan --probe`) are shown under each step id. */
export interface RenderOptions {
  compensations?: boolean;
  findings?: ReadonlyMap<string, readonly string[]>;
  /**
   * Where ssh will connect each host, as resolved by the CLI with `ssh -G` (e.g.
   * `deploy@10.0.0.10:2222 (user, port from ~/.ssh/config)`); shown under `hosts:`.
   */
  connections?: ReadonlyMap<string, string>;
}

export function renderPlan(plan: Plan, opts: RenderOptions = {}): string {
  const out = planHeader(plan, opts);
  if (plan.preflight.length) {
    out.push('', 'Preflight (read-only, on every host, before anything changes):');
    for (const s of plan.preflight) out.push(...renderStep(plan, s, '  ', { ...opts, compensations: false }));
  }
  for (const phase of plan.phases) out.push('', ...renderPhase(plan, phase, opts));
  return `${out.join('\n')}\n`;
}

/** The lines both plan views start with: hash, runbook, cluster, params, hosts and where ssh connects. */
export function planHeader(plan: Plan, opts: RenderOptions): string[] {
  const out: string[] = [];
  out.push(
    `Plan ${plan.hash.slice(0, 12)} — runbook ${plan.runbook.name}, cluster ${plan.inventory.cluster}`,
  );
  const params = Object.entries(plan.params);
  if (params.length) out.push(`params: ${params.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (plan.steps)
    out.push(
      `steps: ${describeSelection(plan.steps)} (only these runbook steps; preflight and each host's drain still run)`,
    );
  if (plan.limit) out.push(`limit: ${plan.limit} (only these hosts; a phase with none of them is left out)`);
  out.push(
    `hosts: ${plan.hosts.map((h) => `${h.name} (${h.address}${h.roles.length ? `, ${h.roles.join('/')}` : ''})`).join(', ')}`,
  );
  if (opts.connections?.size) {
    out.push('connections (what ssh will use):');
    for (const h of plan.hosts) {
      const c = opts.connections.get(h.name);
      out.push(`  ${h.name} -> ${c ?? (h.transport === 'local' ? 'the controller itself (local)' : '?')}`);
    }
  }
  return out;
}

/** A phase's rolling policy in words. Example: `serial 1, max unavailable 1 per group, failure budget 0`. */
export function policyText(phase: PlannedPhase): string {
  const r = phase.rolling;
  const policy = [
    r.window !== undefined
      ? `window ${r.window} (the next host starts as one is done)`
      : `serial ${r.serial}`,
    r.maxUnavailable !== undefined
      ? `max unavailable ${r.maxUnavailable}`
      : `max unavailable ${r.serial} per group`,
    `failure budget ${r.failureBudget}`,
  ];
  if (r.canary)
    policy.push(
      `canary ${r.canary.hosts}${r.canary.pauseMs ? ` then pause ${formatDuration(r.canary.pauseMs)}` : ''}${r.canary.confirm ? ' then confirm' : ''}`,
    );
  return policy.join(', ');
}

function renderPhase(plan: Plan, phase: PlannedPhase, opts: RenderOptions): string[] {
  const r = phase.rolling;
  const out = [`Phase ${phase.id}: ${phase.name}`];
  out.push(`  rolling: ${policyText(phase)}`);
  if (phase.groups.length > 1) {
    out.push(
      `  ${phase.groups.length} groups run in parallel (by ${r.groupBy}): ${phase.groups.map((g) => `${g.key} [${g.hosts.join(' -> ')}]`).join('; ')}`,
    );
  } else if (phase.groups[0]) {
    out.push(`  order: ${phase.groups[0].hosts.join(' -> ')}`);
  }
  if (phase.drain) {
    const d = phase.drain;
    out.push(
      `  drain: before its steps, each host's nginx routes ${d.locations.join(', ')} to ${d.upstream} for a healthy neighbour among ${[...(d.neighbours.roles ?? []), ...(d.neighbours.hosts ?? [])].join(', ')} (chosen at run time: not drained, not being upgraded${d.health ? `, ${d.health.url} answering ${d.health.expectStatus.join('/')}` : ''}); at most ${d.maxDrained} drained at once; restored byte-identical after the host's steps${d.skipWhen ? `; no drain when ${d.skipWhen}` : ''}`,
    );
  }
  for (const group of phase.groups) {
    for (const host of group.hosts) {
      out.push(`  ${host}:`);
      const atBalancer = phase.drains[host];
      if (phase.balancer)
        out.push(
          atBalancer
            ? renderStep(plan, atBalancer, '    ', opts).join('\n')
            : `    - taken out of rotation: no (${phase.balancer.skipWhen ?? 'skip_when'} holds)`,
        );
      if (phase.drain) {
        const config = phase.drains[host]?.drain?.config;
        out.push(
          config
            ? `    - drain: route ${phase.drain.locations.join(', ')} in ${config} to a healthy neighbour (chosen at run time), nginx -t, reload; restored byte-identical after the last step`
            : `    - no drain (${phase.drain.skipWhen ?? 'skip_when'} holds)`,
        );
      }
      for (const s of phase.steps[host] ?? []) out.push(...renderStep(plan, s, '    ', opts));
      for (const skip of phase.skipped.filter((k) => k.host === host))
        out.push(`    - ${skip.stepId}: skipped on ${host} (when ${skip.when} is false)`);
    }
  }
  return out;
}

function renderStep(plan: Plan, step: PlannedStep, indent: string, opts: RenderOptions): string[] {
  const kind = stepKinds.get(step.kind) as StepKind<unknown>;
  const ctx = stepContext(plan, step);
  const planned = kind.plan(step.params, ctx);
  const extras = [
    step.timeoutMs !== 600_000 ? `timeout ${formatDuration(step.timeoutMs)}` : '',
    step.retries ? `retries ${step.retries}` : '',
    step.runAs ? `as ${step.runAs} through sudo` : '',
  ].filter(Boolean);
  const out = [
    `${indent}- ${step.stepId} [${step.kind}]${step.name !== step.stepId ? ` ${step.name}` : ''}${extras.length ? ` (${extras.join(', ')})` : ''}`,
  ];
  for (const a of planned.actions) out.push(`${indent}    ${describeAction(a)}`);
  if (planned.unpredictable) out.push(`${indent}    effect not predictable: ${planned.unpredictable}`);
  if (planned.probe)
    out.push(`${indent}    probe: $ ${String(planned.probe.cmd)}   (${planned.probe.description})`);
  for (const line of opts.findings?.get(step.id) ?? []) out.push(`${indent}    now: ${line}`);
  if ((opts.compensations ?? true) && kind.compensate) {
    const undo = kind.compensate(step.params, recordedOutputs, ctx);
    for (const a of undo) out.push(`${indent}    undo: ${describeAction(a)}`);
  }
  return out;
}
