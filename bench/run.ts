// `npm run bench`: measures our orchestrator against floors taken in the same run on this machine and writes bench/RESULTS.md.
//
// Settings (env): BENCH_REPS (3), BENCH_AGENTS ("1,5,10"), BENCH_RUNTIMES ("local,docker"; docker is skipped when its image
// is missing), BENCH_MEASURES ("agents,api,scale,soak,bestofn,history,source"), BENCH_SCALE_RUNS (20), BENCH_SCALE_AGENTS (5), BENCH_SCALE_CONCURRENCY
// (10), BENCH_BESTOFN_REPS (BENCH_REPS), BENCH_MERGE=1 (keep the sections of bench/RESULTS.json this run did not measure), BENCH_SOAK_RUNS (200),
// BENCH_SOAK_SECONDS (180), BENCH_HISTORY_SIZES ("100,10000,100000"), BENCH_HISTORY_STORES
// ("sqlite", plus "postgres" with BENCH_DATABASE_URL: an empty database), BENCH_HISTORY_IDLE_SECONDS (60), BENCH_SOURCE_FILES (50000), BENCH_LOAD_RATE (50 req/s per path), BENCH_LOAD_SECONDS (10), BENCH_LOAD_PATTERN ("paced"; "burst": autocannon's each-second bursts), BENCH_TIMEOUT_MS (300000 per run), BENCH_MAX_MINUTES
// (60: later measures are skipped past it), BENCH_OUTPUT (bench/RESULTS.md), BENCH_KEEP=1 (keep the scratch directory),
// BENCH_CPU_PROF=1 (profile the orchestrator), BENCH_LATENCY_REPS (BENCH_REPS: runs per configuration of the latency scenario),
// BENCH_CLUSTER_AGENTS (5) and BENCH_CLUSTER_REPS (4): runs of that many agents per configuration of the cluster measure (measure 10,
// on the test cluster of MULTICLAUDE_CLUSTER_KUBECONFIG, default scripts/cluster/up.sh's; in the default list it runs when that
// cluster answers with the deployment on it, and says why not otherwise; named in BENCH_MEASURES, no cluster is an error). `--quick`: 1 repetition, N=1,5, 4 scale runs, 5 s of load. `--render`:
// rewrite RESULTS.md from RESULTS.json and bench/ANALYSIS.md (the hand-written reading of the figures) without measuring.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../backend/orchestrator/src/config.ts';
import { describeMachine, dockerUsable } from './lib/machine.ts';
import { startProbedModel } from './lib/model-probe.ts';
import { ROOT, startOrchestrator, type Orchestrator } from './lib/orchestrator.ts';
import { newestProfile, summarizeProfile } from './lib/profile.ts';
import { measureFloor, measureOurs, measurePairs, type AgentsContext, type Pair } from './measures/agents.ts';
import { measureApiFloor, measureApiOurs, type ApiSample } from './measures/api-load.ts';
import { measureScaleFloor, measureScaleOurs, type ScaleSample } from './measures/scale.ts';
import { measureSoak } from './measures/soak.ts';
import { measureBestOfN } from './measures/best-of-n.ts';
import { measureSource } from './measures/source.ts';
import { measureHistory } from './measures/history.ts';
import { renderResults, type Results } from './report.ts';
import { measureCluster, type ClusterResults } from './measures/cluster.ts';
import { ClusterUnavailable, DEFAULT_KUBECONFIG, findCluster, type Cluster } from './lib/cluster.ts';
import { LATENCY_CONFIGS, measureLatencyFloor, measureLatencyOurs, waitForSpares, type LatencyResults } from './measures/latency.ts';

const quick = process.argv.includes('--quick');
const output = process.env['BENCH_OUTPUT'] ?? path.join(ROOT, 'bench', 'RESULTS.md');
const readAnalysis = (): Promise<string> => readFile(path.join(ROOT, 'bench', 'ANALYSIS.md'), 'utf8').catch(() => '');

// `--render`: rewrites RESULTS.md from RESULTS.json and the current ANALYSIS.md, measuring nothing.
if (process.argv.includes('--render')) {
  const saved = JSON.parse(await readFile(output.replace(/\.md$/, '.json'), 'utf8')) as Results;
  await writeFile(output, renderResults({ ...saved, analysis: await readAnalysis() }));
  process.exit(0);
}

const env = process.env;
const number = (name: string, fallback: number, max: number): number => {
  const value = Number(env[name] ?? fallback);
  return Number.isFinite(value) && value >= 1 ? Math.min(max, Math.floor(value)) : fallback;
};
const list = (name: string, fallback: string): string[] => (env[name] ?? fallback).split(',').map((item) => item.trim()).filter(Boolean);

const settings = {
  quick,
  repetitions: number('BENCH_REPS', quick ? 1 : 3, 20),
  agentCounts: list('BENCH_AGENTS', quick ? '1,5' : '1,5,10').map(Number).filter((n) => n >= 1 && n <= 10),
  runtimes: list('BENCH_RUNTIMES', 'local,docker').filter((name): name is 'local' | 'docker' => name === 'local' || name === 'docker'),
  measures: list('BENCH_MEASURES', 'agents,api,scale,soak,bestofn,history,source,latency,cluster'),
  bestOfNRepetitions: number('BENCH_BESTOFN_REPS', quick ? 1 : 3, 10),
  sourceFiles: number('BENCH_SOURCE_FILES', quick ? 5_000 : 50_000, 500_000),
  scaleRuns: number('BENCH_SCALE_RUNS', quick ? 4 : 20, 50),
  scaleAgents: number('BENCH_SCALE_AGENTS', 5, 10),
  scaleConcurrency: number('BENCH_SCALE_CONCURRENCY', 10, 32),
  soakRuns: number('BENCH_SOAK_RUNS', quick ? 20 : 200, 2_000),
  soakSeconds: number('BENCH_SOAK_SECONDS', quick ? 30 : 180, 3_600),
  historySizes: list('BENCH_HISTORY_SIZES', quick ? '100,10000' : '100,10000,100000').map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000),
  historyStores: list('BENCH_HISTORY_STORES', env['BENCH_DATABASE_URL'] ? 'sqlite,postgres' : 'sqlite').filter(
    (name): name is 'sqlite' | 'postgres' => name === 'sqlite' || name === 'postgres',
  ),
  historyIdleSeconds: number('BENCH_HISTORY_IDLE_SECONDS', quick ? 20 : 60, 600),
  loadRate: number('BENCH_LOAD_RATE', 50, 1_000),
  loadSeconds: number('BENCH_LOAD_SECONDS', quick ? 5 : 10, 120),
  loadPattern: env['BENCH_LOAD_PATTERN'] === 'burst' ? ('burst' as const) : ('paced' as const),
  timeoutMs: number('BENCH_TIMEOUT_MS', 300_000, 3_600_000),
  maxMinutes: number('BENCH_MAX_MINUTES', 60, 24 * 60),
  cpuProfile: env['BENCH_CPU_PROF'] === '1',
  latencyRepetitions: number('BENCH_LATENCY_REPS', quick ? 1 : 3, 20),
  clusterAgents: number('BENCH_CLUSTER_AGENTS', 5, 10),
  clusterRepetitions: number('BENCH_CLUSTER_REPS', quick ? 2 : 4, 20),
};
/** Named in BENCH_MEASURES: then a missing cluster is an error, not a note. */
const clusterAsked = list('BENCH_MEASURES', '').includes('cluster');
const started = Date.now();
const deadline = started + settings.maxMinutes * 60_000;
const log = (line: string): void => console.log(`[bench ${((Date.now() - started) / 1_000).toFixed(0).padStart(4)} s] ${line}`);

const claude = loadConfig({ HOME: os.tmpdir() }).claudeExecutable;
const image = env['DOCKER_MCP_IMAGE'] ?? 'claude-mcp:latest';
const machine = await describeMachine(claude);
log(`${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.load.join(' ')}; settings ${JSON.stringify(settings)}`);

const scratch = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-bench-'));
const model = await startProbedModel();
const context: AgentsContext = { model, claude, image, prompt: 'Write a haiku about git.', timeoutMs: settings.timeoutMs, log };
const errors: string[] = [];
const pairs: Pair[] = [];
const profiles: Results['profiles'] = [];
let api: { ours: ApiSample[]; floor: ApiSample[] } | undefined;
let scale: Results['scale'];
let soak: Results['soak'];
let bestOfN: Results['bestOfN'];
let source: Results['source'];
let history: Results['history'];
let latency: LatencyResults | undefined;
let cluster: ClusterResults | undefined;
const notes: string[] = [];

/** Runs one step; a failure is recorded for the report and the bench goes on with the next. */
async function step(name: string, body: () => Promise<void>): Promise<void> {
  if (Date.now() > deadline) {
    errors.push(`${name}: skipped, BENCH_MAX_MINUTES (${settings.maxMinutes}) reached`);
    return;
  }
  try {
    await body();
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    errors.push(`${name}: ${(error as Error).message}`);
  }
}

async function withOrchestrator(
  name: string,
  runtime: 'local' | 'docker',
  maxConcurrentAgents: number | undefined,
  body: (orchestrator: Orchestrator) => Promise<void>,
  extraEnv: Record<string, string> = {},
): Promise<void> {
  const directory = path.join(scratch, `orchestrator-${name}`);
  const profileDirectory = path.join(directory, 'profile');
  await mkdir(directory, { recursive: true });
  const orchestrator = await startOrchestrator({
    directory,
    modelUrl: model.url,
    runtime,
    ...(maxConcurrentAgents !== undefined ? { maxConcurrentAgents } : {}),
    maxQueuedRuns: Math.max(20, settings.scaleRuns),
    env: extraEnv,
    ...(settings.cpuProfile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDirectory] } : {}),
  });
  try {
    await body(orchestrator);
  } finally {
    await orchestrator.stop();
    const profile = settings.cpuProfile ? await newestProfile(profileDirectory) : undefined;
    if (profile) profiles.push({ label: name, summary: await summarizeProfile(profile) });
  }
}

try {
  let runtimes = settings.runtimes;
  if (runtimes.includes('docker') && !(await dockerUsable(image))) {
    errors.push(`docker: skipped, image ${image} or the engine is not available (npm run build:images)`);
    runtimes = runtimes.filter((runtime) => runtime !== 'docker');
  }
  const maxAgents = Math.max(...settings.agentCounts, 10);
  for (const runtime of runtimes) {
    const wantAgents = settings.measures.includes('agents');
    const wantApi = settings.measures.includes('api') && runtime === 'local';
    if (!wantAgents && !wantApi) continue;
    await step(`${runtime}`, () =>
      withOrchestrator(runtime, runtime, maxAgents, async (orchestrator) => {
        // Warm-up, not counted: first runs pay for tsx's compile cache and a cold page cache.
        log(`${runtime}: warming up`);
        await measureOurs(context, orchestrator, 1);
        await measureFloor(context, path.join(scratch, `warmup-${runtime}`), runtime, 1);
        if (wantAgents) {
          await step(`${runtime} agents`, async () => {
            pairs.push(...(await measurePairs(context, orchestrator, runtime, settings.agentCounts, settings.repetitions, scratch)));
          });
        }
        if (wantApi) {
          await step('api under load', async () => {
            const load = { rate: settings.loadRate, seconds: settings.loadSeconds, pattern: settings.loadPattern, agents: 10 };
            const samples: { ours: ApiSample[]; floor: ApiSample[] } = { ours: [], floor: [] };
            for (let repetition = 0; repetition < settings.repetitions && Date.now() < deadline; repetition++) {
              const bodyFile = path.join(scratch, `run-body-${repetition}.json`);
              samples.ours.push(await measureApiOurs(context, orchestrator, load, bodyFile));
              samples.floor.push(await measureApiFloor(context, load, bodyFile, scratch));
              const [ours, floor] = [samples.ours.at(-1)!, samples.floor.at(-1)!];
              log(`api #${repetition + 1}: p99 /health ${ours.health.p99} vs ${floor.health.p99} ms, /runs/:id ${ours.run.p99} vs ${floor.run.p99} ms`);
            }
            api = samples;
          });
        }
      }),
    );
  }
  if (settings.measures.includes('scale')) {
    const scaleSettings = { runs: settings.scaleRuns, agents: settings.scaleAgents, concurrency: settings.scaleConcurrency };
    await step('scale', () =>
      withOrchestrator('scale', 'local', scaleSettings.concurrency, async (orchestrator) => {
        const samples: { ours: ScaleSample[]; floor: ScaleSample[] } = { ours: [], floor: [] };
        const repetitions = number('BENCH_SCALE_REPS', 1, 5);
        for (let repetition = 0; repetition < repetitions && Date.now() < deadline; repetition++) {
          samples.ours.push(await measureScaleOurs(context, orchestrator, scaleSettings));
          samples.floor.push(await measureScaleFloor(context, scaleSettings, scratch));
          const [ours, floor] = [samples.ours.at(-1)!, samples.floor.at(-1)!];
          log(`scale #${repetition + 1}: ${(ours.wallMs / 1_000).toFixed(1)} vs ${(floor.wallMs / 1_000).toFixed(1)} s, ${ours.throughput.toFixed(1)} vs ${floor.throughput.toFixed(1)} agents/min`);
        }
        scale = { settings: scaleSettings, ...samples };
      }),
    );
  }
  if (settings.measures.includes('soak')) {
    const soakSettings = { runs: settings.soakRuns, submitSeconds: settings.soakSeconds, cancelShare: 0.15, maxConcurrentAgents: 10 };
    await step('soak', async () => {
      const directory = path.join(scratch, 'orchestrator-soak');
      await mkdir(directory, { recursive: true });
      const start = () =>
        startOrchestrator({ directory, modelUrl: model.url, runtime: 'local', maxConcurrentAgents: soakSettings.maxConcurrentAgents, maxQueuedRuns: 50 });
      const sample = await measureSoak(context, start, soakSettings);
      log(`soak: ${sample.ended}/${sample.submitted} ended, ${sample.lost} lost, ${sample.stuck} stuck, API p99 ${sample.apiP99Ms.toFixed(1)} ms`);
      soak = { settings: soakSettings, sample };
    });
  }
  if (settings.measures.includes('bestofn')) {
    await step('best of N', () =>
      withOrchestrator('bestofn', 'local', 5, async (orchestrator) => {
        log('best of N: warming up');
        // Not counted, and not fatal: on a loaded machine the first agent may fail; the measure itself says what happened.
        await measureOurs(context, orchestrator, 1).catch((error: unknown) => log(`best of N: warm-up failed (${(error as Error).message})`));
        bestOfN = { samples: await measureBestOfN(context, orchestrator, settings.bestOfNRepetitions) };
      }),
    );
  }
  if (settings.measures.includes('history')) {
    const historySettings = {
      sizes: settings.historySizes,
      stores: settings.historyStores,
      idleSeconds: settings.historyIdleSeconds,
      listRequests: quick ? 200 : 1_000,
    };
    await step('history', async () => {
      const databaseUrl = env['BENCH_DATABASE_URL'];
      history = { settings: historySettings, samples: await measureHistory(context, historySettings, scratch, databaseUrl ? { postgres: databaseUrl } : {}) };
    });
  }
  if (settings.measures.includes('source')) {
    await step('source', async () => {
      const sourceSettings = { files: settings.sourceFiles, agents: 10, repetitions: settings.repetitions, setupFiles: 5_000 };
      source = { settings: sourceSettings, sample: await measureSource(sourceSettings, scratch, log) };
    });
  }
  if (settings.measures.includes('latency')) {
    await step('latency', async () => {
      const agents = 10;
      const delayMs = 2_500;
      const repetitions = settings.latencyRepetitions;
      // The model waits 2.5 s before each answer, as a real model thinks: agents spend their time waiting, not computing.
      const slow: AgentsContext = { ...context, prompt: `Write a haiku about git. [[slow ms=${delayMs}]]` };
      const results: LatencyResults & { api?: { ours: ApiSample[]; floor: ApiSample[] } } = {
        settings: { agents, delayMs, repetitions },
        configs: LATENCY_CONFIGS.map((config) => ({ ...config, samples: [], floor: [] })),
        floor: [],
      };
      for (const [index, config] of results.configs.entries()) {
        await withOrchestrator(
          `latency-${index}`,
          'local',
          undefined,
          async (orchestrator) => {
            log(`latency: ${config.label}: warming up`);
            await measureLatencyOurs(slow, orchestrator, config, agents);
            for (let repetition = 0; repetition < repetitions && Date.now() < deadline; repetition++) {
              const ours = await measureLatencyOurs(slow, orchestrator, config, agents);
              config.samples.push(ours);
              log(`latency ${config.label} #${repetition + 1}: wall ${ours.wallMs} ms, first request p50 ${ours.firstRequestP50} p95 ${ours.firstRequestP95} ms, ${ours.maxInFlight} in flight`);
              {
                // A floor beside every configuration's runs, so each ratio compares figures taken at the same load.
                const floor = await measureLatencyFloor(slow, path.join(scratch, `latency-floor-${index}-${repetition}`), agents);
                config.floor!.push(floor);
                if (index === 0) results.floor.push(floor);
                log(`latency floor #${repetition + 1}: wall ${floor.wallMs} ms, first request p50 ${floor.firstRequestP50} p95 ${floor.firstRequestP95} ms, ${floor.maxInFlight} in flight`);
              }
            }
            if (index === 0) {
              // The API while the ten start and wait, in the default configuration (warm pool, memory-based cap).
              const load = { rate: settings.loadRate, seconds: settings.loadSeconds, pattern: settings.loadPattern, agents };
              // As many windows as repetitions: a 10 s window's p99 rests on its five slowest answers per path, and single
              // windows of one build differed tenfold in answers over 10 ms; the report gives the median and the range.
              const bodyFile = path.join(scratch, 'latency-run-body.json');
              const api: { ours: ApiSample[]; floor: ApiSample[] } = { ours: [], floor: [] };
              for (let window = 0; window < Math.max(1, repetitions) && Date.now() < deadline; window++) {
                await waitForSpares(orchestrator, config.warmSpares);
                const ours = await measureApiOurs(slow, orchestrator, load, bodyFile);
                const floor = await measureApiFloor(slow, load, bodyFile, scratch);
                api.ours.push(ours);
                api.floor.push(floor);
                log(`latency api #${window + 1}: p99 /health ${ours.health.p99} vs ${floor.health.p99} ms, /runs/:id ${ours.run.p99} vs ${floor.run.p99} ms`);
              }
              results.api = api;
            }
          },
          config.env,
        );
      }
      latency = results;
    });
  }
  if (settings.measures.includes('cluster')) {
    await step('cluster', async () => {
      const kubeconfig = env['MULTICLAUDE_CLUSTER_KUBECONFIG'] || DEFAULT_KUBECONFIG;
      let found: Cluster;
      try {
        found = await findCluster(kubeconfig);
      } catch (error) {
        if (error instanceof ClusterUnavailable && !clusterAsked) {
          notes.push(`cluster: not measured: ${error.message}`);
          return;
        }
        throw error;
      }
      if (!(await dockerUsable(image))) throw new Error(`the cluster measure compares with the docker runtime, and image ${image} or the engine is not available (npm run build:images)`);
      const agents = settings.clusterAgents;
      await withOrchestrator('cluster-docker', 'docker', agents, async (orchestrator) => {
        const clusterContext = { prompt: context.prompt, timeoutMs: settings.timeoutMs, log, inTime: () => Date.now() < deadline };
        cluster = await measureCluster(clusterContext, found, orchestrator, { agents, repetitions: settings.clusterRepetitions });
      });
    });
  }
} finally {
  await model.close();
  if (env['BENCH_KEEP'] === '1') log(`scratch kept at ${scratch}`);
  else await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
}

const analysis = await readAnalysis();
// BENCH_MERGE=1: a run of some measures keeps the others' figures from the last full run, and says so.
const previous = env['BENCH_MERGE'] === '1' ? ((await readFile(output.replace(/\.md$/, '.json'), 'utf8').then((text) => JSON.parse(text) as Results).catch(() => undefined))) : undefined;
const carried = (name: string, ours: unknown, theirs: unknown): unknown => {
  if (ours !== undefined || theirs === undefined) return ours;
  notes.push(`${name}: not measured in this run; figures carried over from the previous run (${previous?.machine.date}, BENCH_MERGE=1)`);
  return theirs;
};
const results: Results = {
  machine,
  loadAfter: os.loadavg().map((value) => Math.round(value * 100) / 100),
  settings: {
    ...settings,
    agentCounts: settings.agentCounts.join(' '),
    runtimes: settings.runtimes.join(' '),
    measures: settings.measures.join(' '),
    historySizes: settings.historySizes.join(' '),
    historyStores: settings.historyStores.join(' '),
  },
  durationMs: Date.now() - started,
  pairs: (carried('agents', pairs.length ? pairs : undefined, previous?.pairs.length ? previous.pairs : undefined) as Pair[] | undefined) ?? [],
  api: carried('api', api, previous?.api) as Results['api'],
  scale: carried('scale', scale, previous?.scale) as Results['scale'],
  soak: carried('soak', soak, previous?.soak) as Results['soak'],
  bestOfN: carried('best of N', bestOfN, previous?.bestOfN) as Results['bestOfN'],
  source: carried('source', source, previous?.source) as Results['source'],
  history: carried('history', history, previous?.history) as Results['history'],
  latency: carried('latency', latency, previous?.latency) as Results['latency'],
  cluster: carried('cluster', cluster, previous?.cluster) as Results['cluster'],
  profiles,
  errors,
  notes,
  analysis,
};
await writeFile(output, renderResults(results));
await writeFile(output.replace(/\.md$/, '.json'), `${JSON.stringify(results, null, 1)}\n`);
log(`wrote ${path.relative(ROOT, output)}${errors.length > 0 ? ` with ${errors.length} error(s)` : ''}`);
process.exit(errors.length > 0 ? 1 : 0);
