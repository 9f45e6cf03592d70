/** The arithmetic the latency benchmarks share: quantiles of sorted samples and how figures print. */

/** The value at quantile `q` (0 to 1) of ascending `sorted` samples (nearest rank); NaN when there are none. */
export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Every figure of `values` to one decimal, for the JSON. */
export function roundAll<T extends Record<string, number>>(values: T): T {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, round1(value)])) as T;
}

/** A figure for the printed table: whole milliseconds, or a dash when there is none. */
export function fmt(value: number): string {
  return Number.isFinite(value) ? value.toFixed(0) : '–';
}
