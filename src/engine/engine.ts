/**
 * The engine: executes a plan through sessions. It orchestrates; the parts beside it decide:
 * `rolling.ts` which host may start (batches, places, budgets), `drain.ts` where a host's traffic
 * goes, `step.ts` how a step runs (timeout, retries, re-probe), `saga.ts` how it is undone,
 * `preflight.ts` what must pass before anything changes. Step kinds never see batches.
 */
import { hostname } from 'node:os';
import { AbortedError, StepFailedError } from '../errors.js';
import type { Outcome } from '../journal/events.js';
import type { RunState } from '../journal/replay.js';
import { drainOf } from '../plan/drain.js';
import type { PlannedPhase } from '../plan/types.js';
import { journalSteps } from '../plan/types.js';
import { type EngineOptions, operator, ResumeBlocked, RunContext } from './context.js';
import { lastPhaseOf, workOrder } from './connections.js';
import { Drains } from './drain.js';
import { type DownHost, HealthGuard } from './guard.js';
import { preflightPassed, runPreflight } from './preflight.js';
import { limitsOf, pool, RollingWindow, stages } from './rolling.js';
import { pendingUndo, Saga } from './saga.js';
import { StepRunner, undecidableSteps } from './step.js';

export { type EngineOptions, type GateApprover, ResumeBlocked } from './context.js';

/**
 * Executes a plan: preflight, phases with their rolling policy, each host drained, stepped and
 * restored, saga compensation on failure; and `resume`/`rollback` from the journal.
 * Example: `await new Engine(options).apply()` -> `'succeeded'`.
 */
export class Engine {
  readonly #run: RunContext;
  readonly #steps: StepRunner;
  readonly #saga: Saga;
  readonly #drains: Drains;
  readonly #guard: HealthGuard;
  /** The rolling windows of the phases running now: a host found down stops them all. */
  readonly #windows = new Set<RollingWindow>();
  /** Per host, the last phase that needs its connection (connections.ts). */
  readonly #lastPhase: Map<string, number>;

  constructor(options: EngineOptions) {
    this.#run = new RunContext(options);
    this.#lastPhase = lastPhaseOf(options.plan);
    this.#steps = new StepRunner(this.#run);
    this.#saga = new Saga(this.#run, this.#steps);
    this.#drains = new Drains(this.#run, this.#steps, (s) => this.#saga.compensate(s));
    this.#guard = new HealthGuard(this.#run, () => {
      for (const window of this.#windows) window.stop();
    });
  }

  get state(): RunState {
    return this.#run.current as RunState;
  }

  /** A fresh run: journal, connect, preflight (nothing changes before it passes), then the phases. */
  async apply(): Promise<Outcome> {
    const plan = this.#run.plan;
    this.#run.emit({
      type: 'run.started',
      planHash: plan.hash,
      runbook: plan.runbook.file,
      inventory: plan.inventory.file,
      cluster: plan.inventory.cluster,
      params: plan.params,
      operator: operator(),
      controller: hostname(),
      hosts: plan.hosts.map((h) => h.name),
      steps: journalSteps(plan),
      ...(this.#run.options.inputs ? { inputs: this.#run.options.inputs } : {}),
    });
    return this.#execute(false);
  }

  /** Continues a run from its journal: verified steps are skipped, an interrupted step is re-probed. */
  async resume(): Promise<Outcome> {
    this.#run.state();
    const blocked = undecidableSteps(this.#run, (step) => this.#steps.context(step));
    if (blocked.length > 0) {
      // All at once, before anything runs or is journaled: the operator decides each in one go.
      const flags = blocked.map((s) => `--rerun ${s.id}  (or --mark-done ${s.id})`);
      throw new ResumeBlocked(
        `${blocked.length} interrupted step${blocked.length === 1 ? '' : 's'} cannot be checked by a probe: ${blocked.map((s) => `${s.id} (${s.kind})`).join(', ')}`,
        `Check each on its host, then resume with, for each: ${flags.join('; ')}. Nothing was run.`,
      );
    }
    this.#run.emit({ type: 'run.resumed', planHash: this.#run.plan.hash, operator: operator() });
    return this.#execute(true);
  }

  /** Undoes every completed step of the run, newest first, on every host; traffic is restored last per host. */
  async rollback(): Promise<boolean> {
    const run = this.#run;
    run.emit({ type: 'rollback.started', operator: operator() });
    let ok: boolean;
    try {
      await run.connectAll();
      await run.lock();
      ok = await this.#saga.everything(this.#drains);
    } catch (e) {
      run.emit({ type: 'rollback.finished', ok: false, error: (e as Error).message });
      await this.close();
      throw e;
    }
    run.emit({ type: 'rollback.finished', ok });
    run.emit({
      type: 'run.finished',
      outcome: ok ? 'rolled-back' : 'failed',
      ...(ok ? {} : { error: 'some compensations failed' }),
    });
    await this.close();
    return ok;
  }

  async close(): Promise<void> {
    await this.#run.close();
  }

  async #execute(resuming: boolean): Promise<Outcome> {
    const run = this.#run;
    let outcome: Outcome = 'succeeded';
    let error: string | undefined;
    try {
      await run.connectAll();
      await run.lock();
      await run.options.startGate;
      if (!resuming || !preflightPassed(run)) await runPreflight(run, this.#steps);
      // Every host was reached; the first to work keep their connections, the others reconnect in turn.
      await run.connections.trim(workOrder(run.plan));
      await this.#finishedWith(-1);
      for (const [index, phase] of run.plan.phases.entries()) {
        const failed = await this.#runPhase(phase, index);
        await this.#finishedWith(index);
        if (failed > 0) {
          outcome = 'failed';
          if (failed > phase.rolling.failureBudget) break;
        }
        if (this.#guard.down.length > 0) break;
        run.throwIfAborted();
      }
      await this.#guard.stop();
      // Succeeded only once every host it upgraded still answers its health check.
      if (outcome === 'succeeded' && this.#guard.down.length === 0) await this.#guard.finalCheck();
      if (this.#guard.down.length > 0) outcome = 'failed';
    } catch (e) {
      await this.#guard.stop();
      outcome = e instanceof AbortedError ? 'aborted' : 'failed';
      error = e instanceof Error ? e.message : String(e);
      run.emit({ type: 'run.finished', outcome, error });
      await this.close();
      throw e;
    }
    const down = this.#guard.down[0];
    if (outcome !== 'succeeded') error = down ? wentDown(down) : this.#firstFailure();
    run.emit({ type: 'run.finished', outcome, ...(error ? { error } : {}) });
    await this.close();
    if (outcome === 'failed' && down) {
      throw new StepFailedError(
        wentDown(down),
        down.host,
        `${down.phase}@${down.host}`,
        {},
        `Nothing else was started after it was found down; hosts in flight finished. Look at ${down.host}; its steps stand as journaled. \`cutover rollback ${run.options.runId}\` puts the whole run back.`,
      );
    }
    if (outcome === 'failed') {
      const failed = [...run.state().steps.values()].find((s) => s.status !== 'succeeded' && s.error);
      throw new StepFailedError(
        error ?? 'run failed',
        failed?.host ?? '?',
        failed?.id ?? '?',
        { lastLines: failed?.lastLines ?? [] },
        this.#afterFailure(run.options.runId),
      );
    }
    return outcome;
  }

  /** The phase's groups in parallel, each one batch after another; returns how many hosts failed. */
  async #runPhase(phase: PlannedPhase, phaseIndex: number): Promise<number> {
    const run = this.#run;
    run.emit({ type: 'phase.started', phase: phase.id });
    const window = new RollingWindow(
      limitsOf(phase.rolling, phase.drain?.maxDrained ?? phase.balancer?.maxDrained),
    );
    this.#windows.add(window);
    if (this.#guard.down.length > 0) window.stop();
    // Resumed with traffic still drained: those neighbours carry it before any host starts.
    for (const drain of Object.values(phase.drains)) {
      const s = run.state().steps.get(drain.id);
      if (s?.status === 'succeeded') window.reopen(drain.host, s.outputs.neighbour);
    }
    // An abort or a blocked resume stops new hosts everywhere, but hosts in flight (in any group)
    // finish their own saga first: the sessions must stay open until every one has settled.
    let fatal: unknown;
    const stopOnAbort = () => window.stop();
    if (run.signal?.aborted) window.stop();
    run.signal?.addEventListener('abort', stopOnAbort);
    // Batches (serial) or one pool (window) after the canary: see `stages` in rolling.ts.
    const rollGroup = async (hosts: string[]) => {
      const list = stages(hosts, phase.rolling);
      for (const [index, stage] of list.entries()) {
        if (window.stopped) return;
        const { error } = await pool(
          stage,
          () => window.stopped,
          async (h) => {
            try {
              await this.#runHost(phase, h, window);
            } catch (e) {
              window.stop(); // a blocked resume: no new host starts anywhere
              throw e;
            }
            // Its work in the run is done: its connection may go (a later undo reconnects).
            if ((this.#lastPhase.get(h) ?? -1) <= phaseIndex) await run.connections.done(h);
          },
        );
        if (error !== undefined) fatal ??= error;
        if (fatal || run.signal?.aborted) window.stop();
        if (window.stopped) return;
        if (index === 0 && phase.rolling.canary && list.length > 1) {
          try {
            await this.#afterCanary(phase, stage.hosts);
          } catch (e) {
            fatal ??= e;
            window.stop();
            return;
          }
        }
      }
    };
    try {
      await Promise.allSettled(phase.groups.map((g) => rollGroup(g.hosts)));
    } finally {
      run.signal?.removeEventListener('abort', stopOnAbort);
      this.#windows.delete(window);
    }
    const failures = window.failures;
    run.emit({
      type: 'phase.finished',
      phase: phase.id,
      outcome: fatal instanceof AbortedError ? 'aborted' : failures > 0 || fatal ? 'failed' : 'succeeded',
    });
    if (fatal) throw fatal;
    return failures;
  }

  async #afterCanary(phase: PlannedPhase, batch: string[]): Promise<void> {
    const canary = phase.rolling.canary;
    if (canary?.pauseMs) await this.#run.clock.sleep(canary.pauseMs, this.#run.signal);
    if (canary?.confirm) {
      const step = `${phase.id}/canary`;
      const host = batch[0] ?? '';
      const message = `Canary ${batch.join(', ')} upgraded in phase "${phase.name}". Continue with the other hosts?`;
      this.#run.emit({ type: 'gate.pending', step, host, message });
      if (!(await this.#run.decide({ step, host, message })))
        throw new AbortedError(
          `canary gate of phase ${phase.id} was not approved`,
          'Nothing else was started.',
        );
    }
  }

  /** One host through one phase: drain, steps, traffic back; on failure its saga. Returns false if it failed. */
  async #runHost(phase: PlannedPhase, hostName: string, window: RollingWindow): Promise<boolean> {
    const run = this.#run;
    const steps = phase.steps[hostName] ?? [];
    const drain = drainOf(phase, hostName);
    // Resumed after undos that did not run (the host was unreachable) or failed: the host is
    // first put back, before anything runs forward on it; only a host that is back goes on.
    if (pendingUndo(run.state(), hostName, phase.id)) {
      const back = await this.#saga.host(hostName);
      if (drain) window.restored(hostName);
      if (!back) {
        window.hostFailed();
        run.emit({ type: 'host.finished', phase: phase.id, host: hostName, outcome: 'failed' });
        return false;
      }
    }
    const state = run.state();
    // A host its saga put back starts this phase over: a step that succeeded before that undo
    // (a read-only request, a wait) is not done any more, whatever its own status says.
    const putBack = steps.some((s) => state.steps.get(s.id)?.status === 'compensated');
    const done = (id: string) => !putBack && state.steps.get(id)?.status === 'succeeded';
    const drainOpen = drain !== undefined && state.steps.get(drain.id)?.status === 'succeeded';
    if (steps.every((s) => done(s.id)) && !drainOpen) {
      // Done before a resume: still guarded, and checked before the run may succeed.
      if (steps.length > 0) this.#guard.watch(phase.id, hostName);
      return true;
    }
    // Waits for a place, a drain place, and for its neighbours' traffic to go home; a host resumed
    // with its traffic drained was in flight: like every host in flight, it finishes.
    const turn = await window.turn(hostName, drainOpen ? 'open' : drain ? 'needed' : 'none');
    if (turn === 'skip') return true;
    run.emit({ type: 'host.started', phase: phase.id, host: hostName });
    this.#guard.unwatch(hostName);
    try {
      if (drain && !drainOpen) await this.#drains.drain(drain, window);
      for (const step of steps) {
        if (done(step.id)) continue;
        run.throwIfAborted();
        await this.#steps.execute(step);
      }
      if (drain) await this.#drains.restore(drain, window);
      run.emit({ type: 'host.finished', phase: phase.id, host: hostName, outcome: 'succeeded' });
      this.#guard.watch(phase.id, hostName);
      return true;
    } catch (e) {
      if (e instanceof ResumeBlocked) throw e;
      if (!(e instanceof AbortedError)) window.hostFailed();
      await this.#saga.host(hostName);
      run.emit({
        type: 'host.finished',
        phase: phase.id,
        host: hostName,
        outcome: e instanceof AbortedError ? 'aborted' : 'failed',
      });
      if (e instanceof AbortedError) throw e;
      return false;
    } finally {
      window.finish(hostName);
    }
  }

  /** After phase `index` (-1: preflight): hosts no later phase needs (balancers too) are done. */
  async #finishedWith(index: number): Promise<void> {
    for (const [host, last] of this.#lastPhase) if (last <= index) await this.#run.connections.done(host);
  }

  /** What the closing message says about the hosts that failed: put back (verified by each undo), or not, and why. */
  #afterFailure(runId: string): string {
    const notBack = [...this.#saga.notPutBack];
    if (notBack.length === 0)
      return `The failed host was put back: each of its undos ran and succeeded. See \`cutover status ${runId}\`; fix the cause, then \`cutover resume ${runId}\`, or undo the whole run with \`cutover rollback ${runId}\`.`;
    return [
      `NOT put back: ${notBack.map(([host, why]) => `${host} (${why})`).join('; ')}.`,
      `Its steps stand as journaled (\`cutover status ${runId}\` lists each undo that did not run). When the host can be reached again, \`cutover resume ${runId}\` first finishes putting it back, then goes on; or \`cutover rollback ${runId}\` undoes the whole run.`,
    ].join(' ');
  }

  #firstFailure(): string | undefined {
    const failed = [...this.#run.state().steps.values()].filter(
      (s) =>
        s.error &&
        (s.status === 'failed' || s.status === 'compensated' || s.status === 'compensation-failed'),
    );
    const first = failed.sort((a, b) => (a.completedSeq ?? 0) - (b.completedSeq ?? 0))[0];
    return first ? `${first.id}: ${first.error}` : undefined;
  }
}

/** The run's error when the guard found a host down. */
function wentDown(d: DownHost): string {
  return `${d.host} went down after its upgrade (phase ${d.phase}): ${d.url} answered ${d.seen}`;
}
