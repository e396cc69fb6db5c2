/**
 * One step instance on its host: log marks taken before it, its actions run with the step's
 * timeout, retried on failure, every attempt journaled. A step that was running (or had begun)
 * when the controller died is re-probed first: its probe says whether it finished, and only a step
 * that did not is applied again (`--rerun` / `--mark-done` decide what no probe can).
 */
import { type ActionEnv, ActionFailed, markCommand, parseMark, runAction } from '../actions/index.js';
import { AbortedError, StepFailedError } from '../errors.js';
import type { LogMark } from '../journal/events.js';
import type { StepState } from '../journal/replay.js';
import { type PlannedStep, sinceOf } from '../plan/types.js';
import { stepKinds } from '../steps/index.js';
import { isReadOnly, type StepContext, type StepKind } from '../steps/kind.js';
import { TransportError } from '../transport/errors.js';
import { ResumeBlocked, type RunContext } from './context.js';

/**
 * What re-probing an interrupted step found: it finished (with its outputs), it must run again,
 * or nothing can tell (the operator decides with `--rerun` or `--mark-done`).
 */
export type Reprobe =
  | { verdict: 'done'; outputs: Record<string, string> }
  | { verdict: 'redo' }
  | { verdict: 'undecidable'; reason: string; next: string };

/** Runs step instances for one run. Example: `const outputs = await steps.execute(step)`. */
export class StepRunner {
  readonly #run: RunContext;

  constructor(run: RunContext) {
    this.#run = run;
  }

  /** Runs the step (after re-probing it if it was interrupted); resolves with its outputs, or throws StepFailedError. */
  async execute(
    step: PlannedStep,
    extraOutputs: Record<string, string> = {},
  ): Promise<Record<string, string>> {
    const run = this.#run;
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    const ctx = this.context(step);
    const prior = run.state().steps.get(step.id);
    if (prior && interrupted(prior)) {
      const found = await this.reprobe(step, prior);
      if (found.verdict === 'undecidable') throw new ResumeBlocked(found.reason, found.next);
      if (found.verdict === 'done') {
        run.emit({
          type: 'step.succeeded',
          step: step.id,
          host: step.host,
          outputs: found.outputs,
          durationMs: 0,
          via: 'probe',
        });
        return found.outputs;
      }
    }
    await this.#markLogs(step);
    const role = step.role ? { role: step.role } : {};
    const attempts = step.retries + 1;
    for (let attempt = 1; ; attempt++) {
      run.emit({
        type: 'step.started',
        step: step.id,
        host: step.host,
        attempt,
        kind: step.kind,
        name: step.name,
        ...role,
      });
      const started = run.clock.now();
      const outputs: Record<string, string> = { ...extraOutputs };
      try {
        const planned = kind.plan(step.params, ctx);
        const env = await this.actionEnv(step, ctx, outputs, started + step.timeoutMs);
        for (const action of planned.actions) await runAction(action, env);
        run.emit({
          type: 'step.succeeded',
          step: step.id,
          host: step.host,
          outputs,
          durationMs: run.clock.now() - started,
        });
        return outputs;
      } catch (e) {
        if (run.signal?.aborted) {
          run.emit({
            type: 'step.failed',
            step: step.id,
            host: step.host,
            error: 'aborted by the operator',
            attempt,
            final: true,
            outputs,
            ...role,
          });
          throw new AbortedError(
            `aborted during ${step.id}`,
            'The saga put the host back; see `cutover status`.',
          );
        }
        const detail = e instanceof ActionFailed ? e.detail : {};
        const message = run.options.redactor.redact(e instanceof Error ? e.message : String(e));
        // A host that stayed unreachable through the transport's reconnects is not retried.
        const unreachable = e instanceof TransportError && e.unreachable;
        if (unreachable) run.markUnreachable(step.host, message);
        const final = unreachable || attempt >= attempts;
        run.emit({
          type: 'step.failed',
          step: step.id,
          host: step.host,
          error: message,
          attempt,
          final,
          outputs,
          ...(detail.lastLines ? { lastLines: detail.lastLines } : {}),
          ...role,
        });
        if (final) throw new StepFailedError(`${step.id}: ${message}`, step.host, step.id, detail);
        await run.clock.sleep(step.retryDelayMs, run.signal);
      }
    }
  }

  /**
   * A step interrupted by a controller crash: asks its probe (or the operator's flags) whether it
   * finished, before anything is re-applied. Journals nothing; `execute` acts on the verdict.
   */
  async reprobe(step: PlannedStep, prior: StepState): Promise<Reprobe> {
    const run = this.#run;
    const { markDone, rerun, redactor } = run.options;
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    // A drain is routed again (safe: the edit keeps the first original), never marked done: a
    // drain marked done without its recorded original could never give the traffic back.
    if (step.role === 'drain') return { verdict: 'redo' };
    if (markDone?.has(step.id)) return { verdict: 'done', outputs: prior.outputs };
    if (rerun?.has(step.id) || isReadOnly(kind, step.params) || kind.rerunSafe) return { verdict: 'redo' };
    const probe = kind.plan(step.params, this.context(step)).probe;
    if (!probe) return undecidable(step);
    const session = await run.session(step.host, step.runAs);
    const res = await session.exec(probe.cmd.render('exec'), { timeoutMs: 60_000 });
    if (res.code === 0) {
      const outputs = { ...prior.outputs };
      for (const line of res.stdout.split('\n')) {
        const m = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(line.trim());
        if (m) outputs[m[1] as string] = redactor.redact(m[2] as string);
      }
      return { verdict: 'done', outputs };
    }
    if (res.code === 1) return { verdict: 'redo' };
    return {
      verdict: 'undecidable',
      reason: `${step.id}: its probe (${probe.description}) could not tell whether it finished (exit ${res.code}: ${redactor.redact(res.stderr.trim())})`,
      next: `Check on ${step.host}, then resume with --rerun ${step.id} or --mark-done ${step.id}.`,
    };
  }

  /** Before a step that triggers awaited log lines, record where each such log ends now. */
  async #markLogs(trigger: PlannedStep): Promise<void> {
    const run = this.#run;
    const phase = run.plan.phases.find((p) => p.id === trigger.phase);
    const waits = (phase?.steps[trigger.host] ?? []).filter(
      (s) => s.kind === 'wait.log' && s.since === trigger.id,
    );
    for (const wait of waits) {
      const path = (wait.params as { path: Parameters<typeof markCommand>[0] }).path;
      const session = await run.session(trigger.host, wait.runAs);
      const res = await session.exec(markCommand(path).render('exec'), { timeoutMs: 30_000 });
      const mark: LogMark = parseMark(res.stdout);
      run.emit({ type: 'step.mark', step: wait.id, host: trigger.host, mark });
    }
  }

  /** What the step's actions (or its compensation's) run with. */
  async actionEnv(
    step: PlannedStep,
    ctx: StepContext,
    outputs: Record<string, string>,
    deadline: number,
  ): Promise<ActionEnv> {
    const run = this.#run;
    return {
      session: await run.session(step.host, step.runAs),
      sessionOn: (other) => run.session(other, run.host(other).become?.user),
      clock: run.clock,
      deadline,
      signal: run.signal ?? new AbortController().signal,
      ctx,
      stepId: step.id,
      host: step.host,
      marks: run.state().steps.get(step.id)?.marks ?? [],
      outputs,
      redactor: run.options.redactor,
      emit: (e) => run.emit(e),
      approveGate: (gate) => run.decide(gate),
      pollIntervalMs: run.options.pollIntervalMs ?? 250,
      localCopy: (file) => run.options.localCopies?.[file],
    };
  }

  /** What a step kind's planner sees of its host and run. */
  context(step: PlannedStep): StepContext {
    const run = this.#run;
    const host = run.host(step.host);
    const abs: Record<string, string> = {};
    for (const [file, sha] of Object.entries(run.plan.localFiles)) abs[file] = sha;
    return {
      host: { name: host.name, address: host.address, roles: host.roles, vars: host.vars },
      runDir: run.runDir(step.host, step.runAs),
      controllerDir: run.plan.runbook.dir,
      stepId: step.id.replace(/[^A-Za-z0-9_.-]/g, '_'),
      localSha256: abs,
      ...sinceOf(run.plan, step),
    };
  }
}

/** A step that had begun when the controller stopped: running, or failed after an attempt began. */
export function interrupted(s: StepState): boolean {
  return s.status === 'running' || (s.status === 'failed' && s.attempts > 0);
}

/** What resume says of an interrupted step nothing can decide for the operator. */
function undecidable(step: PlannedStep): Extract<Reprobe, { verdict: 'undecidable' }> {
  return {
    verdict: 'undecidable',
    reason: `${step.id} (${step.kind}) was running when the controller stopped, and it has no probe to tell whether it finished`,
    next: `Check on ${step.host}, then resume with --rerun ${step.id} (run it again) or --mark-done ${step.id} (it finished).`,
  };
}

/**
 * Every interrupted step of a run that resume could only decide with the operator's flags (no
 * probe, not read-only, not safe to re-run, not named by --rerun or --mark-done): listed at once,
 * before anything runs, instead of one refusal per attempt.
 */
export function undecidableSteps(
  run: RunContext,
  context: (step: PlannedStep) => StepContext,
): PlannedStep[] {
  const { markDone, rerun } = run.options;
  const out: PlannedStep[] = [];
  for (const prior of run.state().steps.values()) {
    if (!interrupted(prior)) continue;
    const step = run.stepFor(prior);
    if (!step || step.role === 'drain' || markDone?.has(step.id) || rerun?.has(step.id)) continue;
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    if (isReadOnly(kind, step.params) || kind.rerunSafe) continue;
    if (!kind.plan(step.params, context(step)).probe) out.push(step);
  }
  return out;
}
