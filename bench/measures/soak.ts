// Measure 6 (soak): many runs of 1–10 agents submitted over a few minutes, some cancelled at random, the orchestrator killed and restarted in the middle; counts runs completed, lost and stuck, with the API's p99 and the peak memory.
import { readStat } from '../lib/processes.ts';
import { percentile } from '../lib/stats.ts';
import { startOrchestrator, type Orchestrator } from '../lib/orchestrator.ts';
import type { AgentsContext } from './agents.ts';

export interface SoakSettings {
  runs: number;
  /** Submissions are spread over this long. */
  submitSeconds: number;
  /** Share of runs cancelled a random moment after they were accepted. */
  cancelShare: number;
  maxConcurrentAgents: number;
}

export interface SoakSample {
  submitted: number;
  /** Accepted runs that reached a terminal status (completed, cancelled or interrupted). */
  ended: number;
  byStatus: Record<string, number>;
  /** Accepted runs the API no longer knows (404): the goal is 0. */
  lost: number;
  /** Accepted runs still queued or running when the drain deadline passed: the goal is 0. */
  stuck: number;
  /** 429s and refused connections (during the restart) that were retried. */
  retries: number;
  cancelled: number;
  apiP99Ms: number;
  apiErrors: number;
  peakRssBytes: number;
  wallMs: number;
}

const TERMINAL = new Set(['completed', 'cancelled', 'interrupted']);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureSoak(
  context: AgentsContext,
  start: () => Promise<Orchestrator>,
  settings: SoakSettings,
  random: () => number = Math.random,
): Promise<SoakSample> {
  let orchestrator = await start();
  const started = Date.now();
  const accepted: string[] = [];
  const latencies: number[] = [];
  let apiErrors = 0;
  let retries = 0;
  let cancelled = 0;
  let peakRssBytes = 0;
  let restarting = false;
  let sampling = true;

  // The API is probed all along, as a dashboard would; the restart's gap is not counted as errors.
  const prober = (async () => {
    while (sampling) {
      if (!restarting) {
        const runId = accepted.at(-1);
        const begun = performance.now();
        const response = await fetch(`${orchestrator.url}${runId ? `/runs/${runId}` : '/health'}`).catch(() => undefined);
        if (response?.ok) latencies.push(performance.now() - begun);
        else if (!restarting) apiErrors++;
        await response?.arrayBuffer().catch(() => undefined);
        const stat = await readStat(orchestrator.pid);
        if (stat) peakRssBytes = Math.max(peakRssBytes, stat.rssBytes);
      }
      await sleep(100);
    }
  })();

  async function submit(index: number): Promise<void> {
    const agents = 1 + Math.floor(random() * 10);
    for (;;) {
      const response = await fetch(`${orchestrator.url}/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: `${context.prompt} (soak ${index})`, agent_count: agents }),
      }).catch(() => undefined);
      if (response?.status === 202) {
        const { run_id: runId } = (await response.json()) as { run_id: string };
        accepted.push(runId);
        if (random() < settings.cancelShare) {
          const url = orchestrator.url;
          setTimeout(() => {
            cancelled++;
            void fetch(`${url}/runs/${runId}/cancel`, { method: 'POST' }).catch(() => undefined);
          }, random() * 10_000);
        }
        return;
      }
      await response?.arrayBuffer().catch(() => undefined);
      retries++;
      await sleep(response?.status === 429 ? Number(response.headers.get('retry-after') ?? 1) * 200 : 500);
    }
  }

  const gapMs = (settings.submitSeconds * 1_000) / settings.runs;
  const submissions: Array<Promise<void>> = [];
  for (let index = 0; index < settings.runs; index++) {
    if (index === Math.floor(settings.runs / 2)) {
      // A crash in the middle: the runs it owned must end `interrupted`, none lost, none stuck.
      restarting = true;
      context.log(`soak: killing the orchestrator (pid ${orchestrator.pid}) after ${index} submissions`);
      process.kill(orchestrator.pid, 'SIGKILL');
      await orchestrator.stop();
      orchestrator = await start();
      restarting = false;
    }
    submissions.push(submit(index));
    await sleep(gapMs);
  }
  await Promise.all(submissions);

  const byStatus: Record<string, number> = {};
  let lost = 0;
  let stuck = 0;
  const drainDeadline = Date.now() + Math.max(context.timeoutMs, 10 * 60_000);
  for (const runId of accepted) {
    for (;;) {
      const response = await fetch(`${orchestrator.url}/runs/${runId}`).catch(() => undefined);
      if (response?.status === 404) {
        lost++;
        break;
      }
      const state = response?.ok ? ((await response.json()) as { status: string }) : undefined;
      if (state && TERMINAL.has(state.status)) {
        byStatus[state.status] = (byStatus[state.status] ?? 0) + 1;
        break;
      }
      if (Date.now() > drainDeadline) {
        stuck++;
        break;
      }
      await sleep(500);
    }
  }
  sampling = false;
  await prober;
  const wallMs = Date.now() - started;
  await orchestrator.stop();
  return {
    submitted: settings.runs,
    ended: Object.values(byStatus).reduce((sum, count) => sum + count, 0),
    byStatus,
    lost,
    stuck,
    retries,
    cancelled,
    apiP99Ms: percentile(latencies, 99),
    apiErrors,
    peakRssBytes,
    wallMs,
  };
}
