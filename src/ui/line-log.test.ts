import { describe, expect, it } from 'vitest';
import { sampleRun } from '../testing/sample-run.js';
import { formatEvent, wantsColor } from './line-log.js';
import { createEventPrinter } from './printer.js';

describe('the non-TTY line log', () => {
  it('prints a small run as timestamped host-prefixed lines (snapshot)', async () => {
    const { events, outcome } = await sampleRun();
    expect(outcome).toBe('failed');
    // The fake clock stamps the journal, so the timestamps are part of the snapshot.
    const log = events.flatMap((e) => formatEvent(e, { color: false })).join('\n');
    await expect(`${log}\n`).toMatchFileSnapshot('__snapshots__/line-log.sample.txt');
    expect(log).not.toMatch(/\x1b/);
  });

  it('is what the printer writes when stdout is not a TTY, without control codes even with colour asked for', async () => {
    const { events } = await sampleRun();
    let written = '';
    const stream = {
      isTTY: false,
      write: (t: string) => {
        written += t;
        return true;
      },
    };
    const print = createEventPrinter({ stream });
    for (const e of events) print(e);
    print.close();
    expect(written).toBe(`${events.flatMap((e) => formatEvent(e, { color: false })).join('\n')}\n`);
    expect(written).not.toMatch(/\x1b/);
  });

  it('--json prints the events themselves, one per line', async () => {
    const { events } = await sampleRun();
    let written = '';
    const print = createEventPrinter({
      json: true,
      stream: {
        isTTY: true,
        write: (t: string) => {
          written += t;
          return true;
        },
      },
    });
    for (const e of events) print(e);
    expect(
      written
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(events);
  });

  it('colours only a TTY, and never with NO_COLOR', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      expect(wantsColor(tty)).toBe(process.env.TERM !== 'dumb');
      expect(wantsColor({ isTTY: false } as NodeJS.WriteStream)).toBe(false);
      process.env.NO_COLOR = '1';
      expect(wantsColor(tty)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });
});
