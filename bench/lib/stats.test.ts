import { describe, expect, it } from 'vitest';
import { formatMiB, formatMs, median, quantile, ratio, spread, summarize } from './stats.js';

describe('summaries of samples', () => {
  it('takes the median of odd and even counts, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('takes quantiles by nearest rank, so p95 is always a measured sample', () => {
    const samples = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(quantile(samples, 0.95)).toBe(19);
    expect(quantile(samples, 1)).toBe(20);
    expect(quantile([7], 0.95)).toBe(7);
    expect(quantile([10, 20, 30, 40], 0)).toBe(10);
  });

  it('summarizes median, min, max, p95 and mean', () => {
    expect(summarize([120, 80, 100])).toEqual({ n: 3, median: 100, min: 80, max: 120, p95: 120, mean: 100 });
  });

  it('refuses to summarize nothing, saying what to do', () => {
    expect(() => summarize([])).toThrow(/measure at least once/);
    expect(() => quantile([1], 1.5)).toThrow(/fraction from 0 to 1/);
  });
});

describe('formatting', () => {
  it('prints durations with a unit that fits', () => {
    expect(formatMs(0.25)).toBe('250 µs');
    expect(formatMs(6.42)).toBe('6.4 ms');
    expect(formatMs(250.4)).toBe('250 ms');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(-8.3)).toBe('−8.3 ms');
    expect(formatMs(123_456)).toBe('123 s');
    expect(formatMs(Number.NaN)).toBe('–');
  });

  it('prints spreads, ratios and sizes', () => {
    expect(spread({ min: 5, max: 1500 })).toBe('5.0 ms–1.50 s');
    expect(ratio(1500, 1000)).toBe('1.50×');
    expect(ratio(12_000, 1000)).toBe('12.0×');
    expect(ratio(1, 0)).toBe('–');
    expect(formatMiB(52_428_800)).toBe('50 MiB');
    expect(formatMiB(3 * 2 ** 20)).toBe('3.0 MiB');
  });
});
