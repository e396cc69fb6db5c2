import { afterEach, describe, expect, it } from 'vitest';
import { connectionLimits } from './context.js';

describe('--connect-concurrency and --keep-open', () => {
  afterEach(() => {
    delete process.env.CUTOVER_CONNECT_CONCURRENCY;
    delete process.env.CUTOVER_KEEP_OPEN;
  });

  it('reads the flags, else the environment, else leaves the defaults to the engine', () => {
    expect(connectionLimits({})).toEqual({});
    process.env.CUTOVER_CONNECT_CONCURRENCY = '4';
    process.env.CUTOVER_KEEP_OPEN = '0';
    expect(connectionLimits({})).toEqual({ concurrency: 4, keepOpen: 0 });
    expect(connectionLimits({ connectConcurrency: '20', keepOpen: '50' })).toEqual({
      concurrency: 20,
      keepOpen: 50,
    });
  });

  it('refuses what is not a whole number in range, naming the flag or the variable', () => {
    expect(() => connectionLimits({ connectConcurrency: '0' })).toThrow(
      /--connect-concurrency must be a whole number from 1 to 1000 \(connections set up at once\), not "0"/,
    );
    expect(() => connectionLimits({ keepOpen: 'many' })).toThrow(/--keep-open must be a whole number from 0/);
    process.env.CUTOVER_CONNECT_CONCURRENCY = '2.5';
    expect(() => connectionLimits({})).toThrow(/CUTOVER_CONNECT_CONCURRENCY must be a whole number/);
  });
});
