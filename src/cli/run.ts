import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { PlanMismatchError, UsageError } from '../errors.js';
import { ClusterLock, ControlWatcher, controlFile, raceGate } from '../state/index.js';
import { fileHistory } from '../state/history.js';
import type { StateConnection } from '../state/pg/connection.js';
import { Engine, type EngineOptions, type GateApprover, HostLease, operator } from '../engine/index.js';
import type { JournalEvent, JournalEventBody, RunInputs } from '../journal/events.js';
import { replay, type StepStatus } from '../journal/replay.js';
import { describeChanges, diffPlans, mergePlans, type PlanChange } from '../plan/replan.js';
import { journalSteps } from '../plan/types.js';
import { renderPlan } from '../plan/render.js';
import { renderPlanSummary } from '../plan/summary.js';
import { createEventPrinter, type EventPrinter } from '../ui/printer.js';
import { askYesNo } from '../ui/prompt.js';
import {
  becomePassword,
  connectionLimits,
  connector,
  collect,
  type GlobalOptions,
  INVENTORY_HELP,
  FROM_HELP,
  LIMIT_HELP,
  ONLY_HELP,
  PARAM_HELP,
  resolveHostConnections,
  type InputOptions,
  newRunId,
  openJournal,
  type Prepared,
  prepare,
  runOrLatest,
  stateDir,
  templateScope,
} from './context.js';
import { attachRun, bringRunHere, openShared } from './shared-run.js';
import {
  captureInputs,
  checkRebuilds,
  currentFiles,
  type JournaledRun,
  journaledRun,
  withPlan,
} from './journaled.js';

interface RunFlags {
  yes?: boolean;
  approveGates?: boolean;
  awaitApproval?: boolean;
  rerun?: string[];
  markDone?: string[];
}

/** `apply`, `resume RUN`, `rollback RUN`: the three commands that change hosts. */
export function registerRunCommands(program: Command): void {
  program
    .command('apply')
    .description('validate, run preflight, then execute the plan with its rolling policy (journaled)')
    .requiredOption('-r, --runbook <file>', 'runbook YAML')
    .option('-i, --inventory <path>', INVENTORY_HELP, collect)
    .option('-p, --param <key=value...>', PARAM_HELP)
    .option('-l, --limit <hosts>', LIMIT_HELP)
    .option('--only <step...>', ONLY_HELP)
    .option('--from <step>', FROM_HELP)
    .option('-y, --yes', 'do not ask before starting (never approves a gate.confirm)')
    .option('--approve-gates', 'approve every gate.confirm and canary gate without asking')
    .option(AWAIT_APPROVAL, AWAIT_APPROVAL_HELP)
    .option('--show-plan', 'print the whole plan before starting')
    .action(async (opts: InputOptions & RunFlags & { showPlan?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const prepared = await prepare(opts, undefined, 'resolve', global);
      // Before anything connects: what ssh will use per host; a host ssh cannot resolve stops here (exit 2).
      await resolveHostConnections(prepared.plan.hosts, global, 'error');
      if (opts.showPlan)
        process.stdout.write(
          (global.verbose ?? 0) >= 1 ? renderPlan(prepared.plan) : renderPlanSummary(prepared.plan),
        );
      const steps = prepared.plan.phases.reduce((n, p) => n + Object.values(p.steps).flat().length, 0);
      if (!opts.yes) {
        const ok = await ask(
          `Apply plan ${prepared.plan.hash.slice(0, 12)} (${steps} steps on ${prepared.plan.hosts.length} hosts, cluster ${prepared.plan.inventory.cluster})? [y/N] `,
        );
        if (!ok)
          throw new UsageError(
            'not started: the operator said no',
            'Run `cutover plan` to review it, then `cutover apply` again (or pass --yes).',
          );
      }
      // Before anything connects to a host: a shared state that cannot be reached stops here (exit 7).
      const shared = await openShared(global);
      const runId = newRunId();
      process.exitCode = await execute('apply', runId, prepared, opts, global, { shared });
    });

  program
    .command('resume [run]')
    .description(
      'continue a run (default: the latest) from its journal: verified steps are skipped, an interrupted step is re-probed first',
    )
    .option('-y, --yes', 'accepted for symmetry; resume does not ask')
    .option('--approve-gates', 'approve every gate without asking')
    .option(AWAIT_APPROVAL, AWAIT_APPROVAL_HELP)
    .option('--rerun <step...>', 'plan step ids to run again although their probe cannot tell')
    .option('--mark-done <step...>', 'plan step ids the operator verified as done')
    .option(
      '--replan',
      'the runbook or inventory was edited since the run started: run the steps not done yet as the files now say (done steps and their undos stay as journaled)',
    )
    .action(async (given: string | undefined, opts: RunFlags & { replan?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const shared = await openShared(global);
      const run = await runHere(given, global, 'resume', shared);
      const { prepared, copies, replanned } = await forResume(run, global, opts.replan ?? false);
      process.exitCode = await execute('resume', run, prepared, opts, global, {
        copies,
        shared,
        ...(replanned ? { first: replanned } : {}),
      });
    });

  program
    .command('rollback [run]')
    .description(
      'undo every completed step of a run (default: the latest) on every host, newest first, with verification; works from the journal alone',
    )
    .option('-y, --yes', 'do not ask before starting')
    .action(async (given: string | undefined, opts: RunFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const shared = await openShared(global);
      const run = await runHere(given, global, 'rollback', shared);
      const { journaled, changes } = await fromJournal(run, global);
      const { prepared } = journaled;
      if (changes.length > 0)
        process.stderr.write(
          `note: the runbook/inventory changed since run ${run} (${changes.length} change${changes.length === 1 ? '' : 's'}); the rollback undoes what the journal holds, as it was run.\n`,
        );
      if (!opts.yes && !(await ask(`Roll back run ${run} on ${prepared.plan.hosts.length} hosts? [y/N] `))) {
        throw new UsageError('not started: the operator said no');
      }
      process.exitCode = await execute('rollback', run, prepared, opts, global, {
        copies: journaled.copies,
        shared,
      });
    });
}

/**
 * The run to resume or roll back (default: the latest, in the shared state when there is one), in
 * this state folder: a run another controller started is copied here from the shared state first.
 */
async function runHere(
  given: string | undefined,
  global: GlobalOptions,
  command: string,
  shared: StateConnection | undefined,
): Promise<string> {
  if (!shared) return runOrLatest(given, fileHistory(stateDir(global)), command);
  const { sharedHistory } = await import('../state/pg/history.js');
  const run = await runOrLatest(given, sharedHistory(shared), command);
  await bringRunHere(shared, global, run);
  return run;
}

/**
 * The run's plan from its journal, and what the files as they are now would change (empty when they
 * are gone, do not load, or compile to the journaled plan). Notes about the files go to stderr.
 */
async function fromJournal(
  run: string,
  global: GlobalOptions,
): Promise<{ journaled: JournaledRun; changes: PlanChange[]; now?: Prepared; events: JournalEvent[] }> {
  const journal = openJournal(global);
  const events = journal.read(run);
  if (events.length === 0) {
    throw new UsageError(
      `no run ${run} in ${stateDir(global)}`,
      'List runs with `cutover runs` (and pass the same --state-dir as the run).',
    );
  }
  const journaled = await journaledRun(events, journal.runDir(run), 'resolve');
  if (!journaled.inputs) return { journaled, changes: [], events };
  const current = await currentFiles(journaled.inputs, journaled.prepared.plan.params, 'placeholder', {});
  if ('missing' in current) {
    process.stderr.write(`note: ${current.missing}; run ${run} goes on from its journal.\n`);
    return { journaled, changes: [], events };
  }
  if ('invalid' in current) {
    process.stderr.write(
      `note: the runbook/inventory of run ${run} do not load now (${current.invalid.problems.filter((p) => p.severity === 'error').length} problem(s); \`cutover validate\` shows them); run ${run} goes on from its journal.\n`,
    );
    return { journaled, changes: [], events };
  }
  if (current.prepared.plan.hash === journaled.compiledHash) return { journaled, changes: [], events };
  const changes = diffPlans(journaled.prepared.plan, current.prepared.plan);
  return { journaled, changes, now: current.prepared, events };
}

/**
 * Steps whose journaled version a replan keeps: done, interrupted, or with an undo pending or failed.
 * A step that failed and was put back (or has no undo) takes the new version: that is the fix.
 */
function keptSteps(events: readonly JournalEvent[]): Set<string> {
  const state = replay(events);
  const kept: ReadonlySet<StepStatus> = new Set([
    'succeeded',
    'running',
    'compensating',
    'compensation-failed',
  ]);
  return new Set([...state.steps.values()].filter((s) => kept.has(s.status)).map((s) => s.id));
}

/** What resume runs: the journaled plan, or with --replan the edited files' plan for the steps not done. */
async function forResume(
  run: string,
  global: GlobalOptions,
  replan: boolean,
): Promise<{ prepared: Prepared; copies: Record<string, string>; replanned?: JournalEventBody }> {
  const { journaled, changes, now, events } = await fromJournal(run, global);
  if (!now || changes.length === 0) {
    if (replan && !journaled.inputs)
      throw new UsageError(
        `run ${run} was journaled before cutover kept its runbook and inventory: it cannot be replanned`,
        'Resume it with the files as they were, or roll it back.',
      );
    if (replan)
      process.stderr.write(`note: the files give the journaled plan of run ${run}; nothing to replan.\n`);
    return { prepared: journaled.prepared, copies: journaled.copies };
  }
  const kept = keptSteps(events);
  const lines = describeChanges(changes, kept);
  if (!replan)
    throw new PlanMismatchError(
      [
        `the runbook/inventory changed since run ${run} started (journaled plan ${journaled.compiledHash.slice(0, 12)}, the files now give ${now.plan.hash.slice(0, 12)}):`,
        ...lines.map((l) => `  ${l}`),
      ].join('\n'),
      `Nothing was run. \`cutover resume ${run} --replan\` runs the steps not done yet as the files now say (done steps and their undos stay as journaled); \`cutover rollback ${run}\` undoes the run as journaled; or put the files back as they were.`,
    );
  // With the secrets for real this time (a new one is asked for; known ones are not asked again).
  const inputs = journaled.inputs as RunInputs;
  const current = await currentFiles(inputs, journaled.prepared.plan.params, 'resolve', journaled.secrets);
  if (!('prepared' in current))
    throw new UsageError(`the files of run ${run} changed while resuming`, 'Try again.');
  const next = current.prepared;
  const plan = mergePlans(journaled.prepared.plan, next.plan, kept);
  const captured = captureInputs(next, openJournal(global).runDir(run));
  process.stderr.write(
    `Replanning run ${run}: ${kept.size} done step(s) stay as journaled; the steps not done yet follow the files:\n${lines.map((l) => `  ${l}\n`).join('')}`,
  );
  const prepared = withPlan(next, plan, journaled.secrets);
  return {
    prepared,
    copies: { ...journaled.copies, ...captured.copies },
    replanned: {
      type: 'run.replanned',
      planHash: plan.hash,
      compiledHash: next.plan.hash,
      previousHash: journaled.prepared.plan.hash,
      operator: operatorName(),
      kept: [...kept],
      changes: lines,
      hosts: plan.hosts.map((h) => h.name),
      steps: journalSteps(plan),
      inputs: captured.inputs,
    },
  };
}

/** What a run reads besides its plan: upload copies, (replan) an event to journal first, and the shared state. */
interface RunExtras {
  copies?: Record<string, string>;
  first?: JournalEventBody;
  shared?: StateConnection | undefined;
}

async function execute(
  mode: 'apply' | 'resume' | 'rollback',
  runId: string,
  prepared: Prepared,
  flags: RunFlags,
  global: GlobalOptions,
  extras: RunExtras = {},
): Promise<number> {
  try {
    return await executeWithLocks(mode, runId, prepared, flags, global, extras);
  } finally {
    // Whatever happened (a lock held, a failed run): no connection to the shared state stays open.
    await extras.shared?.close();
  }
}

async function executeWithLocks(
  mode: 'apply' | 'resume' | 'rollback',
  runId: string,
  prepared: Prepared,
  flags: RunFlags,
  global: GlobalOptions,
  extras: RunExtras,
): Promise<number> {
  const dir = stateDir(global);
  // Set once the abort machinery exists; a lease broken before that cannot happen (renewals are 20 s apart).
  let lockLost = (_by: string) => {};
  const lock = ClusterLock.acquire(dir, prepared.plan.inventory.cluster, runId, operator(), {
    onLost: (current) =>
      lockLost(
        current
          ? `cutover unlock --force: the cluster lock is now held by ${current.owner}, run ${current.runId}`
          : 'cutover unlock --force: the cluster lock was broken',
      ),
  });
  // The lock that counts lives on the hosts (engine/lease.ts): it meets runs from other state
  // folders and other controllers. The local lease above only answers fast within one folder.
  const hostLease = new HostLease(runId, operator());
  try {
    return await executeLocked(
      mode,
      runId,
      prepared,
      flags,
      global,
      extras,
      (onLost) => {
        lockLost = onLost;
      },
      { lease: hostLease, onLost: (why) => lockLost(why) },
    );
  } finally {
    lock.release();
  }
}

async function executeLocked(
  mode: 'apply' | 'resume' | 'rollback',
  runId: string,
  prepared: Prepared,
  flags: RunFlags,
  global: GlobalOptions,
  extras: RunExtras,
  onLockLost: (abort: (by: string) => void) => void,
  lease: NonNullable<EngineOptions['lease']>,
): Promise<number> {
  const dir = stateDir(global);
  const connections = connectionLimits(global);
  // Asked once per run, before anything connects; it joins the redactor's secrets first.
  const password = await becomePassword(prepared.plan, global, prepared.redactor);
  const fileJournal = openJournal(global, prepared.redactor);
  // The dashboard (`cutover serve`) asks through the run's control file (and the shared state's
  // control feed): gate decisions and aborts.
  const control = new ControlWatcher(controlFile(dir, runId)).start();
  let notice: (text: string) => void = (text) => process.stderr.write(`cutover: ${text}\n`);
  const attached = extras.shared
    ? await attachRun(extras.shared, {
        journal: fileJournal,
        run: runId,
        cluster: prepared.plan.inventory.cluster,
        operator: operatorName(),
        watcher: control,
        notice: (text) => notice(text),
        onLost: (why) => lease.onLost(why),
      }).catch((e: unknown) => {
        control.stop();
        throw e;
      })
    : undefined;
  const journal = attached?.journal ?? fileJournal;
  let copies = extras.copies ?? {};
  let inputs: RunInputs | undefined;
  if (mode === 'apply') {
    // What resume and rollback need, whatever happens to the files later; checked to rebuild this very plan.
    ({ inputs, copies } = captureInputs(prepared, journal.runDir(runId)));
  }
  // Checked while the hosts are logged into and locked, before anything runs on them.
  const rebuilds = inputs ? checkRebuilds(inputs, prepared) : undefined;
  rebuilds?.catch(() => undefined);
  if (extras.first) journal.append(runId, extras.first);
  if (mode !== 'rollback') writePlanRecord(journal.runDir(runId), prepared);
  const transports = connector(global, { password }, prepared.redactor);
  const abort = new AbortController();
  // Every host's waits, commands and requests listen to this one signal at once (8 hosts: ~24).
  setMaxListeners(0, abort.signal);
  let interrupts = 0;
  const printer = eventPrinter(global);
  notice = (text) => {
    const resume = printer.pause();
    process.stderr.write(`cutover: ${text}\n`);
    resume();
  };
  if (mode !== 'apply') printer.history(journal.read(runId));
  const requestAbort = (by: string) => {
    if (abort.signal.aborted) return;
    const resume = printer.pause();
    process.stderr.write(
      `\nAborting (asked by ${by}): hosts in flight will be put back by their compensations${by === operatorName() ? ' (Ctrl-C again to quit at once)' : ''}.\n`,
    );
    resume();
    onEvent(journal.append(runId, { type: 'abort.requested', by }));
    abort.abort(new Error('aborted by the operator'));
  };
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    requestAbort(operatorName());
  };
  process.on('SIGINT', onSigint);
  control.onAbort((by) => requestAbort(by));
  // Another operator broke the lease to take the cluster: stop starting anything, put hosts back.
  onLockLost((why) => requestAbort(why));
  const onEvent = (e: Parameters<EventPrinter>[0]) => {
    control.observe(e);
    printer(e);
  };
  const engine = new Engine({
    plan: prepared.plan,
    runId,
    journal,
    connect: transports.connect,
    redactor: prepared.redactor,
    approveGate: gateApprover(flags, control, abort.signal, printer),
    templateScope: (host, neighbour) =>
      templateScope(
        {
          runbook: prepared.runbook,
          inventory: prepared.inventory,
          params: prepared.params,
          secrets: prepared.secrets,
        },
        host,
        neighbour,
      ),
    signal: abort.signal,
    localCopies: copies,
    ...(inputs ? { inputs } : {}),
    ...(flags.rerun ? { rerun: new Set(flags.rerun) } : {}),
    ...(flags.markDone ? { markDone: new Set(flags.markDone) } : {}),
    onEvent,
    lease,
    connections,
    ...(rebuilds ? { startGate: rebuilds } : {}),
  });
  try {
    if (mode === 'rollback') return (await engine.rollback()) ? 0 : 1;
    await (mode === 'apply' ? engine.apply() : engine.resume());
    return 0;
  } finally {
    control.stop();
    process.off('SIGINT', onSigint);
    await transports.close();
    // Before the printer closes: what could not be sent to the shared state is said on screen.
    await attached?.detach();
    printer.close();
    journal.close();
  }
}

const AWAIT_APPROVAL = '--await-approval';
const AWAIT_APPROVAL_HELP =
  'with no terminal, wait at each gate for a decision from the dashboard (cutover serve) instead of declining';

/**
 * `--approve-gates` wins; otherwise the terminal prompt (if there is a terminal) races the
 * dashboard's requests on the control channel, and the first answer decides.
 */
function gateApprover(
  flags: RunFlags,
  control: ControlWatcher,
  signal: AbortSignal,
  printer: EventPrinter,
): GateApprover {
  return raceGate(control, {
    approveAll: flags.approveGates ?? false,
    awaitRemote: flags.awaitApproval ?? false,
    signal,
    notice: (text) => {
      const resume = printer.pause();
      process.stderr.write(text);
      resume();
    },
    ...(process.stdin.isTTY
      ? {
          prompt: async (gate, cancel) => {
            const resume = printer.pause();
            try {
              return await askYesNo(`\n[${gate.host}] ${gate.message} Approve? [y/N] `, cancel);
            } finally {
              resume();
            }
          },
        }
      : {}),
  });
}

function operatorName(): string {
  return process.env.USER ?? 'operator';
}

async function ask(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UsageError(
      'cannot ask for confirmation: stdin is not a terminal',
      'Pass --yes to start without asking.',
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((r) => rl.question(question, r));
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * The plan the run follows, as `plan --json` prints it (secrets as `<secret:name>`, never a value),
 * kept in the run folder as `plan.json` for people and tools; resume and rollback rebuild it from the
 * journaled inputs instead of reading it back.
 */
function writePlanRecord(runDir: string, prepared: Prepared): void {
  const { plan } = prepared;
  const record = prepared.redactor.redactValue({
    hash: plan.hash,
    runbook: plan.runbook,
    inventory: plan.inventory,
    params: plan.params,
    hosts: plan.hosts,
    preflight: plan.preflight,
    phases: plan.phases,
    localFiles: plan.localFiles,
  });
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'plan.json'), `${JSON.stringify(record, null, 1)}\n`, { mode: 0o600 });
}

/** The event printer for apply/resume/rollback: JSON lines, the live per-host view on a terminal, or the host-prefixed line log. */
function eventPrinter(opts: GlobalOptions): EventPrinter {
  return createEventPrinter({
    json: opts.json ?? false,
    verbose: (opts.verbose ?? 0) >= 1,
    output: (opts.verbose ?? 0) >= 2,
    stream: process.stdout,
  });
}
