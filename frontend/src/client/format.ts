// Pure text formatting of durations, token counts, costs, diff stats and times for the page.
import type { DiffStats } from '@multiclaude/contract';

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.floor(seconds % 60)} s`;
}

export function formatTokens(input: number | null | undefined, output: number | null | undefined): string {
  if (input == null || output == null) return '—';
  return `${input.toLocaleString('en-US')} in / ${output.toLocaleString('en-US')} out`;
}

export function formatCost(usd: number | null): string {
  if (usd === null) return '—';
  // Agent runs often cost fractions of a cent; two decimals would show them all as $0.00.
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** A short local date and time, or the input itself when it does not parse. */
export function formatTime(iso: string | null): string {
  if (iso === null) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The first line of a prompt, cut to `max` characters, for lists. */
export function promptTitle(prompt: string, max = 90): string {
  const firstLine = prompt.trim().split('\n')[0] ?? '';
  return firstLine.length > max ? `${firstLine.slice(0, max - 1)}…` : firstLine;
}

export function diffStatsText(stats: DiffStats | null): string {
  if (stats === null) return '—';
  if (stats.files === 0) return 'no changes';
  return `${stats.files} file${stats.files === 1 ? '' : 's'}, +${stats.insertions} −${stats.deletions}`;
}

/** A token count in a few characters, for the overview: 950, 12.3k, 1.2M. */
export function formatCount(count: number): string {
  if (count < 1000) return String(count);
  if (count < 1_000_000) return `${(count / 1000).toFixed(count < 10_000 ? 1 : 0)}k`;
  return `${(count / 1_000_000).toFixed(1)}M`;
}

export function formatTokensShort(input: number | null | undefined, output: number | null | undefined): string {
  if (input == null || output == null) return '—';
  return `${formatCount(input)} / ${formatCount(output)}`;
}
