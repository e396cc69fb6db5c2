/**
 * What the engine's parts share during one run: the options, one session per host, the journal
 * (every event goes through `emit`, which keeps the run's state current), and the plan's steps.
 */
import { userInfo } from 'node:os';
import { type Clock, systemClock } from '../actions/index.js';
import { AbortedError, CutoverError, PreflightError } from '../errors.js';
import type { Host } from '../inventory/model.js';
import type { JournalEvent, JournalEventBody, JournalStore, RunInputs } from '../journal/events.js';
import { applyEvent, newRunState, type RunState, replay, type StepState } from '../journal/replay.js';
import { drainOf, routeStep } from '../plan/drain.js';
import type { Plan, PlannedStep } from '../plan/types.js';
import { allSteps } from '../plan/types.js';
import type { TemplateScope } from '../runbook/template.js';
import type { Redactor } from '../shell/secret.js';
import type { Session } from '../transport/transport.js';

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
  /** Uploaded controller files (absolute path) -> the run folder's copy the upload reads instead. */
  localCopies?: Readonly<Record<string, string>>;
  /** Journaled with `run.started`: what resume and rollback rebuild the plan from. */
  inputs?: RunInputs;
  /** Observers of every journaled event (progress UI, --json). */
  onEvent?: (event: JournalEvent) => void;
}

/** A step could not be resumed safely: the run stops without compensating anything. */
export class ResumeBlocked extends CutoverError {
  readonly exitCode = 1 as const;
}

/** One run's shared services. Example: `run.emit({ type: 'phase.started', phase: 'upgrade' })`. */
export class RunContext {
  readonly options: EngineOptions;
  readonly plan: Plan;
  readonly clock: Clock;
  readonly #hosts: Map<string, Host>;
  readonly #steps = new Map<string, PlannedStep>();
  readonly #sessions = new Map<string, Promise<Session>>();
  readonly #unreachable = new Map<string, string>();
  #state: RunState | undefined;

  constructor(options: EngineOptions) {
    this.options = options;
    this.plan = options.plan;
    this.clock = options.clock ?? systemClock;
    this.#hosts = new Map(options.plan.hosts.map((h) => [h.name, h]));
    for (const s of allSteps(options.plan)) this.#steps.set(s.id, s);
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** The run's state so far, if the journal has been read or written yet. */
  get current(): RunState | undefined {
    return this.#state;
  }

  host(name: string): Host {
    return this.#hosts.get(name) as Host;
  }

  /** The run's state: read from the journal once, then kept current by `emit`. */
  state(): RunState {
    this.#state ??= replay(this.options.journal.read(this.options.runId));
    return this.#state;
  }

  emit(body: JournalEventBody): void {
    const event = this.options.journal.append(this.options.runId, body);
    if (event.type === 'run.started') this.#state = newRunState(event);
    else if (this.#state) applyEvent(this.#state, event);
    this.options.onEvent?.(event);
  }

  /** The planned step behind a journaled one; a drain is rebuilt for the upstream it was routed to. */
  stepFor(s: StepState): PlannedStep | undefined {
    const known = this.#steps.get(s.id);
    if (known) return known;
    const phase = this.plan.phases.find((p) => p.id === s.phase);
    const drain = phase && drainOf(phase, s.host);
    if (drain?.id === s.id && s.outputs.upstream) return routeStep(drain, s.outputs.upstream);
    return undefined;
  }

  /** Why a host is unreachable in this run (every reconnect attempt failed), or undefined. */
  unreachable(host: string): string | undefined {
    return this.#unreachable.get(host);
  }

  /** Records (once) and journals that a host stayed unreachable: nothing more is tried there in this run. */
  markUnreachable(host: string, error: string): void {
    if (this.#unreachable.has(host)) return;
    this.#unreachable.set(host, error);
    this.emit({ type: 'host.unreachable', host, error });
  }

  /** Asks the approver, and journals who decided. */
  async decide(gate: { step: string; host: string; message: string }): Promise<boolean> {
    const { approved, by } = decided(await this.options.approveGate(gate));
    this.emit({ type: 'gate.decided', step: gate.step, host: gate.host, approved, by });
    return approved;
  }

  session(host: string): Promise<Session> {
    let s = this.#sessions.get(host);
    if (!s) {
      s = this.options.connect(this.host(host));
      s.catch(() => this.#sessions.delete(host));
      this.#sessions.set(host, s);
    }
    return s;
  }

  /** Opens a session to every host of the plan, or says which cannot be reached (nothing changed yet). */
  async connectAll(): Promise<void> {
    const hosts = this.plan.hosts;
    const results = await Promise.allSettled(hosts.map((h) => this.session(h.name)));
    const failed = results
      .map((r, i) => (r.status === 'rejected' ? `${hosts[i]?.name}: ${(r.reason as Error).message}` : ''))
      .filter(Boolean);
    if (failed.length) {
      throw new PreflightError(
        `cannot connect to ${failed.length} host(s):\n${failed.join('\n')}`,
        'Nothing was changed. Fix SSH access (try `ssh` to the host by hand) and run again.',
      );
    }
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s.catch(() => undefined))?.close()));
  }

  throwIfAborted(): void {
    if (this.signal?.aborted)
      throw new AbortedError(
        'aborted by the operator',
        'Hosts in flight were put back by their compensations.',
      );
  }
}

/** An approver's answer with who gave it (a plain boolean is the operator's). */
function decided(answer: boolean | { approved: boolean; by: string }): { approved: boolean; by: string } {
  return typeof answer === 'boolean' ? { approved: answer, by: operator() } : answer;
}

/** Who runs cutover: `CUTOVER_OPERATOR`, else the login name. */
export function operator(): string {
  try {
    return process.env.CUTOVER_OPERATOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}
