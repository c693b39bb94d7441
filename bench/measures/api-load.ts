// Measure 3: GET /health and GET /runs/:id at a fixed rate from a second process (bench/load.ts) while 10 agents run, beside a plain node:http server answering the same bodies while 10 bare SDK sessions run.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { failedAgents, followRun, ROOT, submitRun, type Orchestrator } from '../lib/orchestrator.ts';
import { runFloor } from '../lib/floor.ts';
import { now } from '../lib/model-probe.ts';
import type { AgentsContext } from './agents.ts';

export interface LoadStats {
  requests: number;
  expected: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** paced: one request every 1/rate s; burst: autocannon's, each second's requests back to back. */
  pattern?: 'paced' | 'burst';
  /** Paced only: how late the client sent its requests, p99 ms (its own timers under the same load). */
  clientLateP99?: number;
  /** How many answers took over 10 ms. */
  over10ms?: number;
  /** The load process's start (epoch ms) and its answers over 10 ms as [ms after that start, latency ms]: logged, not kept. */
  startedAt?: number;
  slow?: Array<[number, number]>;
}

/** The figures kept in RESULTS.json: the slow answers' list goes to the log only. */
function kept(stats: LoadStats): LoadStats {
  const { slow, startedAt: _startedAt, ...figures } = stats;
  return { ...figures, over10ms: slow?.length ?? 0 };
}

export interface ApiSample {
  health: LoadStats;
  run: LoadStats;
  /** Share of the load window during which 10 agents (sessions) were running. */
  coverage: number;
  runs: number;
}

export interface LoadSettings {
  rate: number;
  seconds: number;
  pattern: 'paced' | 'burst';
  agents: number;
}

const MAX_RUNS_PER_WINDOW = 6;

function runLoad(url: string, runPath: string, settings: LoadSettings): { result: Promise<Record<string, LoadStats>>; done: () => boolean } {
  const args = ['--import', 'tsx', 'bench/load.ts', '--url', url, '--path', '/health', '--path', runPath, '--rate', String(settings.rate), '--seconds', String(settings.seconds), '--pattern', settings.pattern];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let finished = false;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2_000)));
  const killer = setTimeout(() => child.kill('SIGKILL'), (settings.seconds + 60) * 1_000);
  const result = new Promise<Record<string, LoadStats>>((resolve, reject) => {
    child.once('exit', (code) => {
      finished = true;
      clearTimeout(killer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Record<string, LoadStats>);
      else reject(new Error(`the load process failed (exit ${code}): ${stderr.trim()}`));
    });
  });
  return { result, done: () => finished };
}

function overlap(windows: Array<[number, number]>, from: number, to: number): number {
  const covered = windows.reduce((sum, [start, end]) => sum + Math.max(0, Math.min(end, to) - Math.max(start, from)), 0);
  return covered / Math.max(1, to - from);
}

/** Where the API's slow answers fell in the runs: each with the last run event the bench had received before it was sent. */
function describeSlowAnswers(results: Record<string, LoadStats>, timeline: Array<{ at: number; what: string }>): string {
  const sorted = [...timeline].sort((a, b) => a.at - b.at);
  const origin = sorted[0]?.at ?? 0;
  const lines = Object.entries(results).flatMap(([pathName, stats]) =>
    (stats.slow ?? []).map(([offset, latency]) => {
      const sentAt = (stats.startedAt ?? origin) + offset;
      const before = sorted.filter((entry) => entry.at <= sentAt).pop();
      return `  +${Math.round(sentAt - origin)} ms ${pathName} ${latency} ms (after ${before ? `${before.what} at +${Math.round(before.at - origin)} ms` : 'nothing'})`;
    }),
  );
  return `api: ${lines.length} answers over 10 ms\n${lines.join('\n')}`;
}

/** Ours: runs of 10 agents back to back for as long as the load lasts; `bodyFile` gets a real GET /runs/:id body for the floor. */
export async function measureApiOurs(context: AgentsContext, orchestrator: Orchestrator, settings: LoadSettings, bodyFile: string): Promise<ApiSample> {
  // The agents' sessions start as the 202 is sent, so the load starts with them.
  const first = await submitRun(orchestrator.url, context.prompt, settings.agents);
  const loadStart = now();
  const load = runLoad(orchestrator.url, `/runs/${first.runId}`, settings);
  const windows: Array<[number, number]> = [];
  const timeline: Array<{ at: number; what: string }> = [];
  let submitted = first;
  for (let runs = 1; ; runs++) {
    timeline.push({ at: submitted.sentAt, what: `run ${runs} submitted` });
    const { events, finishedAt } = await followRun(orchestrator.url, submitted.runId, context.timeoutMs);
    for (const event of events) timeline.push({ at: event.at, what: `run ${runs} ${event.type}${event.data.agent_id ? ` agent ${event.data.agent_id}` : ''}${event.data.status ? ` ${event.data.status}` : ''}` });
    windows.push([submitted.sentAt, finishedAt]);
    const failed = failedAgents(events);
    if (failed.length > 0) throw new Error(`run ${submitted.runId}: ${failed.join('; ')}`);
    if (load.done() || runs >= MAX_RUNS_PER_WINDOW) break;
    submitted = await submitRun(orchestrator.url, context.prompt, settings.agents);
  }
  const results = await load.result;
  context.log(describeSlowAnswers(results, timeline));
  const loadEnd = loadStart + settings.seconds * 1_000;
  await writeFile(bodyFile, await (await fetch(`${orchestrator.url}/runs/${first.runId}`)).text());
  return { health: kept(results['/health']!), run: kept(results[`/runs/${first.runId}`]!), coverage: overlap(windows, loadStart, loadEnd), runs: windows.length };
}

/** The floor: the plain server under the same load while bare sessions of 10 run back to back. */
export async function measureApiFloor(context: AgentsContext, settings: LoadSettings, bodyFile: string, scratch: string): Promise<ApiSample> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'bench/floor/plain-http.ts', bodyFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error('the plain server did not start')), 30_000);
      server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve((JSON.parse(text.split('\n')[0]!) as { url: string }).url);
        }
      });
    });
    const runPath = '/runs/floor';
    // As for ours, the load starts with the first sessions, so both windows hold the same start-up storm.
    let loadStart = Number.NaN;
    let load: ReturnType<typeof runLoad> | undefined;
    const windows: Array<[number, number]> = [];
    for (let runs = 1; runs <= MAX_RUNS_PER_WINDOW && !load?.done(); runs++) {
      const result = await runFloor({
        directory: path.join(scratch, `api-floor-${Date.now()}`),
        modelUrl: context.model.url,
        claude: context.claude,
        agents: settings.agents,
        runtime: 'local',
        image: context.image,
        prompt: context.prompt,
        timeoutMs: context.timeoutMs,
        onSessionsStarted: () => {
          if (load) return;
          loadStart = now();
          load = runLoad(url, runPath, settings);
        },
      });
      windows.push([result.setupDoneAt[0] ?? result.startedAt, result.endedAt]);
    }
    if (!load) throw new Error('the floor never started its sessions');
    const results = await load.result;
    return { health: kept(results['/health']!), run: kept(results[runPath]!), coverage: overlap(windows, loadStart, loadStart + settings.seconds * 1_000), runs: windows.length };
  } finally {
    server.kill('SIGTERM');
  }
}
