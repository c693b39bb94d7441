// Builds the run machinery (layout, store, leases, slots, manager) and the services entry points call; shared by main.ts and the tests.
import os from 'node:os';
import type { Logger } from 'pino';
import { WorkspaceLayout } from '../workspace/layout.ts';
import { FileRunStore, type RunStore } from './run-store.ts';
import { Leases, newOwnerId } from './lease.ts';
import { AgentSlots } from './agent-slots.ts';
import { RunManager } from './run-manager.ts';
import { RunService } from './run-service.ts';
import { ReviewService } from './review-service.ts';
import type { AgentExecutor } from './agent-executor.ts';
import { SourceRepositories, type SourceSettings } from '../git/source.ts';

export interface RunMachineryOptions {
  workspaceLocal: string;
  maxConcurrentAgents: number;
  maxQueuedRuns: number;
  minFreeDiskBytes: number;
  executor: AgentExecutor;
  /** Where sources may come from and the orchestrator's credentials for them; none and any by default. */
  sources?: SourceSettings;
  logger: Logger;
  /** A lease older than this marks its run's owner dead (another host's replica). */
  leaseTtlMs?: number;
  heartbeatMs?: number;
  /** How often a follower of another replica's run re-reads its events. */
  pollMs?: number;
}

export interface RunMachinery {
  layout: WorkspaceLayout;
  store: RunStore;
  manager: RunManager;
  runs: RunService;
  review: ReviewService;
}

export function createRunMachinery(options: RunMachineryOptions): RunMachinery {
  const layout = new WorkspaceLayout(options.workspaceLocal);
  const store = new FileRunStore(layout);
  const sources = new SourceRepositories(options.sources);
  const leases = new Leases({ store, owner: newOwnerId(), host: os.hostname(), pid: process.pid, ttlMs: options.leaseTtlMs ?? 30_000 });
  const manager = new RunManager({
    layout,
    store,
    leases,
    slots: new AgentSlots(options.maxConcurrentAgents),
    executor: options.executor,
    sources,
    maxQueuedRuns: options.maxQueuedRuns,
    minFreeDiskBytes: options.minFreeDiskBytes,
    logger: options.logger,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
  });
  const runs = new RunService({ manager, store, sources, ...(options.pollMs ? { pollMs: options.pollMs } : {}) });
  const review = new ReviewService({ runs, store, layout, sources, logger: options.logger });
  return { layout, store, manager, runs, review };
}
