/**
 * The `--json` event stream, described: a zod mirror of the journal's `JournalEvent` union
 * (src/journal/events.ts), the JSON Schema generated from it (`cutover docs --schema events`),
 * and the Markdown section of `cutover docs`. event-schema.test.ts fails when the mirror and the
 * TypeScript type drift apart (both directions), and checks real runs against the schema.
 */
import { z } from 'zod';
import type { JournalEvent } from '../journal/events.js';

const outcome = z.enum(['succeeded', 'failed', 'aborted', 'rolled-back']);
const step = z.string().describe('plan step id, `<phase>/<step>@<host>`, e.g. `upgrade/stop-apigateway@web`');
const host = z.string().describe('inventory host name');
const stepRole = z
  .enum(['drain'])
  .optional()
  .describe('set on steps the plan adds around a host’s own: `drain` routes its traffic to a neighbour');

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

/** The zod mirror of `JournalEvent`. Example: `journalEventSchema.parse(JSON.parse(line))`. */
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
    steps: z.array(
      z.strictObject({
        id: z.string(),
        host: z.string(),
        phase: z.string(),
        kind: z.string(),
        name: z.string(),
      }),
    ),
  }),
  event('run.resumed', '`cutover resume` continues the run.', { planHash: z.string(), operator: z.string() }),
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
    role: stepRole,
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
    role: stepRole,
  }),
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

/** The JSON Schema of one line of `--json` output (and of the journal). Example: `eventsJsonSchema().oneOf.length`. */
export function eventsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(journalEventSchema, { target: 'draft-2020-12', io: 'output' }) as Record<
    string,
    unknown
  >;
  return {
    title: 'cutover journal event',
    description:
      'One line of `cutover apply|resume|rollback --json` output, and of <stateDir>/runs/<run>/events.jsonl. Discriminated by `type`.',
    ...schema,
  };
}

/** Every event type, in the order of the schema. Example: `eventTypes()[0]` -> `'run.started'`. */
export function eventTypes(): string[] {
  return journalEventSchema.options.map((o) => o.shape.type.value);
}

/** The `--json` section of `cutover docs` (Markdown). */
export function eventsDocsMarkdown(): string {
  const lines = [
    '## The `--json` event stream',
    '',
    '`cutover --json apply|resume|rollback …` prints one JSON object per line on stdout: the same events',
    'the journal stores in `<stateDir>/runs/<run>/events.jsonl` (secrets already redacted). Every event has',
    '`type`, `seq` (1, 2, 3… per run), `at` (ISO 8601 UTC) and `run`. `cutover docs --schema events` prints',
    'the JSON Schema. Types:',
    '',
  ];
  for (const option of journalEventSchema.options) {
    const fields = Object.keys(option.shape).filter((k) => !['type', 'seq', 'at', 'run'].includes(k));
    lines.push(
      `- \`${option.shape.type.value}\`${fields.length ? ` (${fields.map((f) => `\`${f}\``).join(', ')})` : ''}: ${option.description ?? ''}`,
    );
  }
  lines.push(
    '',
    'Example: `cutover --json apply -r runbook.yml -i inventory.yml --yes | jq -r \'select(.type == "step.failed") | .error\'`.',
    '',
  );
  return lines.join('\n');
}

/** Compile-time proof that the mirror and `JournalEvent` describe the same objects (either drift fails `tsc`). */
type Mirror = z.output<typeof journalEventSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const mirrorMatchesJournalEvent: Same<Mirror, JournalEvent> = true;
/** Optional fields escape assignability: the field names of every event type must match too. */
type SameKeys = {
  [T in JournalEvent['type']]: Same<
    keyof Extract<JournalEvent, { type: T }>,
    keyof Extract<Mirror, { type: T }>
  >;
}[JournalEvent['type']];
export const mirrorHasJournalEventFields: false extends SameKeys ? false : true = true;
