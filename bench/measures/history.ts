// Measure: an orchestrator over a long history — copies of one real finished 3-agent run, 100 → 10,000 → 100,000 in the run store — start-up time, idle CPU per minute and GET /runs latency at each size, per store.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { WorkspaceLayout } from '../../backend/orchestrator/src/workspace/layout.ts';
import { SqliteDatabase } from '../../backend/orchestrator/src/runs/store/sqlite-database.ts';
import { PostgresDatabase } from '../../backend/orchestrator/src/runs/store/postgres-database.ts';
import { migrate } from '../../backend/orchestrator/src/runs/store/migrations.ts';
import type { SqlDatabase } from '../../backend/orchestrator/src/runs/store/sql-database.ts';
import { listItemOf } from '../../backend/orchestrator/src/runs/run-store.ts';
import { RunEventSchema, RunStateSchema, type RunEvent, type RunState } from '@multiclaude/contract';
import { followRun, startOrchestrator, submitRun, type Orchestrator, type OrchestratorOptions } from '../lib/orchestrator.ts';
import { readStat } from '../lib/processes.ts';
import { percentile } from '../lib/stats.ts';
import type { AgentsContext } from './agents.ts';

const silentLogger = pino({ level: 'silent' });

export interface HistorySettings {
  sizes: number[];
  stores: Array<'sqlite' | 'postgres'>;
  idleSeconds: number;
  listRequests: number;
}

export interface HistorySample {
  store: 'sqlite' | 'postgres';
  runs: number;
  /** Process spawned → first 200 from /health, ms. */
  startupMs: number;
  /** The orchestrator's own CPU while idle (no run in flight), seconds per minute. */
  idleCpuSecondsPerMinute: number;
  /** GET /runs (the first page of 20), ms. */
  listP50Ms: number;
  listP99Ms: number;
  /** GET /runs?before=<a run half way back in the history>, ms. */
  deepListP99Ms: number;
  /** Bytes of state and of events per copied run. */
  stateBytes: number;
  eventsPerRun: number;
}

interface Template {
  state: string;
  events: string[];
  runId: string;
}

/** Run ids as the orchestrator makes them (UTC time, then 8 hex digits), one a minute back from the template's. */
function historicRunId(index: number, base: Date): { runId: string; createdAt: string } {
  const created = new Date(base.getTime() - (index + 1) * 60_000);
  const stamp = created.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return { runId: `${stamp}_${index.toString(16).padStart(8, '0')}`, createdAt: created.toISOString() };
}

async function openDatabase(store: 'sqlite' | 'postgres', workspace: string, databaseUrl: string | undefined): Promise<SqlDatabase> {
  const database = store === 'postgres' ? await PostgresDatabase.open(databaseUrl!, silentLogger) : await SqliteDatabase.open(new WorkspaceLayout(workspace).databasePath);
  await migrate(database);
  return database;
}

/** Adds copies of the template until the store holds `target` runs besides it; batches of 200 runs per transaction. */
async function fill(database: SqlDatabase, template: Template, from: number, target: number): Promise<void> {
  const base = new Date(Date.parse(RunStateSchema.parse(JSON.parse(template.state)).created_at));
  for (let start = from; start < target; start += 200) {
    const end = Math.min(target, start + 200);
    const runRows: unknown[] = [];
    const eventRows: unknown[] = [];
    for (let index = start; index < end; index++) {
      const { runId, createdAt } = historicRunId(index, base);
      const state = JSON.parse(template.state.replaceAll(template.runId, runId)) as RunState;
      state.created_at = createdAt;
      runRows.push(runId, state.status, createdAt, state.finished_at, JSON.stringify(listItemOf(state)), JSON.stringify(state));
      template.events.forEach((event, position) => eventRows.push(runId, position + 1, event.replaceAll(template.runId, runId)));
    }
    await database.transaction(async (executor) => {
      const runs = (runRows.length / 6) | 0;
      await executor.run(
        `INSERT INTO runs (run_id, status, created_at, finished_at, list_item, state) VALUES ${Array.from({ length: runs }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
        runRows,
      );
      // Parameters per statement stay under both databases' limits.
      for (let offset = 0; offset < eventRows.length; offset += 3 * 5_000) {
        const slice = eventRows.slice(offset, offset + 3 * 5_000);
        await executor.run(`INSERT INTO run_events (run_id, id, event) VALUES ${Array.from({ length: slice.length / 3 }, () => '(?, ?, ?)').join(', ')}`, slice);
      }
    });
  }
}

async function timeRequests(url: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let request = 0; request < count; request++) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    times.push(performance.now() - started);
  }
  return times;
}

async function cpuMs(pid: number): Promise<number> {
  const stat = await readStat(pid);
  if (!stat) throw new Error(`the orchestrator (pid ${pid}) is gone`);
  return stat.cpuMs;
}

export async function measureHistory(
  context: AgentsContext,
  settings: HistorySettings,
  scratch: string,
  databaseUrls: Partial<Record<'postgres', string>>,
): Promise<HistorySample[]> {
  const samples: HistorySample[] = [];
  for (const store of settings.stores) {
    const directory = path.join(scratch, `history-${store}`);
    await mkdir(directory, { recursive: true });
    const workspace = path.join(directory, 'workspace');
    const databaseUrl = store === 'postgres' ? databaseUrls.postgres : undefined;
    if (store === 'postgres' && !databaseUrl) throw new Error('history on postgres needs BENCH_DATABASE_URL (an empty database)');
    const options: OrchestratorOptions = {
      directory,
      modelUrl: context.model.url,
      runtime: 'local',
      maxConcurrentAgents: 3,
      ...(databaseUrl ? { env: { DATABASE_URL: databaseUrl } } : {}),
    };
    // The template: one real 3-agent run, through the real orchestrator, claude and the model.
    let orchestrator: Orchestrator = await startOrchestrator(options);
    let template: Template;
    try {
      const submitted = await submitRun(orchestrator.url, context.prompt, 3);
      await followRun(orchestrator.url, submitted.runId, context.timeoutMs);
      const state = await (await fetch(`${orchestrator.url}/runs/${submitted.runId}`)).text();
      RunStateSchema.parse(JSON.parse(state));
      const { events } = await followRun(orchestrator.url, submitted.runId, context.timeoutMs);
      const stored: RunEvent[] = events.map((event) => RunEventSchema.parse(event.data));
      template = { state, events: stored.map((event) => JSON.stringify(event)), runId: submitted.runId };
    } finally {
      await orchestrator.stop();
    }
    let filled = 0;
    for (const size of settings.sizes) {
      const database = await openDatabase(store, workspace, databaseUrl);
      try {
        context.log(`history ${store}: filling the store to ${size} runs`);
        await fill(database, template, filled, size - 1);
        filled = size - 1;
        if (database.kind === 'postgres') await database.run('ANALYZE');
      } finally {
        await database.close();
      }
      const spawned = performance.now();
      orchestrator = await startOrchestrator({ ...options, healthPollMs: 20 });
      const startupMs = performance.now() - spawned;
      try {
        // Idle: no run in flight; the heartbeat and the orphan sweep (every 30 s) are what runs.
        const before = await cpuMs(orchestrator.pid);
        await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1_000));
        const idleCpuSecondsPerMinute = ((await cpuMs(orchestrator.pid)) - before) / 1_000 / (settings.idleSeconds / 60);
        await timeRequests(`${orchestrator.url}/runs`, 20); // warm-up, not counted
        const list = await timeRequests(`${orchestrator.url}/runs`, settings.listRequests);
        const middle = historicRunId(Math.floor(filled / 2), new Date(Date.parse(RunStateSchema.parse(JSON.parse(template.state)).created_at))).runId;
        const deep = await timeRequests(`${orchestrator.url}/runs?before=${middle}`, settings.listRequests);
        const sample: HistorySample = {
          store,
          runs: size,
          startupMs,
          idleCpuSecondsPerMinute,
          listP50Ms: percentile(list, 50),
          listP99Ms: percentile(list, 99),
          deepListP99Ms: percentile(deep, 99),
          stateBytes: template.state.length,
          eventsPerRun: template.events.length,
        };
        context.log(
          `history ${store} ${size} runs: start-up ${startupMs.toFixed(0)} ms, idle CPU ${idleCpuSecondsPerMinute.toFixed(3)} s/min, ` +
            `GET /runs p50 ${sample.listP50Ms.toFixed(2)} p99 ${sample.listP99Ms.toFixed(2)} ms (deep p99 ${sample.deepListP99Ms.toFixed(2)} ms)`,
        );
        samples.push(sample);
      } finally {
        await orchestrator.stop();
      }
    }
  }
  return samples;
}
