import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sampleRun } from '../testing/sample-run.js';
import { eventsDocsMarkdown, eventsJsonSchema, eventTypes } from './events.js';

describe('the --json event schema', () => {
  it('publishes a JSON Schema that validates the same events', async () => {
    const schema = eventsJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect((schema.oneOf as unknown[]).length).toBe(eventTypes().length);
    // Round trip: a validator built from the published JSON Schema agrees with the zod definition.
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
