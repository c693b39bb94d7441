// Finds runs whose orchestrator died (stale lease or dead local pid) and closes them as `interrupted`, keeping every commit.
import type { Logger } from 'pino';
import type { RunStore } from './run-store.ts';
import type { Leases } from './lease.ts';
import { interruptState } from './run-state.ts';

export interface SweepOptions {
  store: RunStore;
  leases: Leases;
  logger: Logger;
  /** Runs this process is running: never interrupted by its own sweep. */
  isActive: (runId: string) => boolean;
  now: () => string;
}

export async function sweepInterruptedRuns({ store, leases, logger, isActive, now }: SweepOptions): Promise<string[]> {
  const interrupted: string[] = [];
  for (const runId of await store.unfinishedRunIds()) {
    if (isActive(runId) || (await leases.isLive(runId))) continue;
    const state = await store.readState(runId);
    if (!state) continue;
    const next = interruptState(state, now());
    const id = ((await store.readEvents(runId)).at(-1)?.id ?? 0) + 1;
    // The final event lets every stream of this run end, on any replica.
    await store.appendEvents(runId, [{ type: 'run_finished', id, at: now(), run_id: runId, run: next }]);
    await store.writeState(next);
    logger.warn({ run_id: runId }, 'run interrupted: its orchestrator stopped while it ran; commits kept');
    interrupted.push(runId);
  }
  return interrupted;
}
