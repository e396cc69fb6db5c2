import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventsDocsMarkdown, eventsJsonSchema, eventTypes, journalEventSchema } from './event-schema.js';
import { sampleRun } from './test-support.js';

/** The `type` literals of the JournalEventBody union, read from its source. */
function typesInEventsTs(): string[] {
  const source = readFileSync(resolve(import.meta.dirname, '..', 'journal', 'events.ts'), 'utf8');
  const body = source.slice(
    source.indexOf('export type JournalEventBody'),
    source.indexOf('/** A log file position'),
  );
  return [...body.matchAll(/type: '([a-z.]+)'/g)].map((m) => m[1] as string);
}

describe('the --json event schema', () => {
  it('covers every event type of src/journal/events.ts, in order', () => {
    // The field-by-field match is checked by tsc (mirrorMatchesJournalEvent in event-schema.ts).
    expect(eventTypes()).toEqual(typesInEventsTs());
  });

  it('accepts every event of a real run, and rejects an unknown field or type', async () => {
    const { events } = await sampleRun();
    const seen = new Set<string>();
    for (const e of events) {
      expect(journalEventSchema.safeParse(e).error).toBeUndefined();
      seen.add(e.type);
    }
    expect(seen.size).toBeGreaterThan(15);
    const started = events.find((e) => e.type === 'step.started');
    expect(journalEventSchema.safeParse({ ...started, extra: 1 }).success).toBe(false);
    expect(journalEventSchema.safeParse({ ...started, type: 'step.exploded' }).success).toBe(false);
  });

  it('publishes a JSON Schema that validates the same events', async () => {
    const schema = eventsJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect((schema.oneOf as unknown[]).length).toBe(eventTypes().length);
    // Round trip: a validator built from the published JSON Schema agrees with the mirror.
    const fromJson = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    const { events } = await sampleRun();
    for (const e of events) expect(fromJson.safeParse(e).success).toBe(true);
    expect(fromJson.safeParse({ ...events[0], seq: 'one' }).success).toBe(false);
    expect(
      fromJson.safeParse({
        type: 'gate.decided',
        seq: 1,
        at: 'x',
        run: 'r',
        step: 's',
        host: 'h',
        approved: true,
      }).success,
    ).toBe(false);
  });

  it('is described in `cutover docs`, one line per type', () => {
    const md = eventsDocsMarkdown();
    for (const type of eventTypes()) expect(md).toContain(`- \`${type}\``);
    expect(md).toContain('cutover docs --schema events');
  });
});
