import { setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { PlanMismatchError, UsageError } from '../errors.js';
import { ClusterLock, ControlWatcher, controlFile, raceGate } from '../state/index.js';
import { Engine, type EngineOptions, type GateApprover, HostLease, operator } from '../engine/index.js';
import { replay } from '../journal/replay.js';
import { renderPlan } from '../plan/render.js';
import type { EventPrinter } from '../ui/printer.js';
import { askYesNo } from '../ui/prompt.js';
import {
  becomePassword,
  connector,
  eventPrinter,
  collect,
  type GlobalOptions,
  INVENTORY_HELP,
  resolveHostConnections,
  type InputOptions,
  newRunId,
  openJournal,
  type Prepared,
  prepare,
  stateDir,
  templateScope,
} from './context.js';

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
    .option('-p, --param <key=value...>', 'runbook params')
    .option('-y, --yes', 'do not ask before starting (never approves a gate.confirm)')
    .option('--approve-gates', 'approve every gate.confirm and canary gate without asking')
    .option(AWAIT_APPROVAL, AWAIT_APPROVAL_HELP)
    .option('--show-plan', 'print the whole plan before starting')
    .action(async (opts: InputOptions & RunFlags & { showPlan?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const prepared = await prepare(opts);
      // Before anything connects: what ssh will use per host; a host ssh cannot resolve stops here (exit 2).
      await resolveHostConnections(prepared.plan.hosts, global, 'error');
      if (opts.showPlan) process.stdout.write(renderPlan(prepared.plan));
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
      const runId = newRunId();
      process.exitCode = await execute('apply', runId, prepared, opts, global);
    });

  program
    .command('resume <run>')
    .description(
      'continue a run from its journal: verified steps are skipped, an interrupted step is re-probed first',
    )
    .option('-y, --yes', 'accepted for symmetry; resume does not ask')
    .option('--approve-gates', 'approve every gate without asking')
    .option(AWAIT_APPROVAL, AWAIT_APPROVAL_HELP)
    .option('--rerun <step...>', 'plan step ids to run again although their probe cannot tell')
    .option('--mark-done <step...>', 'plan step ids the operator verified as done')
    .action(async (run: string, opts: RunFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const prepared = await fromJournal(run, global);
      process.exitCode = await execute('resume', run, prepared, opts, global);
    });

  program
    .command('rollback <run>')
    .description('undo every completed step of a run on every host, newest first, with verification')
    .option('-y, --yes', 'do not ask before starting')
    .action(async (run: string, opts: RunFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const prepared = await fromJournal(run, global);
      if (!opts.yes && !(await ask(`Roll back run ${run} on ${prepared.plan.hosts.length} hosts? [y/N] `))) {
        throw new UsageError('not started: the operator said no');
      }
      process.exitCode = await execute('rollback', run, prepared, opts, global);
    });
}

/** Recompiles the run's plan from the files and params its journal names; the hash must match. */
async function fromJournal(run: string, global: GlobalOptions): Promise<Prepared> {
  const journal = openJournal(global);
  const events = journal.read(run);
  if (events.length === 0) {
    throw new UsageError(
      `no run ${run} in ${stateDir(global)}`,
      'List runs with `cutover runs` (and pass the same --state-dir as the run).',
    );
  }
  const state = replay(events);
  const prepared = await prepare({ runbook: state.runbook, inventory: state.inventory }, state.params);
  if (prepared.plan.hash !== state.planHash) {
    throw new PlanMismatchError(
      `the plan for run ${run} changed: journal has ${state.planHash.slice(0, 12)}, the runbook/inventory/files now give ${prepared.plan.hash.slice(0, 12)}`,
      'Put back the runbook, inventory and uploaded files as they were for this run, or roll it back with the old files; a changed plan is never resumed.',
    );
  }
  return prepared;
}

async function execute(
  mode: 'apply' | 'resume' | 'rollback',
  runId: string,
  prepared: Prepared,
  flags: RunFlags,
  global: GlobalOptions,
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
  onLockLost: (abort: (by: string) => void) => void,
  lease: NonNullable<EngineOptions['lease']>,
): Promise<number> {
  const dir = stateDir(global);
  // Asked once per run, before anything connects; it joins the redactor's secrets first.
  const password = await becomePassword(prepared.plan, global, prepared.redactor);
  const journal = openJournal(global, prepared.redactor);
  const transports = connector(global, { password });
  const abort = new AbortController();
  // Every host's waits, commands and requests listen to this one signal at once (8 hosts: ~24).
  setMaxListeners(0, abort.signal);
  let interrupts = 0;
  const printer = eventPrinter(global);
  if (mode !== 'apply') printer.history(journal.read(runId));
  // The dashboard (`cutover serve`) asks through the run's control file: gate decisions and aborts.
  const control = new ControlWatcher(controlFile(dir, runId)).start();
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
    ...(flags.rerun ? { rerun: new Set(flags.rerun) } : {}),
    ...(flags.markDone ? { markDone: new Set(flags.markDone) } : {}),
    onEvent,
    lease,
  });
  try {
    if (mode === 'rollback') return (await engine.rollback()) ? 0 : 1;
    await (mode === 'apply' ? engine.apply() : engine.resume());
    return 0;
  } finally {
    control.stop();
    printer.close();
    process.off('SIGINT', onSigint);
    await transports.close();
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
