import { hostname, userInfo } from 'node:os';
import { AbortedError, CutoverError, PreflightError, StepFailedError } from '../errors.js';
import type { Host } from '../inventory/model.js';
import { selectHosts } from '../inventory/select.js';
import type { JournalEvent, JournalEventBody, JournalStore, LogMark, Outcome } from '../journal/events.js';
import { applyEvent, newRunState, type RunState, replay, type StepState } from '../journal/replay.js';
import { evaluate } from '../runbook/expr.js';
import { renderTemplate, type TemplateScope } from '../runbook/template.js';
import type { Redactor } from '../shell/secret.js';
import { staticValue } from '../shell/word.js';
import { stepKinds } from '../steps/index.js';
import { type Action, isReadOnly, type StepContext, type StepKind } from '../steps/kind.js';
import type { Plan, PlannedPhase, PlannedStep } from '../plan/types.js';
import { allSteps } from '../plan/types.js';
import type { Session } from '../transport/transport.js';
import {
  ActionFailed,
  type ActionEnv,
  type Clock,
  markCommand,
  parseMark,
  runAction,
  sendHttp,
  systemClock,
  waitFor,
} from '../actions/index.js';
import { Semaphore } from './semaphore.js';

const DRAIN_HEALTH_TIMEOUT_MS = 5 * 60_000;

/**
 * A manual approval request; the CLI prompts, the dashboard clicks, tests decide. Resolves with the
 * answer, or with who gave it (journaled as `gate.decided.by`; a plain boolean is the operator's).
 * Example: `async () => ({ approved: true, by: 'dashboard (127.0.0.1)' })`.
 */
export type GateApprover = (gate: {
  step: string;
  host: string;
  message: string;
}) => Promise<boolean | { approved: boolean; by: string }>;

export interface EngineOptions {
  plan: Plan;
  runId: string;
  journal: JournalStore;
  /** Opens a session to a host (ssh or local); the engine opens one per host and reuses it. */
  connect: (host: Host) => Promise<Session>;
  redactor: Redactor;
  approveGate: GateApprover;
  /** Scope for rendering drain templates (`neighbour.*`). */
  templateScope: (host: Host, neighbour?: Host) => TemplateScope;
  clock?: Clock;
  signal?: AbortSignal;
  pollIntervalMs?: number;
  /** Per-run folder root on every host (backups of edited files live there). */
  remoteRunRoot?: string;
  /** Resume only: steps to re-run even if their probe cannot tell, and steps the operator says are done. */
  rerun?: ReadonlySet<string>;
  markDone?: ReadonlySet<string>;
  /** Observers of every journaled event (progress UI, --json). */
  onEvent?: (event: JournalEvent) => void;
}

/** A step could not be resumed safely: the run stops without compensating anything. */
/** How a host tells its phase that it failed, and learns that the phase stops starting hosts. */
interface Rollout {
  stopped(): boolean;
  hostFailed(): void;
}

export class ResumeBlocked extends CutoverError {
  readonly exitCode = 1 as const;
}

/**
 * Executes a plan through sessions: preflight, phases with their rolling policy, drain budget,
 * per-step timeout and retries, saga compensation on failure; and `resume`/`rollback` from the
 * journal. Step kinds never see batches; this is the only place that knows about them.
 */
export class Engine {
  readonly #o: EngineOptions;
  readonly #clock: Clock;
  readonly #sessions = new Map<string, Promise<Session>>();
  readonly #hosts: Map<string, Host>;
  readonly #busy = new Set<string>();
  readonly #drained = new Set<string>();
  /** Drained host -> the neighbour taking its traffic; that neighbour must not start meanwhile. */
  readonly #carriedBy = new Map<string, string>();
  #carryWaiters: Array<() => void> = [];
  readonly #completed = new Set<string>();
  readonly #steps = new Map<string, PlannedStep>();
  #state!: RunState;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#hosts = new Map(options.plan.hosts.map((h) => [h.name, h]));
    for (const s of allSteps(options.plan)) this.#steps.set(s.id, s);
  }

  get state(): RunState {
    return this.#state;
  }

  /** A fresh run: journal, connect, preflight (nothing changes before it passes), then the phases. */
  async apply(): Promise<Outcome> {
    const plan = this.#o.plan;
    this.#emit({
      type: 'run.started',
      planHash: plan.hash,
      runbook: plan.runbook.file,
      inventory: plan.inventory.file,
      cluster: plan.inventory.cluster,
      params: plan.params,
      operator: operator(),
      controller: hostname(),
      hosts: plan.hosts.map((h) => h.name),
      steps: allSteps(plan).map((s) => ({
        id: s.id,
        host: s.host,
        phase: s.phase,
        kind: s.kind,
        name: s.name,
      })),
    });
    return this.#run(false);
  }

  /** Continues a run from its journal: verified steps are skipped, an interrupted step is re-probed. */
  async resume(): Promise<Outcome> {
    this.#refresh();
    this.#emit({ type: 'run.resumed', planHash: this.#o.plan.hash, operator: operator() });
    return this.#run(true);
  }

  async #run(resuming: boolean): Promise<Outcome> {
    let outcome: Outcome = 'succeeded';
    let error: string | undefined;
    try {
      await this.#connectAll();
      if (!resuming || !this.#preflightPassed()) await this.#preflight();
      for (const phase of this.#o.plan.phases) {
        const failed = await this.#runPhase(phase);
        if (failed > 0) {
          outcome = 'failed';
          if (failed > phase.rolling.failureBudget) break;
        }
        this.#throwIfAborted();
      }
    } catch (e) {
      outcome = e instanceof AbortedError ? 'aborted' : 'failed';
      error = e instanceof Error ? e.message : String(e);
      this.#emit({ type: 'run.finished', outcome, error });
      await this.close();
      throw e;
    }
    if (outcome !== 'succeeded') error = this.#firstFailure();
    this.#emit({ type: 'run.finished', outcome, ...(error ? { error } : {}) });
    await this.close();
    if (outcome === 'failed') {
      const failed = [...this.#refresh().steps.values()].find((s) => s.status !== 'succeeded' && s.error);
      throw new StepFailedError(
        error ?? 'run failed',
        failed?.host ?? '?',
        failed?.id ?? '?',
        { lastLines: failed?.lastLines ?? [] },
        `The failed host was put back by its compensations. See \`cutover status ${this.#o.runId}\`; fix the cause, then \`cutover resume ${this.#o.runId}\`, or undo the whole run with \`cutover rollback ${this.#o.runId}\`.`,
      );
    }
    return outcome;
  }

  /** Undoes every completed step of the run, newest first, on every host; traffic is restored last per host. */
  async rollback(): Promise<boolean> {
    this.#emit({ type: 'rollback.started', operator: operator() });
    let ok = true;
    try {
      await this.#connectAll();
      const state = this.#refresh();
      const todo = [...state.steps.values()]
        .filter((s) => s.phase !== 'preflight' && needsCompensation(s))
        .sort((a, b) => (b.completedSeq ?? 0) - (a.completedSeq ?? 0));
      for (const s of todo) ok = (await this.#compensate(s)) && ok;
      // Verify: every host that was put back answers its phase's health check again.
      const touched = new Map(todo.map((s) => [`${s.phase}\u0000${s.host}`, s]));
      for (const s of touched.values()) {
        const unhealthy = await this.#untilHealthy(s.phase, s.host);
        if (unhealthy) {
          ok = false;
          this.#emit({ type: 'compensation.failed', step: s.id, host: s.host, error: unhealthy });
        }
      }
    } catch (e) {
      ok = false;
      this.#emit({ type: 'rollback.finished', ok, error: (e as Error).message });
      await this.close();
      throw e;
    }
    this.#emit({ type: 'rollback.finished', ok });
    this.#emit({
      type: 'run.finished',
      outcome: ok ? 'rolled-back' : 'failed',
      ...(ok ? {} : { error: 'some compensations failed' }),
    });
    await this.close();
    return ok;
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s.catch(() => undefined))?.close()));
  }

  // ---- phases and rolling policy ----

  async #runPhase(phase: PlannedPhase): Promise<number> {
    this.#emit({ type: 'phase.started', phase: phase.id });
    const drainSlots = new Semaphore(phase.drain?.maxDrained ?? 1);
    // Resumed with traffic still drained: those neighbours carry it before any host starts.
    const journaled = this.#refresh();
    for (const host of Object.keys(phase.drainConfig)) {
      const drain = journaled.steps.get(`${phase.id}/drain@${host}`);
      if (drain?.status !== 'succeeded') continue;
      this.#drained.add(host);
      if (drain.outputs.neighbour) this.#carriedBy.set(host, drain.outputs.neighbour);
      // It counts against the drain budget until it is restored (its #runHost releases the place).
      drainSlots.take();
    }
    // Across groups: at most max_unavailable hosts of the phase out of service at once.
    const unavailableSlots = new Semaphore(phase.rolling.maxUnavailable ?? Number.MAX_SAFE_INTEGER);
    let failures = 0;
    let stop = false;
    // An abort or a blocked resume stops new hosts everywhere, but hosts in flight (in any group)
    // finish their own saga first: the sessions must stay open until every one has settled.
    let fatal: unknown;
    // A failure counts the moment a host's step fails, not when its saga is done: a saga can take
    // minutes, and no other group may start a host in the meantime.
    const rollout: Rollout = {
      stopped: () => stop || fatal !== undefined || this.#o.signal?.aborted === true,
      hostFailed: () => {
        failures += 1;
        if (failures > phase.rolling.failureBudget) stop = true;
      },
    };
    const rollGroup = async (hosts: string[]) => {
      const { serial, maxUnavailable, canary } = phase.rolling;
      const size = Math.max(1, Math.min(serial, maxUnavailable ?? serial));
      const batches: string[][] = [];
      let rest = hosts;
      if (canary && canary.hosts > 0) {
        batches.push(rest.slice(0, canary.hosts));
        rest = rest.slice(canary.hosts);
      }
      for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
      for (const [index, batch] of batches.entries()) {
        if (stop) return;
        const results = await Promise.allSettled(
          batch.map(async (h) => {
            await unavailableSlots.acquire();
            try {
              return rollout.stopped() ? true : await this.#runHost(phase, h, drainSlots, rollout);
            } finally {
              unavailableSlots.release();
            }
          }),
        );
        for (const r of results) if (r.status === 'rejected') fatal ??= r.reason;
        if (fatal || this.#o.signal?.aborted) stop = true;
        if (stop) return;
        if (index === 0 && canary && batches.length > 1) {
          try {
            await this.#afterCanary(phase, batch, canary);
          } catch (e) {
            fatal ??= e;
            stop = true;
            return;
          }
        }
      }
    };
    await Promise.allSettled(phase.groups.map((g) => rollGroup(g.hosts)));
    this.#emit({
      type: 'phase.finished',
      phase: phase.id,
      outcome: fatal instanceof AbortedError ? 'aborted' : failures > 0 || fatal ? 'failed' : 'succeeded',
    });
    if (fatal) throw fatal;
    return failures;
  }

  async #afterCanary(
    phase: PlannedPhase,
    batch: string[],
    canary: NonNullable<PlannedPhase['rolling']['canary']>,
  ) {
    if (canary.pauseMs) await this.#clock.sleep(canary.pauseMs, this.#o.signal);
    if (canary.confirm) {
      const step = `${phase.id}/canary`;
      const message = `Canary ${batch.join(', ')} upgraded in phase "${phase.name}". Continue with the other hosts?`;
      this.#emit({ type: 'gate.pending', step, host: batch[0] ?? '', message });
      const { approved, by } = decided(await this.#o.approveGate({ step, host: batch[0] ?? '', message }));
      this.#emit({ type: 'gate.decided', step, host: batch[0] ?? '', approved, by });
      if (!approved)
        throw new AbortedError(
          `canary gate of phase ${phase.id} was not approved`,
          'Nothing else was started.',
        );
    }
  }

  /** One host through one phase: drain, steps, undrain; on failure its saga. Returns false if it failed. */
  async #runHost(
    phase: PlannedPhase,
    hostName: string,
    drainSlots: Semaphore,
    rollout: Rollout,
  ): Promise<boolean> {
    const steps = phase.steps[hostName] ?? [];
    const drainId = `${phase.id}/drain@${hostName}`;
    const state = this.#refresh();
    const done = (id: string) => state.steps.get(id)?.status === 'succeeded';
    const drainState = state.steps.get(drainId);
    const drainOpen = drainState?.status === 'succeeded';
    if (steps.every((s) => done(s.id)) && !drainOpen) {
      this.#completed.add(hostName);
      return true;
    }
    const host = this.#hosts.get(hostName) as Host;
    const needsDrain = phase.drainConfig[hostName] !== undefined;
    // A drain still open from before a resume already holds its place (taken at phase start).
    let holdsSlot = needsDrain && drainOpen;
    try {
      if (needsDrain && !drainOpen) {
        // A host waiting for a drain slot is untouched, so it can still take a neighbour's traffic.
        await drainSlots.acquire();
        holdsSlot = true;
      }
      // A host carrying a drained neighbour's traffic waits until that traffic has gone home.
      await this.#untilCarryingNothing(hostName);
      // Another host may have failed while this one waited. A host resumed with its traffic
      // drained was in flight: like every host in flight, it finishes (and restores its traffic).
      if (rollout.stopped() && !drainOpen) return true;
      this.#emit({ type: 'host.started', phase: phase.id, host: hostName });
      this.#busy.add(hostName);
      if (needsDrain && !drainOpen) {
        await this.#drain(phase, host, drainId);
      } else if (drainOpen) {
        this.#drained.add(hostName);
        const neighbour = drainState?.outputs.neighbour;
        if (neighbour) this.#carriedBy.set(hostName, neighbour);
      }
      for (const step of steps) {
        if (done(step.id)) continue;
        this.#throwIfAborted();
        await this.#executeStep(step);
      }
      if (needsDrain || drainOpen) {
        const ds = this.#refresh().steps.get(drainId);
        if (ds && ds.status === 'succeeded' && !(await this.#compensate(ds))) {
          throw new StepFailedError(`could not restore traffic on ${hostName}`, hostName, drainId);
        }
        this.#drained.delete(hostName);
        this.#stopCarrying(hostName);
      }
      this.#emit({ type: 'host.finished', phase: phase.id, host: hostName, outcome: 'succeeded' });
      this.#completed.add(hostName);
      return true;
    } catch (e) {
      if (e instanceof ResumeBlocked) throw e;
      if (!(e instanceof AbortedError)) rollout.hostFailed();
      await this.#saga(hostName);
      this.#emit({
        type: 'host.finished',
        phase: phase.id,
        host: hostName,
        outcome: e instanceof AbortedError ? 'aborted' : 'failed',
      });
      if (e instanceof AbortedError) throw e;
      return false;
    } finally {
      this.#busy.delete(hostName);
      this.#drained.delete(hostName);
      this.#stopCarrying(hostName);
      if (holdsSlot) drainSlots.release();
    }
  }

  /** Routes the host's own nginx locations to a healthy neighbour that is not drained or being upgraded. */
  async #drain(phase: PlannedPhase, host: Host, drainId: string): Promise<void> {
    const spec = phase.drain!;
    const candidates = selectHosts(
      { file: '', cluster: '', hosts: this.#o.plan.hosts },
      spec.neighbours,
      (expr, h) => Boolean(evaluate(expr, this.#o.templateScope(h))),
    ).filter((h) => h.name !== host.name);
    const available = (h: Host) => !this.#busy.has(h.name) && !this.#drained.has(h.name);
    const tried: string[] = [];
    for (const neighbour of candidates.filter(available)) {
      const scope = this.#o.templateScope(host, neighbour);
      if (spec.health) {
        const url = staticValue(renderTemplate(spec.health.url, scope));
        const res = await sendHttp({ url, method: 'GET', headers: {}, insecure: true }, 5000, this.#o.signal);
        if (!spec.health.expectStatus.includes(res.status)) {
          tried.push(`${neighbour.name} (${url} answered ${res.error ?? res.status})`);
          continue;
        }
      }
      // It may have started its own upgrade during the probe.
      if (!available(neighbour)) {
        tried.push(`${neighbour.name} (started its own upgrade meanwhile)`);
        continue;
      }
      // Reserved before the route is written: from now on it does not start until this traffic is back.
      this.#carriedBy.set(host.name, neighbour.name);
      const upstream = staticValue(renderTemplate(spec.upstream, scope));
      const step = this.#drainStep(phase, host, upstream);
      this.#steps.set(drainId, step);
      await this.#executeStep(step, { neighbour: neighbour.name, upstream });
      this.#drained.add(host.name);
      this.#emit({
        type: 'drain.routed',
        host: host.name,
        neighbour: neighbour.name,
        upstream,
        step: drainId,
      });
      return;
    }
    const error = `no healthy neighbour to take ${host.name}'s traffic: ${tried.join('; ') || 'every candidate is drained or being upgraded'}`;
    this.#emit({
      type: 'step.failed',
      step: drainId,
      host: host.name,
      error,
      attempt: 0,
      final: true,
      outputs: {},
    });
    throw new StepFailedError(
      `${drainId}: ${error}`,
      host.name,
      drainId,
      {},
      'Bring a neighbour back to health (or widen drain.neighbours), then resume.',
    );
  }

  async #untilCarryingNothing(hostName: string): Promise<void> {
    while ([...this.#carriedBy.values()].includes(hostName)) {
      await new Promise<void>((resolve) => this.#carryWaiters.push(resolve));
    }
  }

  #stopCarrying(drainedHost: string): void {
    if (!this.#carriedBy.delete(drainedHost)) return;
    const waiters = this.#carryWaiters;
    this.#carryWaiters = [];
    for (const wake of waiters) wake();
  }

  #drainStep(phase: PlannedPhase, host: Host, upstream: string): PlannedStep {
    const spec = phase.drain!;
    return {
      id: `${phase.id}/drain@${host.name}`,
      phase: phase.id,
      stepId: 'drain',
      host: host.name,
      kind: 'nginx.route',
      name: `route ${spec.locations.join(', ')} to ${upstream}`,
      params: (stepKinds.get('nginx.route') as StepKind<unknown>).params.parse({
        config: phase.drainConfig[host.name] as string,
        locations: spec.locations,
        upstream,
        ...(spec.validate ? { validate: spec.validate } : {}),
        ...(spec.reload ? { reload: spec.reload } : {}),
      }),
      timeoutMs: 120_000,
      retries: 0,
      retryDelayMs: 0,
      loc: { file: this.#o.plan.runbook.file, line: 0, col: 0 },
    };
  }

  // ---- steps ----

  async #executeStep(
    step: PlannedStep,
    extraOutputs: Record<string, string> = {},
  ): Promise<Record<string, string>> {
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    const ctx = this.#context(step);
    const prior = this.#refresh().steps.get(step.id);
    if (prior && (prior.status === 'running' || (prior.status === 'failed' && prior.attempts > 0))) {
      const verdict = await this.#reprobe(step, kind, ctx, prior);
      if (verdict) return verdict;
    }
    await this.#markLogs(step);
    const attempts = step.retries + 1;
    for (let attempt = 1; ; attempt++) {
      this.#emit({
        type: 'step.started',
        step: step.id,
        host: step.host,
        attempt,
        kind: step.kind,
        name: step.name,
      });
      const started = this.#clock.now();
      const outputs: Record<string, string> = { ...extraOutputs };
      try {
        const planned = kind.plan(step.params, ctx);
        const env = await this.#actionEnv(step, ctx, outputs, started + step.timeoutMs);
        for (const action of planned.actions) await runAction(action, env);
        this.#emit({
          type: 'step.succeeded',
          step: step.id,
          host: step.host,
          outputs,
          durationMs: this.#clock.now() - started,
        });
        return outputs;
      } catch (e) {
        if (this.#o.signal?.aborted) {
          this.#emit({
            type: 'step.failed',
            step: step.id,
            host: step.host,
            error: 'aborted by the operator',
            attempt,
            final: true,
            outputs,
          });
          throw new AbortedError(
            `aborted during ${step.id}`,
            'The saga put the host back; see `cutover status`.',
          );
        }
        const final = attempt >= attempts;
        const detail = e instanceof ActionFailed ? e.detail : {};
        const message = this.#o.redactor.redact(e instanceof Error ? e.message : String(e));
        this.#emit({
          type: 'step.failed',
          step: step.id,
          host: step.host,
          error: message,
          attempt,
          final,
          outputs,
          ...(detail.lastLines ? { lastLines: detail.lastLines } : {}),
        });
        if (final) throw new StepFailedError(`${step.id}: ${message}`, step.host, step.id, detail);
        await this.#clock.sleep(step.retryDelayMs, this.#o.signal);
      }
    }
  }

  /** A step interrupted by a controller crash: ask its probe before anything is re-applied. */
  async #reprobe(step: PlannedStep, kind: StepKind<unknown>, ctx: StepContext, prior: StepState) {
    if (this.#o.markDone?.has(step.id)) {
      this.#emit({
        type: 'step.succeeded',
        step: step.id,
        host: step.host,
        outputs: prior.outputs,
        durationMs: 0,
        via: 'probe',
      });
      return prior.outputs;
    }
    if (this.#o.rerun?.has(step.id) || isReadOnly(kind, step.params)) return undefined;
    const probe = kind.plan(step.params, ctx).probe;
    if (!probe) {
      throw new ResumeBlocked(
        `${step.id} (${step.kind}) was running when the controller stopped, and it has no probe to tell whether it finished`,
        `Check on ${step.host}, then resume with --rerun ${step.id} (run it again) or --mark-done ${step.id} (it finished).`,
      );
    }
    const session = await this.#session(step.host);
    const res = await session.exec(probe.cmd.render('exec'), { timeoutMs: 60_000 });
    if (res.code === 0) {
      const outputs = { ...prior.outputs };
      for (const line of res.stdout.split('\n')) {
        const m = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(line.trim());
        if (m) outputs[m[1] as string] = this.#o.redactor.redact(m[2] as string);
      }
      this.#emit({
        type: 'step.succeeded',
        step: step.id,
        host: step.host,
        outputs,
        durationMs: 0,
        via: 'probe',
      });
      return outputs;
    }
    if (res.code === 1) return undefined;
    throw new ResumeBlocked(
      `${step.id}: its probe (${probe.description}) could not tell whether it finished (exit ${res.code}: ${this.#o.redactor.redact(res.stderr.trim())})`,
      `Check on ${step.host}, then resume with --rerun ${step.id} or --mark-done ${step.id}.`,
    );
  }

  /** Before a step that triggers awaited log lines, record where each such log ends now. */
  async #markLogs(trigger: PlannedStep): Promise<void> {
    const waits = (this.#o.plan.phases.find((p) => p.id === trigger.phase)?.steps[trigger.host] ?? []).filter(
      (s) => s.kind === 'wait.log' && s.since === trigger.id,
    );
    for (const wait of waits) {
      const path = (wait.params as { path: Parameters<typeof markCommand>[0] }).path;
      const session = await this.#session(trigger.host);
      const res = await session.exec(markCommand(path).render('exec'), { timeoutMs: 30_000 });
      const mark: LogMark = parseMark(res.stdout);
      this.#emit({ type: 'step.mark', step: wait.id, host: trigger.host, mark });
    }
  }

  async #actionEnv(
    step: PlannedStep,
    ctx: StepContext,
    outputs: Record<string, string>,
    deadline: number,
  ): Promise<ActionEnv> {
    return {
      session: await this.#session(step.host),
      clock: this.#clock,
      deadline,
      signal: this.#o.signal ?? new AbortController().signal,
      ctx,
      stepId: step.id,
      host: step.host,
      marks: this.#state.steps.get(step.id)?.marks ?? [],
      outputs,
      redactor: this.#o.redactor,
      emit: (e) => this.#emit(e),
      approveGate: async (gate) => {
        const { approved, by } = decided(await this.#o.approveGate(gate));
        this.#emit({ type: 'gate.decided', step: gate.step, host: gate.host, approved, by });
        return approved;
      },
      pollIntervalMs: this.#o.pollIntervalMs ?? 250,
    };
  }

  #context(step: PlannedStep): StepContext {
    const host = this.#hosts.get(step.host) as Host;
    const abs: Record<string, string> = {};
    for (const [file, sha] of Object.entries(this.#o.plan.localFiles)) abs[file] = sha;
    return {
      host: { name: host.name, address: host.address, roles: host.roles, vars: host.vars },
      runDir: `${this.#o.remoteRunRoot ?? '/var/tmp/cutover'}/${this.#o.runId}`,
      controllerDir: this.#o.plan.runbook.dir,
      stepId: step.id.replace(/[^A-Za-z0-9_.-]/g, '_'),
      localSha256: abs,
    };
  }

  // ---- saga ----

  /** Undo the host's completed steps (this run, every phase), newest first. */
  async #saga(hostName: string): Promise<boolean> {
    const state = this.#refresh();
    const todo = [...state.steps.values()]
      .filter((s) => s.host === hostName && s.phase !== 'preflight' && needsCompensation(s))
      .sort((a, b) => (b.completedSeq ?? 0) - (a.completedSeq ?? 0));
    let ok = true;
    for (const s of todo) ok = (await this.#compensate(s)) && ok;
    return ok;
  }

  async #compensate(s: StepState): Promise<boolean> {
    const step = this.#stepFor(s);
    if (!step) {
      this.#emit({
        type: 'compensation.failed',
        step: s.id,
        host: s.host,
        error: 'step is not in this plan',
      });
      return false;
    }
    if (s.id.includes('/drain@')) {
      const unhealthy = await this.#untilHealthy(step.phase, step.host);
      if (unhealthy) {
        this.#emit({ type: 'compensation.failed', step: s.id, host: s.host, error: unhealthy });
        return false;
      }
    }
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    const ctx = this.#context(step);
    const actions: readonly Action[] = kind.compensate?.(step.params, s.outputs, ctx) ?? [];
    if (actions.length === 0) return true;
    this.#emit({ type: 'compensation.started', step: s.id, host: s.host });
    try {
      const env = await this.#actionEnv(step, ctx, {}, this.#clock.now() + Math.max(step.timeoutMs, 120_000));
      // A compensation must run to the end even when the operator aborted the run.
      env.signal = new AbortController().signal;
      for (const action of actions) await runAction(action, env);
      this.#emit({ type: 'compensation.succeeded', step: s.id, host: s.host });
      return true;
    } catch (e) {
      this.#emit({
        type: 'compensation.failed',
        step: s.id,
        host: s.host,
        error: this.#o.redactor.redact((e as Error).message),
      });
      return false;
    }
  }

  /**
   * Before traffic goes back to a host, its own instance must answer the drain's health check:
   * routing users to a node that is still starting would fail their requests. If it never does,
   * traffic stays on the neighbour and the undo is reported as failed (a later rollback retries).
   */
  async #untilHealthy(phaseId: string, hostName: string): Promise<string | undefined> {
    const phase = this.#o.plan.phases.find((p) => p.id === phaseId);
    const host = this.#hosts.get(hostName);
    if (!phase?.drain?.health || !host) return undefined;
    const health = phase.drain.health;
    const url = staticValue(renderTemplate(health.url, this.#o.templateScope(host, host)));
    let last = '';
    try {
      await waitFor(
        this.#clock,
        {
          deadline: this.#clock.now() + DRAIN_HEALTH_TIMEOUT_MS,
          intervalMs: 250,
          what: `${url} before restoring traffic`,
        },
        async () => {
          const res = await sendHttp({ url, method: 'GET', headers: {}, insecure: true }, 5000);
          last = `${res.error ?? res.status}`;
          return { done: health.expectStatus.includes(res.status) };
        },
      );
      return undefined;
    } catch {
      return `${host.name} is not healthy: ${url} did not answer ${health.expectStatus.join('/')} within ${DRAIN_HEALTH_TIMEOUT_MS / 1000}s (last: ${last}); its traffic stays where it is. Fix the node, then run \`cutover rollback ${this.#o.runId}\`.`;
    }
  }

  #stepFor(s: StepState): PlannedStep | undefined {
    const known = this.#steps.get(s.id);
    if (known) return known;
    if (s.id.includes('/drain@') && s.outputs.upstream) {
      const phase = this.#o.plan.phases.find((p) => p.id === s.phase);
      const host = this.#hosts.get(s.host);
      if (phase?.drain && host) {
        const step = this.#drainStep(phase, host, s.outputs.upstream);
        this.#steps.set(s.id, step);
        return step;
      }
    }
    return undefined;
  }

  // ---- plumbing ----

  async #connectAll(): Promise<void> {
    const results = await Promise.allSettled(this.#o.plan.hosts.map((h) => this.#session(h.name)));
    const failed = results
      .map((r, i) =>
        r.status === 'rejected' ? `${this.#o.plan.hosts[i]?.name}: ${(r.reason as Error).message}` : '',
      )
      .filter(Boolean);
    if (failed.length) {
      throw new PreflightError(
        `cannot connect to ${failed.length} host(s):\n${failed.join('\n')}`,
        'Nothing was changed. Fix SSH access (try `ssh` to the host by hand) and run again.',
      );
    }
  }

  #session(host: string): Promise<Session> {
    let s = this.#sessions.get(host);
    if (!s) {
      s = this.#o.connect(this.#hosts.get(host) as Host);
      s.catch(() => this.#sessions.delete(host));
      this.#sessions.set(host, s);
    }
    return s;
  }

  async #preflight(): Promise<void> {
    this.#emit({ type: 'preflight.started' });
    const byHost = new Map<string, PlannedStep[]>();
    for (const s of this.#o.plan.preflight) byHost.set(s.host, [...(byHost.get(s.host) ?? []), s]);
    const results = await Promise.allSettled(
      [...byHost.values()].map(async (steps) => {
        for (const s of steps) await this.#executeStep(s);
      }),
    );
    const errors = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as Error).message);
    this.#emit({
      type: 'preflight.finished',
      ok: errors.length === 0,
      ...(errors.length ? { error: errors.join('\n') } : {}),
    });
    if (errors.length)
      throw new PreflightError(
        `preflight failed:\n${errors.join('\n')}`,
        'Nothing was changed on any host. Fix the cause and run again.',
      );
  }

  #preflightPassed(): boolean {
    return this.#o.plan.preflight.every((s) => this.#state.steps.get(s.id)?.status === 'succeeded');
  }

  #throwIfAborted(): void {
    if (this.#o.signal?.aborted)
      throw new AbortedError(
        'aborted by the operator',
        'Hosts in flight were put back by their compensations.',
      );
  }

  #firstFailure(): string | undefined {
    const failed = [...this.#state.steps.values()].filter(
      (s) => s.error && (s.status === 'failed' || s.status === 'compensated'),
    );
    const first = failed.sort((a, b) => (a.completedSeq ?? 0) - (b.completedSeq ?? 0))[0];
    return first ? `${first.id}: ${first.error}` : undefined;
  }

  #emit(body: JournalEventBody): void {
    const event = this.#o.journal.append(this.#o.runId, body);
    if (event.type === 'run.started') this.#state = newRunState(event);
    else if (this.#state) applyEvent(this.#state, event);
    this.#o.onEvent?.(event);
  }

  /** The run's state: read from the journal once, then kept current by #emit. */
  #refresh(): RunState {
    this.#state ??= replay(this.#o.journal.read(this.#o.runId));
    return this.#state;
  }
}

/** Completed, partly done, or an undo that was interrupted or failed (undos are safe to run again). */
function needsCompensation(s: StepState): boolean {
  return (
    s.status === 'succeeded' ||
    s.status === 'compensating' ||
    s.status === 'compensation-failed' ||
    (s.status === 'failed' && s.attempts > 0)
  );
}

/** An approver's answer with who gave it (a plain boolean is the operator's). */
function decided(answer: boolean | { approved: boolean; by: string }): { approved: boolean; by: string } {
  return typeof answer === 'boolean' ? { approved: answer, by: operator() } : answer;
}

function operator(): string {
  try {
    return process.env.CUTOVER_OPERATOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}
