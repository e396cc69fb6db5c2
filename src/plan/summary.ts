/**
 * The plan a person reads in a minute (`cutover plan`): phases, host order, a step × host table
 * where hosts share steps, and per step one line of intent — what it changes, its probe and its
 * undo, in words. Every exact command stays one flag away (`plan -v`: render.ts; `plan --json`).
 */
import { stepKinds } from '../steps/index.js';
import { isReadOnly, type StepKind } from '../steps/kind.js';
import { planHeader, policyText, type RenderOptions, stepContext } from './render.js';
import type { Plan, PlannedPhase, PlannedStep } from './types.js';

/** The summary text. Example first line: `Plan 1a2b3c4d5e6f — runbook upgrade, cluster lab`. */
export function renderPlanSummary(plan: Plan, opts: RenderOptions = {}): string {
  const out = planHeader(plan, opts);
  const steps = plan.phases.reduce((n, p) => n + Object.values(p.steps).flat().length, 0);
  const working = new Set(plan.phases.flatMap((p) => Object.keys(p.steps))).size;
  const others = plan.hosts.length - working;
  out.push(
    `${steps} steps on ${working} host${working === 1 ? '' : 's'}${others > 0 ? ` (+${others} only as drain neighbours or balancers)` : ''} in ${plan.phases.length} phase${plan.phases.length === 1 ? '' : 's'}. Every command: \`cutover plan -v\`; the data: \`cutover plan --json\`.`,
  );
  if (plan.preflight.length) {
    const ids = [...new Set(plan.preflight.map((s) => s.stepId))];
    out.push('', `Preflight (read-only, on every host, before anything changes): ${ids.join(', ')}`);
  }
  for (const phase of plan.phases) out.push('', ...summarisePhase(plan, phase, opts));
  return `${out.join('\n')}\n`;
}

function summarisePhase(plan: Plan, phase: PlannedPhase, opts: RenderOptions): string[] {
  const out = [`Phase ${phase.id}: ${phase.name}`, `  rolling: ${policyText(phase)}`];
  const hosts = phase.groups.flatMap((g) => g.hosts);
  if (phase.groups.length > 1)
    out.push(
      `  ${phase.groups.length} groups run in parallel (by ${phase.rolling.groupBy}): ${phase.groups.map((g) => `${g.key} [${g.hosts.join(' -> ')}]`).join('; ')}`,
    );
  else out.push(`  order: ${hosts.join(' -> ')}`);
  const firstAtBalancer = Object.values(phase.drains).find((d) => !d.drain);
  if (phase.balancer && firstAtBalancer) {
    const b = phase.balancer;
    out.push(
      `  balancer: before its steps each host is taken out of rotation at the balancers in front (at most ${b.maxDrained} at once), back in after them: ${intentLine(plan, firstAtBalancer)}${b.skipWhen ? `; none when ${b.skipWhen}` : ''}`,
    );
  }
  if (phase.drain) {
    const d = phase.drain;
    out.push(
      `  drain: before its steps each host's ${d.locations.join(', ')} go to a healthy neighbour (chosen at run time, at most ${d.maxDrained} drained at once); restored byte-identical after them${d.skipWhen ? `; none when ${d.skipWhen}` : ''}`,
    );
  }
  // The phase's steps in runbook order, as the hosts have them (a `when` may leave some out).
  const order: string[] = [];
  for (const h of hosts)
    for (const s of phase.steps[h] ?? []) if (!order.includes(s.stepId)) order.push(s.stepId);
  const on = (host: string, id: string) => (phase.steps[host] ?? []).find((s) => s.stepId === id);
  if (hosts.length > 1 && order.length > 0) {
    const width = Math.max(4, ...order.map((id) => id.length), phase.drain ? 5 : 0);
    const cols = hosts.map((h) => Math.max(h.length, 1));
    const row = (name: string, cells: string[]) =>
      `  ${name.padEnd(width)}  ${cells.map((c, i) => c.padEnd(cols[i] as number)).join('  ')}`.trimEnd();
    out.push('', row('step', hosts));
    if (phase.drain)
      out.push(
        row(
          'drain',
          hosts.map((h) => (phase.drains[h] ? '✓' : '·')),
        ),
      );
    for (const id of order)
      out.push(
        row(
          id,
          hosts.map((h) => (on(h, id) ? '✓' : '·')),
        ),
      );
    if (
      order.some((id) => hosts.some((h) => !on(h, id))) ||
      (phase.drain && hosts.some((h) => !phase.drains[h]))
    )
      out.push(
        `  (· not on that host: its \`when\` is false${phase.drain?.skipWhen ? ', or no drain' : ''})`,
      );
  }
  out.push('');
  for (const id of order) {
    const versions = hosts.map((h) => on(h, id)).filter((s): s is PlannedStep => s !== undefined);
    const lines = versions.map((s) => intentLine(plan, s));
    const first = lines[0] as string;
    const differ = new Set(lines).size > 1;
    const only =
      versions.length < hosts.length && hosts.length > 1
        ? ` (only ${versions.map((s) => s.host).join(', ')})`
        : '';
    out.push(`  ${id}${only}: ${first}${differ ? ` (values differ per host: \`cutover plan -v\`)` : ''}`);
    for (const line of opts.findings?.get(versions[0]?.id ?? '') ?? []) out.push(`      now: ${line}`);
  }
  for (const skip of phase.skipped)
    if (hosts.length === 1)
      out.push(`  ${skip.stepId}: skipped on ${skip.host} (when ${skip.when} is false)`);
  return out;
}

/** `service.stop: stop app (waits for the state); probe: app is stopped; undo: start it again` — one step in words. */
export function intentLine(plan: Plan, step: PlannedStep): string {
  const kind = stepKinds.get(step.kind) as StepKind<unknown>;
  const intent = kind.intent?.(step.params) ?? { does: kind.summary.split(/(?<=\.) /)[0] ?? kind.summary };
  const planned = kind.plan(step.params, stepContext(plan, step));
  const parts = [`${step.kind}: ${intent.does}`];
  if (step.name !== step.stepId) parts[0] = `${parts[0]} — ${step.name}`;
  if (planned.probe) parts.push(`probe: ${planned.probe.description}`);
  if (isReadOnly(kind, step.params)) parts.push('read-only');
  else parts.push(`undo: ${intent.undo ?? (kind.compensate ? 'yes (see -v)' : 'none')}`);
  if (step.runAs) parts.push(`as ${step.runAs} (sudo)`);
  return parts.join('; ');
}
