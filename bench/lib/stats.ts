// Summaries of repeated measurements (median, min, max, percentiles) and their formatting for the results table.

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: a p95 of 20 samples is the 19th, never an interpolation between two.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { n: sorted.length, median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** `1234 (1200–1300)`: median and range, in the unit's natural precision. */
export function formatSummary(summary: Summary, digits = 0): string {
  if (summary.n === 0) return '—';
  const f = (value: number): string => value.toFixed(digits);
  return summary.n === 1 ? f(summary.median) : `${f(summary.median)} (${f(summary.min)}–${f(summary.max)})`;
}

export function ratio(ours: number, floor: number): number {
  return floor > 0 ? ours / floor : Number.NaN;
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}
