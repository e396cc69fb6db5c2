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
import { sh } from '../shell/command.js';
import { type ConnectionLimits, Connections } from './connections.js';
import type { HostLease } from './lease.js';
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
  /**
   * Opens a session to a host (ssh or local), as the login user or, with `runAs`, through sudo as
   * that user; the engine opens one per host and user and reuses it.
   */
  connect: (host: Host, runAs?: string) => Promise<Session>;
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
  /**
   * The cluster lock on the hosts (lease.ts): taken on every host before preflight, renewed while
   * the run lives, given back when it ends; `onLost` hears when `cutover unlock` broke it.
   */
  lease?: { lease: HostLease; onLost: (why: string) => void };
  /**
   * A check the caller runs while the engine connects and locks, awaited before preflight (before
   * anything runs on a host); its rejection fails the run. Example: the journaled inputs rebuild
   * this very plan (cli/journaled.ts checkRebuilds), a second compile that need not delay the logins.
   */
  startGate?: Promise<void>;
  /**
   * How many connections are set up at once, and how many hosts not in flight keep theirs
   * (connections.ts). Default `{ concurrency: 10, keepOpen: 100 }`.
   */
  connections?: Partial<ConnectionLimits>;
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
  readonly connections: Connections;
  readonly #unreachable = new Map<string, string>();
  #state: RunState | undefined;

  constructor(options: EngineOptions) {
    this.options = options;
    this.plan = options.plan;
    this.clock = options.clock ?? systemClock;
    this.#hosts = new Map(options.plan.hosts.map((h) => [h.name, h]));
    for (const s of allSteps(options.plan)) this.#steps.set(s.id, s);
    this.connections = new Connections(options.connect, options.connections);
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
    // A balancer drain is complete when planned; a node's nginx drain needs the upstream it was routed to.
    if (drain?.id === s.id && !drain.drain) return drain;
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

  /**
   * The host's session as the login user, or (runAs) through sudo as that user: opened once, then
   * reused; after its connection was released it reconnects by itself (connections.ts).
   */
  session(host: string, runAs?: string): Promise<Session> {
    return this.connections.session(this.host(host), runAs);
  }

  /**
   * The run's working folder on a host for the user a step runs as: `/var/tmp/cutover/RUN` for
   * root, `/var/tmp/cutover-USER/RUN` for anyone else, so the folder always belongs to the user that
   * writes it. Example: runDir('web', 'postgres') -> '/var/tmp/cutover-postgres/20261202-1000-ab12'.
   */
  runDir(host: string, runAs?: string): string {
    return `${this.#workRoot(host, runAs)}/${this.options.runId}`;
  }

  #workRoot(host: string, runAs?: string): string {
    const root = this.options.remoteRunRoot ?? '/var/tmp/cutover';
    const user = runAs ?? this.connections.userOf(host);
    return user === undefined || user === 'root' ? root : `${root}-${user}`;
  }

  /** Every (host, user) the plan runs steps as, hosts in plan order. */
  #identities(): { host: string; runAs: string | undefined }[] {
    const seen = new Map<string, { host: string; runAs: string | undefined }>();
    for (const h of this.plan.hosts)
      seen.set(sessionKey(h.name, undefined), { host: h.name, runAs: undefined });
    const add = (host: string, runAs: string | undefined) => {
      if (runAs !== undefined) seen.set(sessionKey(host, runAs), { host, runAs });
    };
    for (const s of allSteps(this.plan)) add(s.host, s.runAs);
    for (const phase of this.plan.phases) for (const d of Object.values(phase.drains)) add(d.host, d.runAs);
    return [...seen.values()];
  }

  /**
   * Opens every session the plan needs (each host's login, and each sudo user its steps run as),
   * then checks the working folder of each: nothing is changed on any host, and every failure is
   * listed with its host and fix. With a lease, the check of each host's lock session travels
   * with its lock instead (lock(): one round trip, not two).
   */
  async connectAll(): Promise<void> {
    const identities = this.#identities();
    const lockIdentity = new Set(
      this.options.lease
        ? this.plan.hosts
            .filter((h) => h.transport !== 'local')
            .map((h) => sessionKey(h.name, h.become?.user))
        : [],
    );
    const results = await Promise.allSettled(
      identities.map(async ({ host, runAs }) => {
        const session = await this.session(host, runAs);
        // A transport that cannot say who it runs as (a recording) has no folder to check.
        if (session.user === undefined) return;
        if (lockIdentity.has(sessionKey(host, runAs))) this.#checkWithLock.add(sessionKey(host, runAs));
        else await this.#checkWorkRoot(session, host, runAs);
      }),
    );
    const failed = results.flatMap((r, i) => {
      if (r.status === 'fulfilled') return [];
      const who = identities[i];
      return [identityFailure(who?.host ?? '?', who?.runAs, r.reason as Error)];
    });
    if (failed.length) throw cannotUse(failed);
  }

  /** Lock sessions whose working folder is checked in the lock's request (connectAll). */
  readonly #checkWithLock = new Set<string>();

  /** The working folder must belong to the user that writes it: a folder left by someone else is an error, never a silent failure. */
  async #checkWorkRoot(session: Session, host: string, runAs: string | undefined): Promise<void> {
    const root = this.#workRoot(host, runAs);
    const res = await session.exec(workRootCheck(root).render('exec'), { timeoutMs: 30_000 });
    const problem = workRootProblem(res, root, session.user ?? runAs ?? 'the ssh user');
    if (problem) throw problem;
  }

  /**
   * Takes the cluster lock on every host of the plan (all or nothing; see lease.ts), then keeps it
   * renewed. The working folders connectAll left to it are checked in the same requests; when one
   * fails, the lock is given back and every such failure is listed, as connectAll does.
   */
  async lock(): Promise<void> {
    const lease = this.options.lease;
    if (!lease) return;
    const failed: string[] = [];
    await lease.lease.acquire(
      // The controller itself (transport: local) is covered by the state folder's lease only.
      this.plan.hosts
        .filter((h) => h.transport !== 'local')
        .map((h) => {
          const runAs = h.become?.user;
          const root = this.#workRoot(h.name, runAs);
          const user = runAs ?? this.connections.userOf(h.name) ?? 'the ssh user';
          return {
            host: h.name,
            address: h.address,
            // Through sudo where the host has become, so every operator's run meets one owner (root).
            session: () => this.session(h.name, runAs),
            // Renewed only while connected: the renewal never reopens a finished host's connection.
            connected: () => this.connections.isOpen(h.name, runAs),
            ...(this.#checkWithLock.has(sessionKey(h.name, runAs))
              ? {
                  alongside: {
                    script: workRootTest(root),
                    verdict: (res: { code: number; stdout: string }) => {
                      const problem = workRootProblem({ ...res, stderr: '' }, root, user);
                      if (problem) failed.push(identityFailure(h.name, runAs, problem));
                    },
                  },
                }
              : {}),
          };
        }),
    );
    this.#checkWithLock.clear();
    if (failed.length) {
      await lease.lease.release();
      throw cannotUse(failed);
    }
    lease.lease.startRenewal(lease.onLost);
  }

  async close(): Promise<void> {
    await this.options.lease?.lease.release();
    await this.connections.closeAll();
  }

  throwIfAborted(): void {
    if (this.signal?.aborted)
      throw new AbortedError(
        'aborted by the operator',
        'Hosts in flight were put back by their compensations.',
      );
  }
}

function sessionKey(host: string, runAs: string | undefined): string {
  return runAs === undefined ? host : `${host}\u0000${runAs}`;
}

/** One line of "cannot use host sessions": the host, the user, what failed and its hint. */
function identityFailure(host: string, runAs: string | undefined, e: Error & { hint?: string }): string {
  return `${host}${runAs ? ` (as ${runAs})` : ''}: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`;
}

function cannotUse(failed: readonly string[]): PreflightError {
  return new PreflightError(
    `cannot use ${failed.length} host session(s):\n${failed.join('\n')}`,
    'Nothing was changed. Fix SSH access, sudo or the working folder as each line says (try `ssh` to the host by hand) and run again.',
  );
}

/** What workRootCheck's answer means: undefined when the folder is usable, else the error naming it and the fix. */
function workRootProblem(
  res: { code: number; stdout: string; stderr: string },
  root: string,
  user: string,
): Error | undefined {
  if (res.code === 0) return undefined;
  const said = res.stdout.trim() || res.stderr.trim() || `exit ${res.code}`;
  return new Error(
    `cutover's working folder ${root} ${said}; steps there run as ${user}. ` +
      (res.code === 4
        ? `It was left by another user (an earlier run as that user?). Check \`cutover runs\` that no run still needs its backups, then remove it or \`chown -R ${user} ${root}\` on the host.`
        : `Make ${root} a folder ${user} owns and can write (or let ${user} create it in its parent).`),
  );
}

/**
 * Checks, changing nothing, that `root` is (or can become) a folder the session's user owns and
 * writes, without exiting: `$check_code` is 0, or 3-6 with the reason in `$check_out`. Builtins
 * only while the folder exists (it runs on every host at the start of a run, where each process
 * costs a fork and an exec; `dirname` runs only the first time, before the folder is made). The
 * shape the lock's request wants (HostLease's `alongside`).
 */
export function workRootTest(root: string) {
  return sh`d=${root}; check_code=0; check_out=
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then check_code=3; check_out='is not a folder'
elif [ -d "$d" ]; then
  if [ ! -O "$d" ]; then check_code=4; check_out="belongs to $(stat -c %U -- "$d" 2>/dev/null || echo 'another user')"
  elif ! { [ -w "$d" ] && [ -x "$d" ]; }; then check_code=5; check_out='is not writable'
  fi
else
  p=$(dirname -- "$d")
  [ -w "$p" ] || { check_code=6; check_out="cannot be made: $p is not writable"; }
fi`;
}

/** workRootTest as a request of its own: exit code 3-6 with the reason on stdout. */
export function workRootCheck(root: string) {
  return sh`${workRootTest(root)}
[ "$check_code" = 0 ] || printf '%s\n' "$check_out"
exit "$check_code"`;
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
