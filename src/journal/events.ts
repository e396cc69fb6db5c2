/**
 * The journal's typed events, defined once: the zod schema below is the source of the TypeScript
 * types (`z.infer`), of the JSON Schema (`cutover docs --schema events`, src/docs/events.ts) and of
 * the `--json` section of `cutover docs`. Everything else — status, resume, rollback, reports, the
 * dashboard — is a view of these. Example: `{ type: 'step.succeeded', step: 'upgrade/stop@web', host: 'web', outputs: {} }`.
 */
import { z } from 'zod';
import { STEP_ROLES } from '../plan/types.js';

const outcome = z.enum(['succeeded', 'failed', 'aborted', 'rolled-back']);
/** How a run, phase or host ended. Example: `'rolled-back'`. */
export type Outcome = z.infer<typeof outcome>;
const step = z.string().describe('plan step id, `<phase>/<step>@<host>`, e.g. `upgrade/stop-apigateway@web`');
const host = z.string().describe('inventory host name');
const role = z
  .enum(STEP_ROLES)
  .optional()
  .describe('set on the steps the plan adds around a host’s own: `drain` routes its traffic to a neighbour');

/** Fields every event has. */
const envelope = {
  seq: z.number().int().min(1).describe('1, 2, 3… per run, in journal order'),
  at: z.string().describe('ISO 8601 UTC time the event was journaled'),
  run: z.string().describe('run id, e.g. `20261122-030000-ab12`'),
};

function event<T extends string, S extends z.ZodRawShape>(type: T, description: string, shape: S) {
  return z.strictObject({ type: z.literal(type), ...shape, ...envelope }).describe(description);
}

const logMark = z.strictObject({
  file: z.string(),
  inode: z.string().describe('`device:inode`, to notice rotation'),
  size: z.number(),
});
/** A log file position taken before the step that triggers the awaited lines. Example: `{ file: '/var/log/app.log', inode: '2049:131', size: 5120 }`. */
export type LogMark = z.infer<typeof logMark>;

/**
 * What a run needs to be resumed and rolled back on its own, whatever happens to the files later:
 * the runbook and inventory as read, and the sha256 of every uploaded controller file (a copy of
 * each is kept in the run folder as `files/<sha256>`). Never a secret's value: secrets come from
 * env, file or prompt again. Journals written before it existed have none (resume then reads the
 * files the journal names). Example: `{ runbook: { file: '/srv/rb.yml', text: 'name: …' }, inventory: { … }, files: {} }`.
 */
const runInputs = z
  .strictObject({
    runbook: z.strictObject({
      file: z.string().describe('absolute path the runbook was read from'),
      text: z.string().describe('the runbook text as read'),
    }),
    inventory: z.strictObject({
      sources: z.array(z.string()).describe('the -i sources, absolute, in order'),
      texts: z
        .record(z.string(), z.string())
        .describe('the text of every -i source that is a file (folders: see `resolved`)'),
      resolved: z
        .record(z.string(), z.unknown())
        .describe(
          'the inventory as cutover read it (cluster and hosts with their vars): what resume compiles with',
        ),
    }),
    files: z
      .record(z.string(), z.string())
      .describe('uploaded controller file (absolute) -> sha256; the copy is `<run folder>/files/<sha256>`'),
    limit: z.string().optional().describe('`--limit` as given'),
    only: z.array(z.string()).optional().describe('`--only` steps as given'),
    from: z.string().optional().describe('`--from` step as given'),
  })
  .describe('what the run needs to resume and roll back from its journal alone');
/** A run's journaled inputs. Example: `started.inputs?.runbook.text`. */
export type RunInputs = z.infer<typeof runInputs>;

const stepList = z.array(
  z.strictObject({
    id: z.string(),
    host: z.string(),
    phase: z.string(),
    kind: z.string(),
    name: z.string(),
  }),
);

/** Every journal event, as stored and as `--json` prints it. Example: `journalEventSchema.parse(JSON.parse(line))`. */
export const journalEventSchema = z.discriminatedUnion('type', [
  event('run.started', 'A fresh run: what it runs, where, and every planned step.', {
    planHash: z.string(),
    runbook: z.string().describe('absolute path of the runbook'),
    inventory: z.string().describe('absolute path of the inventory'),
    cluster: z.string(),
    params: z.record(z.string(), z.string()),
    operator: z.string(),
    controller: z.string().describe('host name of the machine running cutover'),
    hosts: z.array(z.string()),
    steps: stepList,
    inputs: runInputs.optional(),
  }),
  event('run.resumed', '`cutover resume` continues the run.', { planHash: z.string(), operator: z.string() }),
  event(
    'run.replanned',
    '`cutover resume --replan`: the steps not done yet follow the edited runbook/inventory; done steps and their undos stay as journaled.',
    {
      planHash: z.string().describe('hash of the plan the run follows from here (done steps kept)'),
      compiledHash: z.string().describe('hash of the plan the new files compile to on their own'),
      previousHash: z.string(),
      operator: z.string(),
      kept: z.array(z.string()).describe('plan step ids kept as journaled (done, or with an undo pending)'),
      changes: z.array(z.string()).describe('what changed, one line each (as resume showed it)'),
      hosts: z.array(z.string()),
      steps: stepList,
      inputs: runInputs,
    },
  ),
  event('run.finished', 'The run ended (also after a rollback).', { outcome, error: z.string().optional() }),
  event('preflight.started', 'Preflight checks begin; nothing has changed on any host.', {}),
  event('preflight.finished', 'Preflight result; on failure nothing was changed.', {
    ok: z.boolean(),
    error: z.string().optional(),
  }),
  event('phase.started', 'A phase begins.', { phase: z.string() }),
  event('phase.finished', 'A phase ended.', { phase: z.string(), outcome }),
  event('host.started', 'A host begins a phase (its batch came up).', { phase: z.string(), host }),
  event('host.finished', 'A host finished a phase; on failure its saga has run.', {
    phase: z.string(),
    host,
    outcome,
  }),
  event('step.started', 'One attempt of a step begins.', {
    step,
    host,
    attempt: z.number().int().min(1),
    kind: z.string().describe('step kind, e.g. `wait.log`'),
    name: z.string(),
    role,
  }),
  event('step.output', 'A chunk of a command’s output (secrets redacted).', {
    step,
    host,
    stream: z.enum(['stdout', 'stderr']),
    text: z.string(),
  }),
  event('step.command', 'A command about to run (secrets shown as `<secret:name>`).', {
    step,
    host,
    command: z.string(),
  }),
  event('step.mark', 'Where a log ended before the step that triggers the awaited lines.', {
    step,
    host,
    mark: logMark,
  }),
  event(
    'step.waiting',
    'A wait began (`what`), or a wait.log saw lines that did not match yet (`lastLine`).',
    {
      step,
      host,
      what: z.string(),
      lastLine: z.string().optional(),
    },
  ),
  event('step.succeeded', 'A step is done; `outputs` are its captured results.', {
    step,
    host,
    outputs: z.record(z.string(), z.string()),
    durationMs: z.number(),
    via: z.literal('probe').optional().describe('set when resume verified the step by its probe'),
  }),
  event('step.failed', 'An attempt failed; `final` when no retry follows.', {
    step,
    host,
    error: z.string(),
    attempt: z.number().int().min(0),
    final: z.boolean(),
    outputs: z.record(z.string(), z.string()),
    lastLines: z.array(z.string()).optional(),
    role,
  }),
  event(
    'host.unreachable',
    'A host stayed unreachable through every reconnect attempt: nothing more runs there in this run.',
    { host, error: z.string() },
  ),
  event(
    'host.unhealthy',
    'A host this run upgraded failed its health check afterwards (the guard while the run goes on, or the final check).',
    { phase: z.string(), host, url: z.string(), seen: z.string() },
  ),
  event('drain.routed', 'The host’s traffic now goes to a neighbour.', {
    host,
    neighbour: z.string(),
    upstream: z.string(),
    step,
  }),
  event('compensation.started', 'An undo begins.', { step, host }),
  event('compensation.succeeded', 'An undo finished.', { step, host }),
  event('compensation.failed', 'An undo failed; `cutover rollback` retries it.', {
    step,
    host,
    error: z.string(),
  }),
  event('gate.pending', 'A gate waits for approval (terminal, dashboard or --approve-gates).', {
    step,
    host,
    message: z.string(),
  }),
  event(
    'gate.decided',
    'A gate was approved or declined, and by whom (`dashboard (<address>)` from cutover serve).',
    {
      step,
      host,
      approved: z.boolean(),
      by: z.string(),
    },
  ),
  event('rollback.started', '`cutover rollback` begins.', { operator: z.string() }),
  event('rollback.finished', '`cutover rollback` ended.', { ok: z.boolean(), error: z.string().optional() }),
  event('abort.requested', 'Ctrl-C or the dashboard asked the run to stop; hosts in flight are put back.', {
    by: z.string(),
  }),
]);

/** One journaled event: its body plus `seq`, `at` and `run`. Example: `Extract<JournalEvent, { type: 'run.started' }>`. */
export type JournalEvent = z.infer<typeof journalEventSchema>;

/** The fields every event has, added by the store when it appends. */
type EnvelopeKey = keyof typeof envelope;

/** An event as the engine writes it, before the store adds `seq`, `at` and `run`. Example: `{ type: 'phase.started', phase: 'upgrade' }`. */
export type JournalEventBody = WithoutEnvelope<JournalEvent>;
type WithoutEnvelope<E> = E extends unknown ? Omit<E, EnvelopeKey> : never;

/** Where events go: the embedded file store, PostgreSQL later, or memory in tests. */
export interface JournalStore {
  append(run: string, event: JournalEventBody): JournalEvent;
  read(run: string): JournalEvent[];
  listRuns(): string[];
}
