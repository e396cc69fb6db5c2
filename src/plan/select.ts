/**
 * `--only STEP…` / `--from STEP`: run some of a runbook's steps. Names are resolved against the
 * runbook (`phase/step`, a step id alone when one phase has it, `phase/*` or a phase id for a whole
 * phase); then, per host, a selection that would break what a kept step relies on is refused:
 *
 * - a `wait.log` counts lines written after its `since` step: that step must run too;
 * - a step with no undo of its own (`archive.extract`, `shell.run` without `undo:`) is reversible
 *   only through a `backup.copy` before it on that host (of the path it writes, or of anything
 *   when cutover cannot tell what it writes): that backup must run too;
 * - a traffic drain is no step to choose: it runs around each host's kept steps.
 *
 * Pure: compile calls it; the CLI only passes the flags. Example:
 * `selectSteps(runbook, { from: 'upgrade/backup' })` -> `Set { 'upgrade/backup', 'upgrade/extract', … }`.
 */
import { type InputProblem, UsageError } from '../errors.js';
import type { Runbook } from '../runbook/model.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import { isReadOnly } from '../steps/kind.js';
import type { PlannedStep } from './types.js';

/** The step flags as given. Example: `{ only: ['upgrade/backup', 'extract'] }`, `{ from: 'start-tomcat' }`. */
export interface StepSelection {
  only?: string[];
  from?: string;
}

/** The selection in words, for the plan header and messages. Example: `'--only upgrade/backup, upgrade/extract'`. */
export function describeSelection(s: StepSelection): string {
  return s.from !== undefined ? `--from ${s.from}` : `--only ${(s.only ?? []).join(', ')}`;
}

/** `phase/step` for a runbook step. */
function key(phase: string, step: string): string {
  return `${phase}/${step}`;
}

/**
 * The runbook steps a selection keeps, as `phase/step` keys. A name that names nothing, names steps
 * of several phases, or names a drain or a preflight check is a usage error listing what it could be.
 */
export function selectSteps(runbook: Runbook, sel: StepSelection): Set<string> {
  if (sel.only !== undefined && sel.from !== undefined)
    throw new UsageError(
      '--only and --from together: choose one',
      'Use --only to list the steps to run, or --from to run one step and every step after it.',
    );
  const ordered = runbook.phases.flatMap((p) => p.steps.map((s) => key(p.id, s.id)));
  if (sel.from !== undefined) {
    const [first] = resolveName(runbook, sel.from, '--from');
    return new Set(ordered.slice(ordered.indexOf(first as string)));
  }
  const names = (sel.only ?? []).flatMap((n) => n.split(',')).map((n) => n.trim());
  if (names.filter(Boolean).length === 0)
    throw new UsageError(
      '--only names no step',
      `Name runbook steps, e.g. --only ${ordered[0] ?? 'phase/step'}`,
    );
  return new Set(names.filter(Boolean).flatMap((n) => resolveName(runbook, n, '--only')));
}

/** The runbook steps one name stands for, in runbook order. */
function resolveName(runbook: Runbook, name: string, flag: string): string[] {
  const all = runbook.phases.flatMap((p) => p.steps.map((s) => key(p.id, s.id)));
  const hint = `Steps of ${runbook.name}: ${all.join(', ')} (phase/step; a step id alone when one phase has it; phase/* for a whole phase).`;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const phaseId = name.slice(0, slash);
    const stepId = name.slice(slash + 1);
    const phase = runbook.phases.find((p) => p.id === phaseId);
    if (!phase) throw new UsageError(`${flag} ${name}: the runbook has no phase "${phaseId}"`, hint);
    if (stepId === '*' || stepId === '') {
      if (phase.steps.length === 0)
        throw new UsageError(`${flag} ${name}: phase ${phaseId} has no steps`, hint);
      return phase.steps.map((s) => key(phase.id, s.id));
    }
    if (phase.steps.some((s) => s.id === stepId)) return [key(phaseId, stepId)];
    if (stepId === 'drain' && (phase.drain || phase.balancer)) throw drainRefusal(flag, name, phaseId);
    throw new UsageError(`${flag} ${name}: phase ${phaseId} has no step "${stepId}"`, hint);
  }
  const phases = runbook.phases.filter((p) => p.steps.some((s) => s.id === name));
  if (phases.length === 1) return [key((phases[0] as { id: string }).id, name)];
  if (phases.length > 1)
    throw new UsageError(
      `${flag} ${name}: phases ${phases.map((p) => p.id).join(', ')} each have a step "${name}"`,
      `Say which: ${phases.map((p) => key(p.id, name)).join(' or ')}.`,
    );
  const phase = runbook.phases.find((p) => p.id === name);
  if (phase && phase.steps.length > 0) return phase.steps.map((s) => key(phase.id, s.id));
  const drained = runbook.phases.find((p) => p.drain || p.balancer);
  if (name === 'drain' && drained) throw drainRefusal(flag, name, drained.id);
  if (runbook.preflight.some((s) => s.id === name))
    throw new UsageError(
      `${flag} ${name}: "${name}" is a preflight check; preflight always runs, whatever the steps chosen`,
      hint,
    );
  throw new UsageError(`${flag} ${name}: the runbook has no step "${name}"`, hint);
}

function drainRefusal(flag: string, name: string, phase: string): UsageError {
  return new UsageError(
    `${flag} ${name}: the traffic drain of phase ${phase} is not a step to choose or leave out: it takes each host out of rotation before that host's chosen steps and puts it back after them`,
    'Choose the steps to run; a host with any of them is drained around them.',
  );
}

/**
 * What a kept step of one host relies on that the selection leaves out, as problems at the kept
 * step's place in the runbook (one per dependency; the caller merges hosts). `steps` is the host's
 * whole list in a phase, `keep` the selected `phase/step` keys.
 */
export function selectionProblems(
  steps: readonly PlannedStep[],
  keep: ReadonlySet<string>,
  how: string,
): InputProblem[] {
  const kept = (s: PlannedStep) => keep.has(key(s.phase, s.stepId));
  const problems: InputProblem[] = [];
  const refuse = (s: PlannedStep, message: string) =>
    problems.push({ ...s.loc, path: key(s.phase, s.stepId), message, severity: 'error' });
  steps.forEach((step, i) => {
    if (!kept(step)) return;
    if (step.kind === 'wait.log' && step.since && step.since !== step.id) {
      const trigger = steps.find((s) => s.id === step.since);
      if (trigger && !kept(trigger))
        refuse(
          step,
          `waits for log lines written after step ${trigger.stepId} (its since:), which ${how} leaves out: the wait would never see them`,
        );
    }
    for (const backup of steps.slice(0, i)) {
      if (backup.kind !== 'backup.copy' || kept(backup) || !undoneBy(step, backup)) continue;
      const src = String((backup.params as { src: unknown }).src);
      refuse(
        step,
        `has no undo of its own: backup.copy ${backup.stepId} (of ${src}) before it is what restores it, and ${how} leaves that backup out`,
      );
    }
  });
  return problems;
}

/** Whether `backup` is what undoes `step`: the step changes something, has no undo of its own, and writes under the backup (or cannot say where it writes). */
function undoneBy(step: PlannedStep, backup: PlannedStep): boolean {
  const kind = stepKinds.get(step.kind) as StepKind<unknown> | undefined;
  if (!kind || isReadOnly(kind, step.params)) return false;
  if (kind.ownUndo ? kind.ownUndo(step.params) : kind.compensate !== undefined) return false;
  const writes = kind.writesUnder?.(step.params);
  if (writes === undefined) return true;
  const src = trimSlash(String((backup.params as { src: unknown }).src));
  return writes.map(trimSlash).some((w) => w === src || src.startsWith(`${w}/`) || w.startsWith(`${src}/`));
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
