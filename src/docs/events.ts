/**
 * The `--json` event stream, described: the JSON Schema generated from the journal's one zod
 * definition (src/journal/events.ts) for `cutover docs --schema events`, and the Markdown
 * section of `cutover docs`.
 */
import { z } from 'zod';
import { journalEventSchema } from '../journal/events.js';

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
