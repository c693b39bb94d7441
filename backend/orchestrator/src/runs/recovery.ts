// Finds runs whose orchestrator died (expired lease or dead local pid) and closes them as `interrupted`, keeping every commit; each is closed exactly once, whichever replicas sweep at the same time.
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

/** Looks only at runs recorded as queued or running (an index), never at the history. */
export async function sweepInterruptedRuns({ store, leases, logger, isActive, now }: SweepOptions): Promise<string[]> {
  const interrupted: string[] = [];
  for (const { runId, lease } of await store.unfinishedRuns()) {
    if (isActive(runId) || leases.isLive(lease)) continue;
    // The store closes it only if it is still unfinished under the same lease: the final event lets every
    // stream of this run end, on any replica.
    const next = await store.interrupt(runId, lease, (state) => interruptState(state, now()));
    if (!next) continue;
    logger.warn({ run_id: runId }, 'run interrupted: its orchestrator stopped while it ran; commits kept');
    interrupted.push(runId);
  }
  return interrupted;
}
