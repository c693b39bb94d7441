// Measure 5: many runs queued at once on an orchestrator capped at MAX_CONCURRENT_AGENTS, all of which must complete; throughput beside the floor script running the same sessions through a pool of the same size.
import path from 'node:path';
import { failedAgents, followRun, submitRun, type Orchestrator, type Submitted } from '../lib/orchestrator.ts';
import { runFloor } from '../lib/floor.ts';
import { TreeSampler, waitForNoDescendants, type TreeUsage } from '../lib/processes.ts';
import type { AgentsContext } from './agents.ts';

export interface ScaleSettings {
  runs: number;
  agents: number;
  concurrency: number;
}

export interface ScaleSample {
  wallMs: number;
  completedAgents: number;
  /** Agents finished per minute. */
  throughput: number;
  /** The most model sessions open at once, as the model saw them: proves the cap held. */
  maxConcurrentSessions: number;
  usage: TreeUsage;
}

export async function measureScaleOurs(context: AgentsContext, orchestrator: Orchestrator, settings: ScaleSettings): Promise<ScaleSample> {
  await waitForNoDescendants(orchestrator.pid);
  const sampler = new TreeSampler(orchestrator.pid, 250);
  await sampler.start();
  context.model.reset();
  const started = Date.now();
  // Queued all at once, as a burst of clients would; each is followed on its own event stream.
  const submitted: Submitted[] = [];
  for (let run = 0; run < settings.runs; run++) submitted.push(await submitRun(orchestrator.url, context.prompt, settings.agents));
  const finished = await Promise.all(submitted.map((run) => followRun(orchestrator.url, run.runId, context.timeoutMs * settings.runs)));
  const wallMs = Math.max(...finished.map((run) => run.finishedAt)) - started;
  const failures = finished.flatMap((run, index) => failedAgents(run.events).map((failure) => `${submitted[index]!.runId} ${failure}`));
  if (failures.length > 0) throw new Error(`scale: ${failures.length} agents did not succeed: ${failures.slice(0, 5).join('; ')}`);
  await waitForNoDescendants(orchestrator.pid);
  const usage = await sampler.stop();
  const completedAgents = settings.runs * settings.agents;
  return {
    wallMs,
    completedAgents,
    throughput: (completedAgents / wallMs) * 60_000,
    maxConcurrentSessions: context.model.maxConcurrentSessions(),
    usage,
  };
}

export async function measureScaleFloor(context: AgentsContext, settings: ScaleSettings, scratch: string): Promise<ScaleSample> {
  context.model.reset();
  const result = await runFloor({
    directory: path.join(scratch, `scale-floor-${Date.now()}`),
    modelUrl: context.model.url,
    claude: context.claude,
    agents: settings.agents,
    runs: settings.runs,
    concurrency: settings.concurrency,
    runtime: 'local',
    image: context.image,
    prompt: context.prompt,
    timeoutMs: context.timeoutMs,
  });
  const failed = result.sessions.filter((session) => !session.ok);
  if (failed.length > 0) throw new Error(`scale floor: ${failed.length} sessions failed: ${failed[0]!.error ?? ''}`);
  const wallMs = result.endedAt - result.startedAt;
  return {
    wallMs,
    completedAgents: result.sessions.length,
    throughput: (result.sessions.length / wallMs) * 60_000,
    maxConcurrentSessions: context.model.maxConcurrentSessions(),
    usage: result.usage,
  };
}
