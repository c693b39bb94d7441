// Builds the run machinery (store, leases, slots, manager) from its settings; shared by main.ts and the tests.
import os from 'node:os';
import type { Logger } from 'pino';
import { RunStore } from './run-store.ts';
import { Leases, newOwnerId } from './lease.ts';
import { AgentSlots } from './agent-slots.ts';
import { RunManager } from './run-manager.ts';
import type { AgentRunnerSettings } from './agent-runner.ts';

export interface RunMachineryOptions {
  workspaceLocal: string;
  maxConcurrentAgents: number;
  maxQueuedRuns: number;
  agents: AgentRunnerSettings;
  checkTimeoutMs?: number;
  logger: Logger;
  /** A lease older than this marks its run's owner dead (another host's replica). */
  leaseTtlMs?: number;
}

export function createRunMachinery(options: RunMachineryOptions): { store: RunStore; manager: RunManager } {
  const store = new RunStore(options.workspaceLocal);
  const leases = new Leases({ owner: newOwnerId(), host: os.hostname(), pid: process.pid, ttlMs: options.leaseTtlMs ?? 30_000 });
  const manager = new RunManager({
    workspaceLocal: options.workspaceLocal,
    store,
    leases,
    slots: new AgentSlots(options.maxConcurrentAgents),
    maxQueuedRuns: options.maxQueuedRuns,
    agents: options.agents,
    checkTimeoutMs: options.checkTimeoutMs ?? 10 * 60_000,
    logger: options.logger,
  });
  return { store, manager };
}
