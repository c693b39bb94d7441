// Measure 6: a 10-agent run against a model that answers after 2.5 s — wall time beside ten bare SDK sessions started at once (the floor), the most model requests in flight at once, and each agent's time from the request to its first model request (p50, p95), for the default configuration, with the warm pool off, with it full, and with the old cap of 2 per core.
import path from 'node:path';
import { failedAgents, followRun, submitRun, type Orchestrator } from '../lib/orchestrator.ts';
import { runFloor } from '../lib/floor.ts';
import { percentile } from '../lib/stats.ts';
import type { ProbedModel } from '../lib/model-probe.ts';
import type { AgentsContext } from './agents.ts';

export interface LatencySample {
  /** Request sent (the bare script's start for the floor) → every agent's session ended. */
  wallMs: number;
  /** Request sent → each agent's first Messages request reaching the model (before its delay), in agent order. */
  firstRequestMs: number[];
  firstRequestP50: number;
  firstRequestP95: number;
  /** The most Messages requests the model held at once. */
  maxInFlight: number;
}

/** One orchestrator configuration of the scenario, as started. */
export interface LatencyConfig {
  label: string;
  env: Record<string, string>;
  /** Spares to wait for (ready) before each measured run: the pool in its steady state. */
  warmSpares: number;
}

export interface LatencyResults {
  settings: { agents: number; delayMs: number; repetitions: number };
  /** Each configuration's runs and the floor taken interleaved with them (at the same load); results before 2026-12-01 14:00 have no per-configuration floor. */
  configs: Array<LatencyConfig & { samples: LatencySample[]; floor?: LatencySample[] }>;
  /** The floor taken beside the first (default) configuration. */
  floor: LatencySample[];
}

export const LATENCY_CONFIGS: LatencyConfig[] = [
  { label: 'default (memory-based cap, WARM_POOL_SIZE=2)', env: {}, warmSpares: 2 },
  { label: 'warm pool off (WARM_POOL_SIZE=0)', env: { WARM_POOL_SIZE: '0' }, warmSpares: 0 },
  { label: 'warm pool full (WARM_POOL_SIZE=10)', env: { WARM_POOL_SIZE: '10' }, warmSpares: 10 },
  { label: 'before: MAX_CONCURRENT_AGENTS=4 (2 per core), no pool', env: { MAX_CONCURRENT_AGENTS: '4', WARM_POOL_SIZE: '0' }, warmSpares: 0 },
];

function sampleOf(model: ProbedModel, from: number, endedAt: number, agents: number): LatencySample {
  const arrivals = model.firstArrivals();
  if (arrivals.size !== agents) throw new Error(`expected a first model request from ${agents} agents, saw ${arrivals.size}`);
  const firstRequestMs = [...arrivals.entries()].sort(([a], [b]) => a - b).map(([, at]) => at - from);
  return {
    wallMs: endedAt - from,
    firstRequestMs,
    firstRequestP50: percentile(firstRequestMs, 50),
    firstRequestP95: percentile(firstRequestMs, 95),
    maxInFlight: model.maxRequestsInFlight(),
  };
}

/** Waits until the orchestrator reports this many ready spares (its /diagnostics capacity check). */
export async function waitForSpares(orchestrator: Orchestrator, spares: number, timeoutMs = 120_000): Promise<void> {
  if (spares === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = (await (await fetch(`${orchestrator.url}/diagnostics`)).json()) as { checks: Record<string, { spares_ready?: number }> };
    if ((report.checks['capacity']?.spares_ready ?? 0) >= spares) return;
    if (Date.now() > deadline) throw new Error(`the warm pool did not reach ${spares} ready spares in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function measureLatencyOurs(context: AgentsContext, orchestrator: Orchestrator, config: LatencyConfig, agents: number): Promise<LatencySample> {
  await waitForSpares(orchestrator, config.warmSpares);
  // Let the spares' start-up CPU settle, as a pool in its steady state would have.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  context.model.reset();
  const submitted = await submitRun(orchestrator.url, context.prompt, agents);
  const { events, finishedAt } = await followRun(orchestrator.url, submitted.runId, context.timeoutMs);
  const failed = failedAgents(events);
  if (failed.length > 0) throw new Error(`run ${submitted.runId}: ${failed.join('; ')}`);
  return sampleOf(context.model, submitted.sentAt, finishedAt, agents);
}

export async function measureLatencyFloor(context: AgentsContext, directory: string, agents: number): Promise<LatencySample> {
  context.model.reset();
  const result = await runFloor({
    directory: path.join(directory),
    modelUrl: context.model.url,
    claude: context.claude,
    agents,
    runtime: 'local',
    image: context.image,
    prompt: context.prompt,
    timeoutMs: context.timeoutMs,
  });
  const failed = result.sessions.filter((session) => !session.ok);
  if (failed.length > 0) throw new Error(`floor: ${failed.map((session) => `agent ${session.agent}: ${session.error ?? 'failed'}`).join('; ')}`);
  return sampleOf(context.model, result.startedAt, result.endedAt, agents);
}
