/**
 * A run whose runbook or inventory was edited: what changed between the plan it journaled and the
 * plan the files give now (`diffPlans`), and the plan a `resume --replan` follows (`mergePlans`):
 * the new plan for every step not done yet, the journaled step (and so its undo) for every step
 * that was done or still has an undo pending. Pure: plans in, plan out.
 */
import { isAbsolute, resolve } from 'node:path';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import { planHash, stableStringify } from './compile.js';
import type { Plan, PlannedPhase, PlannedStep } from './types.js';

/** One difference between two plans. Example: `{ phase: 'upgrade', host: 'web', step: 'stop', what: 'edited', detail: 'params.unit' }`. */
export interface PlanChange {
  phase: string;
  host?: string;
  /** The step's id in the runbook (`stop`), or `drain` for a host's traffic drain. */
  step?: string;
  /** The plan step id (`upgrade/stop@web`), to tell whether the run had done it. */
  id?: string;
  what: 'added' | 'removed' | 'edited';
  detail?: string;
}

/** Every difference between the journaled plan and the new one, per phase and host, in plan order. */
export function diffPlans(old: Plan, next: Plan): PlanChange[] {
  const changes: PlanChange[] = [];
  if (stableStringify(old.params) !== stableStringify(next.params)) {
    changes.push({ phase: '(params)', what: 'edited', detail: changedKeys(old.params, next.params) });
  }
  diffStepLists('preflight', old.preflight, next.preflight, old, next, changes);
  const oldPhases = new Map(old.phases.map((p) => [p.id, p]));
  const nextPhases = new Map(next.phases.map((p) => [p.id, p]));
  for (const phase of unionOrder(
    old.phases.map((p) => p.id),
    next.phases.map((p) => p.id),
  )) {
    const o = oldPhases.get(phase);
    const n = nextPhases.get(phase);
    if (!o || !n) {
      changes.push({ phase, what: o ? 'removed' : 'added' });
      continue;
    }
    if (stableStringify(o.rolling) !== stableStringify(n.rolling))
      changes.push({
        phase,
        what: 'edited',
        detail: `rolling: ${changedKeys({ ...o.rolling }, { ...n.rolling })}`,
      });
    const oldHosts = Object.keys(o.steps);
    const nextHosts = Object.keys(n.steps);
    for (const host of unionOrder(oldHosts, nextHosts)) {
      const before = o.steps[host];
      const after = n.steps[host];
      if (!before || !after) {
        changes.push({ phase, host, what: before ? 'removed' : 'added', detail: 'host' });
        continue;
      }
      const od = o.drains[host];
      const nd = n.drains[host];
      if (stableStringify(od?.drain ?? null) !== stableStringify(nd?.drain ?? null))
        changes.push({
          phase,
          host,
          step: 'drain',
          id: od?.id ?? nd?.id ?? `${phase}/drain@${host}`,
          what: !od ? 'added' : !nd ? 'removed' : 'edited',
        });
      diffStepLists(phase, before, after, old, next, changes, host);
    }
  }
  return changes;
}

function diffStepLists(
  phase: string,
  before: readonly PlannedStep[],
  after: readonly PlannedStep[],
  old: Plan,
  next: Plan,
  changes: PlanChange[],
  host?: string,
): void {
  const byId = (list: readonly PlannedStep[]) => new Map(list.map((s) => [s.id, s]));
  const o = byId(before);
  const n = byId(after);
  for (const id of unionOrder([...o.keys()], [...n.keys()])) {
    const a = o.get(id);
    const b = n.get(id);
    const at = { phase, ...(host ? { host } : { host: (a ?? b)?.host }), step: (a ?? b)?.stepId, id };
    if (!a || !b) changes.push({ ...at, what: a ? 'removed' : 'added' });
    else {
      const detail = stepDifference(a, old, b, next);
      if (detail) changes.push({ ...at, what: 'edited', detail });
    }
  }
}

/** What differs between two versions of one step, in words (`params.unit, timeout`), or '' when nothing does. */
function stepDifference(a: PlannedStep, old: Plan, b: PlannedStep, next: Plan): string {
  const parts: string[] = [];
  if (a.kind !== b.kind) parts.push(`kind ${a.kind} -> ${b.kind}`);
  else {
    const keys = changedKeys(a.params as Record<string, unknown>, b.params as Record<string, unknown>);
    if (keys) parts.push(`params ${keys}`);
  }
  if (a.timeoutMs !== b.timeoutMs) parts.push('timeout');
  if (a.retries !== b.retries || a.retryDelayMs !== b.retryDelayMs) parts.push('retries');
  if (a.kind === b.kind && a.since !== b.since) parts.push('since');
  const fa = filesOf(a, old);
  const fb = filesOf(b, next);
  for (const [file, sha] of Object.entries(fb))
    if (fa[file] !== undefined && fa[file] !== sha) parts.push(`content of ${file}`);
  return parts.join(', ');
}

/** The controller files a step uploads, with their sha256 in its plan. */
function filesOf(step: PlannedStep, plan: Plan): Record<string, string> {
  const kind = stepKinds.get(step.kind) as StepKind<unknown> | undefined;
  const out: Record<string, string> = {};
  for (const f of kind?.localFiles?.(step.params) ?? []) {
    const abs = isAbsolute(f) ? f : resolve(plan.runbook.dir, f);
    out[abs] = plan.localFiles[abs] ?? '';
  }
  return out;
}

function changedKeys(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): string {
  const keys = unionOrder(Object.keys(a), Object.keys(b));
  return keys.filter((k) => stableStringify(a[k] ?? null) !== stableStringify(b[k] ?? null)).join(', ');
}

/** `b`'s order, with the names only `a` has inserted after the name they followed in `a`. */
function unionOrder(a: readonly string[], b: readonly string[]): string[] {
  const out = [...b];
  for (const [i, name] of a.entries()) {
    if (out.includes(name)) continue;
    const before = a
      .slice(0, i)
      .reverse()
      .find((x) => out.includes(x));
    out.splice(before === undefined ? 0 : out.indexOf(before) + 1, 0, name);
  }
  return out;
}

/**
 * Changes as resume shows them: per phase, then per host, one line per step; a step the run had
 * done says that it stays as journaled. Example line: `  web: ~ stop-units (params unit) — done, kept as journaled`.
 */
export function describeChanges(changes: readonly PlanChange[], kept: ReadonlySet<string>): string[] {
  const mark = { added: '+', removed: '-', edited: '~' } as const;
  const out: string[] = [];
  const phases = [...new Set(changes.map((c) => c.phase))];
  for (const phase of phases) {
    const mine = changes.filter((c) => c.phase === phase);
    const whole = mine.find((c) => !c.host && !c.step);
    if (whole && whole.what !== 'edited') {
      out.push(`phase ${phase}: ${whole.what}`);
      continue;
    }
    out.push(phase === '(params)' ? 'params:' : `phase ${phase}:`);
    if (whole) out.push(`  ${whole.detail}`);
    const hosts = [...new Set(mine.filter((c) => c.host).map((c) => c.host as string))];
    for (const host of hosts) {
      const items = mine
        .filter((c) => c.host === host)
        .map((c) => {
          if (!c.step) return `host ${c.what}`;
          const done = c.id && kept.has(c.id) ? ' (done: kept as journaled, with its undo)' : '';
          return `${mark[c.what]} ${c.step}${c.detail ? ` (${c.detail})` : ''}${done}`;
        });
      out.push(`  ${host}: ${items.join('; ')}`);
    }
  }
  return out;
}

/**
 * The plan a replanned run follows: `next` for everything not done; the journaled version of every
 * `kept` step (done, or with an undo pending), also where `next` dropped it, so its undo stays
 * exactly as journaled. Hosts and phases only `old` has come along when they hold a kept step.
 */
export function mergePlans(old: Plan, next: Plan, kept: ReadonlySet<string>): Plan {
  const oldPhases = new Map(old.phases.map((p) => [p.id, p]));
  const nextPhases = new Map(next.phases.map((p) => [p.id, p]));
  const keeps = (p: PlannedPhase) =>
    Object.values(p.steps).some((list) => list.some((s) => kept.has(s.id))) ||
    Object.values(p.drains).some((d) => kept.has(d.id));
  const order = unionOrder(
    old.phases.filter(keeps).map((p) => p.id),
    next.phases.map((p) => p.id),
  );
  const phases = order.map((id) => {
    const o = oldPhases.get(id);
    const n = nextPhases.get(id);
    if (!o) return n as PlannedPhase;
    return mergePhase(o, n, kept);
  });
  const nextHosts = new Set(next.hosts.map((h) => h.name));
  const used = new Set(phases.flatMap((p) => p.groups.flatMap((g) => g.hosts)));
  const hosts = [...next.hosts, ...old.hosts.filter((h) => !nextHosts.has(h.name) && used.has(h.name))];
  const merged: Omit<Plan, 'hash'> = {
    runbook: next.runbook,
    inventory: next.inventory,
    params: next.params,
    hosts,
    preflight: next.preflight,
    phases,
    localFiles: { ...old.localFiles, ...next.localFiles },
  };
  return { ...merged, hash: planHash(merged) };
}

function mergePhase(o: PlannedPhase, n: PlannedPhase | undefined, kept: ReadonlySet<string>): PlannedPhase {
  const base: PlannedPhase = n ?? { ...o, steps: {}, skipped: [], drains: {}, groups: [] };
  const steps: Record<string, PlannedStep[]> = {};
  const extraHosts: string[] = [];
  for (const host of unionOrder(Object.keys(o.steps), Object.keys(base.steps))) {
    const before = o.steps[host] ?? [];
    const hasKept = before.some((s) => kept.has(s.id)) || kept.has(o.drains[host]?.id ?? '');
    if (!(host in base.steps)) {
      if (!hasKept) continue;
      extraHosts.push(host);
    }
    steps[host] = mergeSteps(before, base.steps[host] ?? [], kept);
  }
  const drains = { ...base.drains };
  for (const [host, d] of Object.entries(o.drains)) if (kept.has(d.id)) drains[host] = d;
  const groups = base.groups.map((g) => ({ ...g, hosts: [...g.hosts] }));
  if (extraHosts.length) {
    // Their steps are all done: they only need a place in the phase for resume and rollback to see them.
    const last = groups[groups.length - 1];
    if (last) last.hosts.push(...extraHosts);
    else groups.push({ key: 'all', hosts: extraHosts });
  }
  return { ...base, steps, drains, groups };
}

/** `next` with every kept step in its journaled version; kept steps `next` dropped go after the step they followed. */
function mergeSteps(
  before: readonly PlannedStep[],
  next: readonly PlannedStep[],
  kept: ReadonlySet<string>,
): PlannedStep[] {
  const old = new Map(before.map((s) => [s.id, s]));
  const out = next.map((s) => (kept.has(s.id) ? (old.get(s.id) ?? s) : s));
  for (const [i, s] of before.entries()) {
    if (!kept.has(s.id) || out.some((x) => x.id === s.id)) continue;
    const prev = before
      .slice(0, i)
      .reverse()
      .find((x) => out.some((y) => y.id === x.id));
    const at = prev ? out.findIndex((y) => y.id === prev.id) + 1 : 0;
    out.splice(at, 0, s);
  }
  return out;
}
