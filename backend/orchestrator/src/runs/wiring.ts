// Builds the run machinery (layout, store, leases, slots, manager) and the services entry points call; shared by main.ts and the tests.
import os from 'node:os';
import type { Logger } from 'pino';
import { WorkspaceLayout } from '../workspace/layout.ts';
import type { RunStore } from './run-store.ts';
import { openRunStore } from './store/open-run-store.ts';
import { Leases, newOwnerId } from './lease.ts';
import { AgentSlots } from './agent-slots.ts';
import { RunManager } from './run-manager.ts';
import { RunService } from './run-service.ts';
import { ReviewService } from './review-service.ts';
import type { AgentExecutor } from './agent-executor.ts';
import { SourceRepositories, type SourceSettings } from '../git/source.ts';
import { startRetention } from './retention.ts';
import { CapacityController } from './capacity.ts';
import { AgentFootprint } from '../agents/footprint.ts';
import type { WarmPool } from '../agents/warm-pool.ts';

export interface RunMachineryOptions {
  workspaceLocal: string;
  /** PostgreSQL (DATABASE_URL); the workspace's embedded SQLite file when undefined. */
  databaseUrl?: string | undefined;
  /** MAX_CONCURRENT_AGENTS: an explicit cap; undefined works it out from memory (capacity.ts). */
  maxConcurrentAgents: number | undefined;
  /** An agent's cost in memory until one is measured (capacity.ts estimatedAgentBytes of the runtime). */
  estimatedAgentBytes?: number;
  /** Measures running agents' memory, for the capacity; one that sees nothing when omitted. */
  footprint?: AgentFootprint;
  /** Warm spare sessions (WARM_POOL_SIZE): started with the machinery, counted against its capacity, closed with it. */
  warmPool?: WarmPool;
  maxQueuedRuns: number;
  minFreeDiskBytes: number;
  executor: AgentExecutor;
  /** Where sources may come from and the orchestrator's credentials for them; none and any by default. */
  sources?: SourceSettings;
  logger: Logger;
  /** A lease older than this marks its run's owner dead (another host's replica). */
  leaseTtlMs?: number;
  heartbeatMs?: number;
  sweepMs?: number;
  /** How long a run's judge may take before the run falls back to the design's ranking (JUDGE_TIMEOUT_MS). */
  judgeTimeoutMs?: number;
  /** RUN_RETENTION_DAYS: finished runs older than this are removed; undefined keeps everything. */
  retentionDays?: number | undefined;
}

export interface RunMachinery {
  layout: WorkspaceLayout;
  store: RunStore;
  manager: RunManager;
  runs: RunService;
  review: ReviewService;
  /** How many agents may run at once, and why (for /diagnostics). */
  capacity: CapacityController;
  /** Starts heartbeats, the sweep of orphaned runs and retention. */
  start(): Promise<void>;
  /** Stops them, cancels this process's runs and closes the store. */
  close(): Promise<void>;
}

/** Opens the run store (migrating it and importing an older workspace) and builds everything on it. */
export async function createRunMachinery(options: RunMachineryOptions): Promise<RunMachinery> {
  const layout = new WorkspaceLayout(options.workspaceLocal);
  const store = await openRunStore({ layout, databaseUrl: options.databaseUrl, logger: options.logger });
  const sources = new SourceRepositories(options.sources);
  const leases = new Leases({ store, owner: newOwnerId(), host: os.hostname(), pid: process.pid, ttlMs: options.leaseTtlMs ?? 30_000 });
  const slots = new AgentSlots(1);
  const capacity = new CapacityController({ slots, footprint: options.footprint ?? new AgentFootprint(), override: options.maxConcurrentAgents,
    logger: options.logger,
    ...(options.estimatedAgentBytes ? { estimatedAgentBytes: options.estimatedAgentBytes } : {}),
  });
  const warmPool = options.warmPool;
  const manager = new RunManager({
    layout,
    store,
    leases,
    slots,
    ...(warmPool ? { warmStarts: warmPool } : {}),
    executor: options.executor,
    sources,
    maxQueuedRuns: options.maxQueuedRuns,
    minFreeDiskBytes: options.minFreeDiskBytes,
    logger: options.logger,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
    ...(options.judgeTimeoutMs ? { judgeTimeoutMs: options.judgeTimeoutMs } : {}),
  });
  const runs = new RunService({ manager, store, sources });
  const review = new ReviewService({ runs, store, layout, sources, logger: options.logger });
  let stopRetention: (() => void) | undefined;
  return {
    layout,
    store,
    manager,
    runs,
    review,
    capacity,
    start: async () => {
      await manager.start();
      capacity.start();
      if (warmPool) {
        capacity.attach(warmPool);
        await warmPool.start();
      }
      const days = options.retentionDays;
      if (days !== undefined) stopRetention = startRetention({ store, layout, logger: options.logger, days });
    },
    close: async () => {
      stopRetention?.();
      capacity.stop();
      await manager.stop();
      // After the runs: none of their agents waits for a spare any more, and none is left behind.
      await warmPool?.close();
      await store.close();
    },
  };
}
