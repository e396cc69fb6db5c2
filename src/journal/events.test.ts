import { describe, expect, it } from 'vitest';
import { sampleRun } from '../testing/sample-run.js';
import { journalEventSchema } from './events.js';

describe('journal events (one zod definition)', () => {
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
});
