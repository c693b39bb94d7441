// Removes runs older than RUN_RETENTION_DAYS — their records and their repository together — a batch at a time, never a run that is queued or running.
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { WorkspaceLayout } from '../workspace/layout.ts';
import type { RunStore } from './run-store.ts';

export interface RetentionOptions {
  store: RunStore;
  layout: WorkspaceLayout;
  logger: Logger;
  /** Runs created more than this many days ago are removed once they have ended. */
  days: number;
  now?: () => Date;
  /** Runs removed per pass; the next pass takes the rest. */
  batch?: number;
}

/** One pass: the oldest finished runs past the limit (an index on age), records first, then the repository. */
export async function removeExpiredRuns(options: RetentionOptions): Promise<string[]> {
  const { store, layout, logger, days } = options;
  const cutoff = new Date((options.now?.() ?? new Date()).getTime() - days * 86_400_000).toISOString();
  const removed: string[] = [];
  for (const runId of await store.finishedBefore(cutoff, options.batch ?? 500)) {
    // The store refuses a run that is running again; its records go first, so a crash in between leaves
    // a directory no record points to (removed by the next pass's rm of the same path), never the reverse.
    if (!(await store.deleteRun(runId))) continue;
    await rm(layout.run(runId).directory, { recursive: true, force: true }).catch((error: unknown) =>
      logger.warn({ err: error, run_id: runId }, 'run records removed, but not its repository'),
    );
    removed.push(runId);
  }
  if (removed.length > 0) logger.info({ removed: removed.length, older_than: cutoff, retention_days: days }, 'old runs removed (RUN_RETENTION_DAYS)');
  return removed;
}

/** Runs a pass now and then every `intervalMs`; returns the stop function. */
export function startRetention(options: RetentionOptions & { intervalMs?: number }): () => void {
  let running = false;
  const pass = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      // A full batch means there may be more: keep going (each pass is bounded, the event loop breathes between).
      while ((await removeExpiredRuns(options)).length >= (options.batch ?? 500));
    } catch (error) {
      options.logger.warn({ err: error }, 'removing old runs failed; trying again later');
    } finally {
      running = false;
    }
  };
  void pass();
  const timer = setInterval(() => void pass(), options.intervalMs ?? 60 * 60 * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
