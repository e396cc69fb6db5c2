/**
 * Runs that stand on their own. `apply` journals what the run needs (runbook and inventory text, the
 * inventory as read, params, a copy of every uploaded file in the run folder); `resume` and
 * `rollback` rebuild the plan from that alone — the same compiler, checked against the journaled
 * hash — whatever happened to the files since. `resume --replan` follows edited files for the
 * steps not done yet (plan/replan.ts). Journals written before inputs were kept still resume from
 * the files they name, as before.
 */
import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, PlanMismatchError, UsageError } from '../errors.js';
import type { Inventory } from '../inventory/model.js';
import type { JournalEvent, RunInputs } from '../journal/events.js';
import { runFilePath } from '../journal/file-store.js';
import { hashRegularFile } from '../plan/local-files.js';
import { mergePlans } from '../plan/replan.js';
import type { StepSelection } from '../plan/select.js';
import type { Plan } from '../plan/types.js';
import { parseRunbook } from '../runbook/load.js';
import type { Secret } from '../shell/secret.js';
import { type Loaded, loadAll, type Prepared, prepareLoaded } from './context.js';

/** Where a run keeps its copies of uploaded files: `<run folder>/files/<sha256>`. */
export const copyPath = runFilePath;

/**
 * What `apply` journals with `run.started`, and the copies it reads uploads from. Every uploaded
 * file is copied into the run folder and the copy hashed again: a file that changed since the plan
 * was compiled stops the run before it starts (nothing changed on any host).
 */
export function captureInputs(
  prepared: Prepared,
  runDir: string,
): { inputs: RunInputs; copies: Record<string, string> } {
  const inventory = prepared.inventory;
  const sources = inventory.files ?? [inventory.file];
  const texts: Record<string, string> = {};
  for (const source of sources) if (statSync(source).isFile()) texts[source] = readFileSync(source, 'utf8');
  const copies = copyFiles(prepared.plan.localFiles, runDir);
  return {
    inputs: {
      runbook: { file: prepared.runbook.file, text: readFileSync(prepared.runbook.file, 'utf8') },
      inventory: { sources, texts, resolved: inventory as unknown as Record<string, unknown> },
      files: { ...prepared.plan.localFiles },
      ...(prepared.plan.limit ? { limit: prepared.plan.limit } : {}),
      ...prepared.plan.steps,
    },
    copies,
  };
}

/** Copies each file to `files/<sha256>` (a reflink where the file system has them) and checks the copy's hash. */
function copyFiles(files: Readonly<Record<string, string>>, runDir: string): Record<string, string> {
  const copies: Record<string, string> = {};
  for (const [file, sha] of Object.entries(files)) {
    const dest = copyPath(runDir, sha);
    if (!existsSync(dest)) {
      mkdirSync(join(runDir, 'files'), { recursive: true, mode: 0o700 });
      const tmp = `${dest}.part`;
      copyFileSync(file, tmp, constants.COPYFILE_FICLONE);
      const got = hashRegularFile(tmp);
      if (got !== sha)
        throw new PlanMismatchError(
          `${file} changed while the run was starting (plan sha256 ${sha.slice(0, 12)}, now ${got.slice(0, 12)})`,
          'Leave the file alone while cutover starts, then run `cutover apply` again; nothing was changed on any host.',
        );
      renameSync(tmp, dest);
    }
    copies[file] = dest;
  }
  return copies;
}

/** A run's plan as its journal has it, and how to read its uploads. */
export interface JournaledRun {
  prepared: Prepared;
  /** The last inputs journaled (`run.started`, or the last `run.replanned`); absent in old journals. */
  inputs?: RunInputs;
  /** The hash the last journaled inputs compile to on their own (what the files are compared with). */
  compiledHash: string;
  /** Uploaded file -> the run folder's copy. */
  copies: Record<string, string>;
  /** Secrets resolved so far (reused by a replan). */
  secrets: Record<string, Secret>;
}

/**
 * Rebuilds the plan a run follows from its journal alone: `run.started`'s inputs, then each
 * `run.replanned` merged in, each checked against its journaled hash. An old journal without inputs
 * recompiles from the files it names; a changed plan is then refused (exit 5) as before.
 */
export async function journaledRun(
  events: readonly JournalEvent[],
  runDir: string,
  secretMode: 'resolve' | 'placeholder',
): Promise<JournaledRun> {
  const started = events[0];
  if (started?.type !== 'run.started')
    throw new UsageError(`the journal in ${runDir} does not start with run.started`);
  if (!started.inputs) {
    const prepared = await prepareLoaded(
      await loadAll({ runbook: started.runbook, inventory: started.inventory }),
      started.params,
      secretMode,
    );
    if (prepared.plan.hash !== started.planHash)
      throw new PlanMismatchError(
        `the plan for run ${started.run} changed: journal has ${started.planHash.slice(0, 12)}, the runbook/inventory/files now give ${prepared.plan.hash.slice(0, 12)}`,
        'This run was journaled before cutover kept the runbook and inventory in the journal: put back the runbook, inventory and uploaded files as they were for this run to resume or roll it back.',
      );
    return { prepared, compiledHash: started.planHash, copies: {}, secrets: prepared.secrets };
  }
  let secrets: Record<string, Secret> = {};
  const copies: Record<string, string> = {};
  const build = async (inputs: RunInputs, params: Record<string, string>, hash: string, what: string) => {
    for (const [file, sha] of Object.entries(inputs.files)) {
      const copy = copyPath(runDir, sha);
      if (existsSync(copy)) copies[file] = copy;
    }
    const prepared = await fromInputs(inputs, params, secretMode, secrets);
    secrets = { ...secrets, ...prepared.secrets };
    if (prepared.plan.hash !== hash)
      throw new PlanMismatchError(
        `the journal of run ${started.run} does not rebuild its plan: ${what} has ${hash.slice(0, 12)}, its journaled runbook and inventory now give ${prepared.plan.hash.slice(0, 12)}`,
        'This cutover compiles the journaled runbook differently (another version?): resume or roll back with the cutover that started the run.',
      );
    return prepared;
  };
  let prepared = await build(started.inputs, started.params, started.planHash, 'run.started');
  let inputs = started.inputs;
  let compiledHash = started.planHash;
  for (const e of events) {
    if (e.type !== 'run.replanned') continue;
    const next = await build(e.inputs, prepared.plan.params, e.compiledHash, `run.replanned (seq ${e.seq})`);
    const plan = mergePlans(prepared.plan, next.plan, new Set(e.kept));
    if (plan.hash !== e.planHash)
      throw new PlanMismatchError(
        `the journal of run ${started.run} does not rebuild its replanned plan (seq ${e.seq}): journaled ${e.planHash.slice(0, 12)}, rebuilt ${plan.hash.slice(0, 12)}`,
        'Resume or roll back with the cutover that replanned the run.',
      );
    prepared = withPlan(next, plan, secrets);
    inputs = e.inputs;
    compiledHash = e.compiledHash;
  }
  return { prepared, inputs, compiledHash, copies, secrets };
}

/** A prepared run following `plan`, redacting every secret any of its versions used. */
export function withPlan(prepared: Prepared, plan: Plan, secrets: Record<string, Secret>): Prepared {
  for (const s of Object.values(secrets)) prepared.redactor.add(s);
  return { ...prepared, plan, secrets: { ...secrets, ...prepared.secrets } };
}

/** Compiles journaled inputs: the runbook from its text (problems still name its file), the inventory as read, the uploads by their journaled hashes. */
async function fromInputs(
  inputs: RunInputs,
  params: Record<string, string>,
  secretMode: 'resolve' | 'placeholder',
  secrets: Record<string, Secret>,
): Promise<Prepared> {
  const inventory = inputs.inventory.resolved as unknown as Inventory;
  const { runbook, problems } = parseRunbook(inputs.runbook.text, inputs.runbook.file, { inventory });
  if (!runbook || problems.some((p) => p.severity === 'error'))
    throw new InputError(
      problems,
      'The journaled runbook no longer loads with this cutover; use the cutover that started the run.',
    );
  const loaded: Loaded = { runbook, inventory, warnings: [] };
  return prepareLoaded(loaded, declared(params, loaded), secretMode, {
    secrets,
    knownFiles: inputs.files,
    ...(inputs.limit ? { limit: inputs.limit } : {}),
    ...stepsOf(inputs),
  });
}

/** The files as they are now, compiled with the run's params: a plan, or why there is none. */
export async function currentFiles(
  inputs: RunInputs,
  params: Record<string, string>,
  secretMode: 'resolve' | 'placeholder',
  secrets: Record<string, Secret>,
): Promise<{ prepared: Prepared } | { missing: string } | { invalid: InputError }> {
  const gone = [inputs.runbook.file, ...inputs.inventory.sources].filter((f) => !existsSync(f));
  if (gone.length) return { missing: `${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'} gone` };
  try {
    const loaded = await loadAll({ runbook: inputs.runbook.file, inventory: inputs.inventory.sources });
    return {
      prepared: await prepareLoaded(loaded, declared(params, loaded), secretMode, {
        secrets,
        ...(inputs.limit ? { limit: inputs.limit } : {}),
        ...stepsOf(inputs),
      }),
    };
  } catch (e) {
    if (e instanceof InputError) return { invalid: e };
    throw e;
  }
}

/** The journaled `--only`/`--from`, as compile takes them. */
function stepsOf(inputs: RunInputs): { steps?: StepSelection } {
  if (inputs.only) return { steps: { only: inputs.only } };
  if (inputs.from !== undefined) return { steps: { from: inputs.from } };
  return {};
}

/** The run's params this runbook still declares (an edit may drop one; a new one takes its default). */
function declared(params: Record<string, string>, loaded: Loaded): Record<string, string> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => k in loaded.runbook.params));
}

/**
 * The journaled inputs compile to the very plan about to run: a run its journal could not rebuild
 * is never started. A difference is a bug in cutover (exit 70), found before anything changed.
 */
export async function checkRebuilds(inputs: RunInputs, prepared: Prepared): Promise<void> {
  const roundTrip = JSON.parse(JSON.stringify(inputs)) as RunInputs;
  const rebuilt = await fromInputs(roundTrip, prepared.plan.params, 'placeholder', prepared.secrets);
  if (rebuilt.plan.hash !== prepared.plan.hash)
    throw new Error(
      `the journaled runbook and inventory rebuild plan ${rebuilt.plan.hash.slice(0, 12)}, not ${prepared.plan.hash.slice(0, 12)}; nothing was changed on any host`,
    );
}
