// Measures disk for the workspace: free space on its file system (the MIN_FREE_DISK floor) and the bytes an agent's directories hold (its SANDBOX_DISK quota).
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { runCommand, textOf } from '../process/commands.ts';

export interface FreeSpace {
  freeBytes: number;
  totalBytes: number;
}

/** Free space on the file system that holds `directory`, or would hold it (its nearest existing ancestor). */
export async function freeSpace(directory: string): Promise<FreeSpace> {
  let current = path.resolve(directory);
  for (;;) {
    try {
      const stats = await statfs(current);
      return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
    } catch (error) {
      const parent = path.dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Bytes allocated on disk under the paths (sparse files count as what they really take), on their own file system only. */
export async function bytesUsed(paths: readonly string[], signal?: AbortSignal): Promise<number> {
  const result = await runCommand({ command: 'du', args: ['-s', '-x', '-B1', '-c', '--', ...paths], env: process.env, timeoutMs: 60_000 }, signal);
  // -c prints a final "total" line; a path that vanished meanwhile is an error line, not a failure.
  const total = /^(\d+)\s+total$/m.exec(textOf(result.stdout));
  return total ? Number(total[1]) : 0;
}

export interface QuotaWatch {
  paths: readonly string[];
  limitBytes: number;
  intervalMs: number;
  onExceeded: (usedBytes: number) => void;
}

/**
 * Measures the paths every interval and calls onExceeded once when they hold more than the limit. A
 * watcher rather than a size-limited mount: a bind mount of the agent's repository cannot be bounded
 * without a loop device or project quotas, and this works the same for every runtime.
 */
export function watchQuota(watch: QuotaWatch): () => void {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const measure = async (): Promise<void> => {
    const used = await bytesUsed(watch.paths, controller.signal).catch(() => 0);
    if (controller.signal.aborted) return;
    if (used > watch.limitBytes) {
      watch.onExceeded(used);
      return;
    }
    timer = setTimeout(() => void measure(), watch.intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void measure(), watch.intervalMs);
  timer.unref();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
