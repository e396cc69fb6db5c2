import { describe, expect, it } from 'vitest';
import { versionOf, waitForQuiet } from './machine.js';

describe('the versions of the tools the benchmarks run', () => {
  it('reads a version from stdout or stderr, and says when a program is missing', () => {
    expect(versionOf(process.execPath, ['--version'])).toBe(process.version);
    expect(versionOf('ssh', ['-V'])).toMatch(/^OpenSSH_/);
    expect(versionOf('/nonexistent/tool', ['--version'])).toBe('not installed');
  });
});

describe('waiting for a quiet machine', () => {
  const fake = (loads: number[]) => {
    const slept: number[] = [];
    let i = 0;
    return {
      slept,
      read: () => [loads[Math.min(i++, loads.length - 1)] as number, 1, 1],
      sleep: async (ms: number) => {
        slept.push(ms);
      },
    };
  };

  it('returns at once when the 1-minute load is already below the threshold', async () => {
    const f = fake([0.5]);
    const r = await waitForQuiet({ threshold: 1, maxWaitMs: 60_000, pollMs: 10_000, log: () => {}, ...f });
    expect(r).toEqual({ quiet: true, waitedMs: 0, load: [0.5, 1, 1] });
    expect(f.slept).toEqual([]);
  });

  it('polls until the load drops', async () => {
    const f = fake([2.5, 1.4, 0.9]);
    const lines: string[] = [];
    const r = await waitForQuiet({
      threshold: 1,
      maxWaitMs: 60_000,
      pollMs: 10_000,
      log: (l) => lines.push(l),
      ...f,
    });
    expect(r.quiet).toBe(true);
    expect(r.waitedMs).toBe(20_000);
    expect(lines).toHaveLength(1);
  });

  it('gives up after the longest wait and says the machine was not quiet', async () => {
    const f = fake([3]);
    const r = await waitForQuiet({ threshold: 1, maxWaitMs: 25_000, pollMs: 10_000, log: () => {}, ...f });
    expect(r).toMatchObject({ quiet: false, waitedMs: 25_000 });
    expect(f.slept).toEqual([10_000, 10_000, 5_000]);
  });
});
