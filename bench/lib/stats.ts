/**
 * Summaries of repeated measurements, and how they are printed: the median is what to compare,
 * min–max shows the spread, p95 is for latencies. All times are milliseconds.
 */

/** What a set of samples comes to. Example: summarize([3, 1, 2]) -> { n: 3, median: 2, min: 1, max: 3, p95: 3, mean: 2 }. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p95: number;
  mean: number;
}

/**
 * The q-quantile (0..1) by the nearest-rank method: always one of the samples, never an
 * interpolation. Example: quantile([10, 20, 30, 40], 0.95) -> 40.
 */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('quantile of no samples: measure at least once');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile ${q}: expected a fraction from 0 to 1`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** The median: the middle sample, or the mean of the two middle ones. Example: median([4, 1, 3, 2]) -> 2.5. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples: measure at least once');
  const s = [...samples].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Median, min, max, p95 and mean of samples. Example: summarize([120, 80, 100]).median -> 100. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summary of no samples: measure at least once');
  return {
    n: samples.length,
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    p95: quantile(samples, 0.95),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

/**
 * A duration for tables: µs below 1 ms, ms with one decimal below 100 ms, whole ms below 1 s,
 * else seconds. Example: formatMs(6.42) -> '6.4 ms'; formatMs(1234) -> '1.23 s'.
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  // A difference of two measurements can be negative (within the noise): said as such, in its unit.
  if (ms < 0) return `−${formatMs(-ms)}`;
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(0)} s`;
}

/** `median` and `min–max` cells of a summary. Example: spread({ min: 1, max: 2, ... }) -> '1.0 ms–2.0 ms'. */
export function spread(s: Pick<Summary, 'min' | 'max'>): string {
  return `${formatMs(s.min)}–${formatMs(s.max)}`;
}

/** A ratio of two medians. Example: ratio(1500, 1000) -> '1.50×'. */
export function ratio(numerator: number, denominator: number): string {
  if (!(denominator > 0) || !Number.isFinite(numerator)) return '–';
  const r = numerator / denominator;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** Bytes as MiB. Example: formatMiB(52_428_800) -> '50 MiB'. */
export function formatMiB(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return `${mib >= 10 ? Math.round(mib) : mib.toFixed(1)} MiB`;
}
