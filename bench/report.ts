// Turns one benchmark run's samples into bench/RESULTS.md: the machine, then per measure ours beside its floor (median, min–max), the ratio, the target and whether it is met.
import type { Machine } from './lib/machine.ts';
import type { Pair, Sample } from './measures/agents.ts';
import type { ApiSample } from './measures/api-load.ts';
import type { ScaleSample, ScaleSettings } from './measures/scale.ts';
import type { SoakSample, SoakSettings } from './measures/soak.ts';
import { BEST_OF_N_CONFIGURATIONS, ONE_IN_THREE_CHECK, type BestOfNSample } from './measures/best-of-n.ts';
import type { SourceSample, SourceSettings } from './measures/source.ts';
import type { HistorySample, HistorySettings } from './measures/history.ts';
import type { LatencyResults, LatencySample } from './measures/latency.ts';
import { GOAL_OVER_DOCKER_MS, sandboxMs, type ClusterResults } from './measures/cluster.ts';
import type { ProfileSummary } from './lib/profile.ts';
import { formatSummary, mib, percentile, ratio, summarize } from './lib/stats.ts';

export interface Results {
  machine: Machine;
  loadAfter: number[];
  settings: Record<string, string | number | boolean>;
  durationMs: number;
  pairs: Pair[];
  api: { ours: ApiSample[]; floor: ApiSample[] } | undefined;
  scale: { settings: ScaleSettings; ours: ScaleSample[]; floor: ScaleSample[] } | undefined;
  /** Absent in results written before the soak existed. */
  soak?: { settings: SoakSettings; sample: SoakSample } | undefined;
  /** Absent in results written before best of N existed. */
  bestOfN?: { samples: BestOfNSample[] } | undefined;
  /** Absent in results written before runs could start from a source. */
  source?: { settings: SourceSettings; sample: SourceSample } | undefined;
  /** Absent in results written before the history measure existed. */
  history?: { settings: HistorySettings; samples: HistorySample[] } | undefined;
  /** Absent in results written before the latency scenario existed. */
  latency?: (LatencyResults & { api?: { ours: ApiSample[]; floor: ApiSample[] } }) | undefined;
  /** Absent in results written before the cluster measure existed. */
  cluster?: ClusterResults | undefined;
  profiles: Array<{ label: string; summary: ProfileSummary }>;
  errors: string[];
  /** Sections carried over from an earlier run (BENCH_MERGE=1). */
  notes?: string[];
  /** Hand-written analysis kept beside the generator (bench/ANALYSIS.md), appended as is. */
  analysis: string;
}

type Target = { kind: 'ratio'; max: number } | { kind: 'ratio-min'; min: number } | { kind: 'below'; max: number; unit: string } | { kind: 'none' };

const HEADER = '| Measure | Ours: median (min–max) | Floor: median (min–max) | Ratio | Target | Met |\n|---|---|---|---|---|---|';

function row(name: string, ours: number[], floor: number[], target: Target, digits = 0): string {
  const o = summarize(ours);
  const f = summarize(floor);
  const r = ratio(o.median, f.median);
  const ratioText = Number.isNaN(r) ? '—' : `${r.toFixed(2)}×`;
  let targetText = '—';
  let met = '—';
  if (target.kind === 'ratio') {
    targetText = `≤ ${target.max}×`;
    met = Number.isNaN(r) ? '—' : r <= target.max ? 'yes' : '**no**';
  } else if (target.kind === 'ratio-min') {
    targetText = `≥ ${target.min}×`;
    met = Number.isNaN(r) ? '—' : r >= target.min ? 'yes' : '**no**';
  } else if (target.kind === 'below') {
    targetText = `< ${target.max} ${target.unit}`;
    met = o.n === 0 ? '—' : o.median < target.max && o.max < target.max ? 'yes' : o.median < target.max ? 'median yes, max **no**' : '**no**';
  }
  return `| ${name} | ${formatSummary(o, digits)} | ${formatSummary(f, digits)} | ${ratioText} | ${targetText} | ${met} |`;
}

const label = (pair: Pair): string => `${pair.runtime} N=${pair.agents}`;
const pick = (samples: Sample[], read: (sample: Sample) => number): number[] => samples.map(read);

function setupSection(pairs: Pair[]): string {
  const lines = [
    '## 1. Run setup',
    '',
    'Ours: `POST /runs` sent → the 202 (the run repository is made before it answers), and → the last agent\'s first request',
    'reaching the model. Floor: the bare script\'s start → `raw-git.sh` done (the same git commands in a shell loop), and → the last',
    'bare session\'s first model request (raw-git.sh, then N SDK sessions started at once).',
    '',
    HEADER,
  ];
  for (const pair of pairs) lines.push(row(`repository, ${label(pair)} (ms)`, pick(pair.ours, (s) => s.gitMs), pick(pair.floor, (s) => s.gitMs), { kind: 'ratio', max: 1.3 }));
  for (const pair of pairs) lines.push(row(`→ every first model request, ${label(pair)} (ms)`, pick(pair.ours, (s) => s.setupMs), pick(pair.floor, (s) => s.setupMs), { kind: 'ratio', max: 1.3 }));
  return lines.join('\n');
}

function wallSection(pairs: Pair[]): string {
  const lines = [
    '## 2. N-agent wall time',
    '',
    'Ours: `POST /runs` sent → `run_finished` received on the event stream. Floor: `bench/floor/bare-sdk.ts` start → every bare session',
    'ended (raw-git.sh, then N sessions with their own `claude mcp serve`; for docker, each in a plain `docker run --rm -i` container).',
    '',
    HEADER,
  ];
  for (const pair of pairs) lines.push(row(`wall, ${label(pair)} (ms)`, pick(pair.ours, (s) => s.wallMs), pick(pair.floor, (s) => s.wallMs), { kind: 'ratio', max: 1.15 }));
  lines.push(
    '',
    'CPU time and peak memory over the same runs. "Orchestrator" is the orchestrator process alone (the floor: the bare script\'s',
    'own node process); "agents" is every process under it (claude, `claude mcp serve`, git, bash, the docker client), CPU from',
    'reaped children\'s counters, RSS summed per 100 ms sample. "Containers" is the sandbox containers\' cgroups (docker only).',
    '',
    HEADER,
  );
  for (const pair of pairs) {
    lines.push(row(`orchestrator CPU, ${label(pair)} (ms)`, pick(pair.ours, (s) => s.usage.rootCpuMs), pick(pair.floor, (s) => s.usage.rootCpuMs), { kind: 'none' }));
    lines.push(row(`agents CPU, ${label(pair)} (ms)`, pick(pair.ours, (s) => s.usage.descendantsCpuMs), pick(pair.floor, (s) => s.usage.descendantsCpuMs), { kind: 'none' }));
    lines.push(row(`orchestrator peak RSS, ${label(pair)} (MiB)`, pick(pair.ours, (s) => mib(s.usage.rootPeakRssBytes)), pick(pair.floor, (s) => mib(s.usage.rootPeakRssBytes)), { kind: 'none' }));
    lines.push(row(`agents peak RSS, ${label(pair)} (MiB)`, pick(pair.ours, (s) => mib(s.usage.descendantsPeakRssBytes)), pick(pair.floor, (s) => mib(s.usage.descendantsPeakRssBytes)), { kind: 'none' }));
    if (pair.runtime === 'docker') {
      lines.push(row(`containers CPU, ${label(pair)} (ms)`, pick(pair.ours, (s) => s.usage.containers.cpuMs), pick(pair.floor, (s) => s.usage.containers.cpuMs), { kind: 'none' }));
      lines.push(row(`containers peak RSS, ${label(pair)} (MiB)`, pick(pair.ours, (s) => mib(s.usage.containers.peakRssBytes)), pick(pair.floor, (s) => mib(s.usage.containers.peakRssBytes)), { kind: 'none' }));
    }
  }
  lines.push(
    '',
    'Where the time goes, per agent (mean over a run\'s agents, then median over repetitions; ms): to its session starting',
    '(git, slot, sandbox), → its first model request (claude start-up, MCP connect), → the model\'s last answer, → the agent',
    'recorded as ended (claude exit, sandbox teardown), and last agent ended → run finished.',
    '',
    '| Runtime, N | to session: ours / floor | → first request | conversation | teardown | finish |',
    '|---|---|---|---|---|---|',
  );
  const phase = (pair: Pair, read: (sample: Sample) => number): string =>
    `${summarize(pick(pair.ours, read)).median.toFixed(0)} / ${summarize(pick(pair.floor, read)).median.toFixed(0)}`;
  for (const pair of pairs) {
    lines.push(
      `| ${label(pair)} | ${phase(pair, (s) => s.phases.toSession)} | ${phase(pair, (s) => s.phases.toFirstRequest)} | ${phase(pair, (s) => s.phases.conversation)} | ${phase(pair, (s) => s.phases.teardown)} | ${phase(pair, (s) => s.phases.finish)} |`,
    );
  }
  return lines.join('\n');
}

function eventSection(pairs: Pair[]): string {
  const lines = [
    '## 4. Event latency',
    '',
    'The SDK hands over whole assistant messages, never text deltas, so the latency is taken from the model having written the',
    'answer\'s `message_stop` (stamped in the model\'s server) to the SSE client receiving that text\'s `agent_text` event. Floor: to the',
    'bare script\'s SDK iterator yielding the same message. Per repetition the p95 (and p50) over every text of the run; then median',
    'and range over repetitions.',
    '',
    HEADER,
  ];
  for (const pair of pairs) {
    const p = (samples: Sample[], q: number): number[] => samples.map((s) => percentile(s.eventLatenciesMs, q)).filter((v) => !Number.isNaN(v));
    lines.push(row(`p50, ${label(pair)} (ms)`, p(pair.ours, 50), p(pair.floor, 50), { kind: 'none' }));
    lines.push(row(`p95, ${label(pair)} (ms)`, p(pair.ours, 95), p(pair.floor, 95), { kind: 'below', max: 50, unit: 'ms' }));
  }
  return lines.join('\n');
}

function apiSection(api: NonNullable<Results['api']>): string {
  const lines = [
    '## 3. API under load',
    '',
    '`bench/load.ts` in its own process on `GET /health` and `GET /runs/:id` at once, while runs of 10 agents run back to back: by',
    'default one request every 1/rate s on each path (two keep-alive connections each), timed from the moment the client sends it,',
    'a wait for a free connection included; `BENCH_LOAD_PATTERN=burst` is autocannon\'s rate limit instead (each second\'s requests back',
    'to back, then a wait: the pattern of figures before 2026-12-01 21:00 UTC). Floor: a plain `node:http` server answering the same',
    'bodies, under the same load, while bare sessions of 10 run.',
    '',
    HEADER,
  ];
  const read = (samples: ApiSample[], path: 'health' | 'run', key: 'p50' | 'p99' | 'max'): number[] => samples.map((s) => s[path][key]);
  for (const [path, name] of [['health', 'GET /health'], ['run', 'GET /runs/:id']] as const) {
    lines.push(row(`${name} p50 (ms)`, read(api.ours, path, 'p50'), read(api.floor, path, 'p50'), { kind: 'none' }));
    lines.push(row(`${name} p99 (ms)`, read(api.ours, path, 'p99'), read(api.floor, path, 'p99'), { kind: 'below', max: 10, unit: 'ms' }));
    lines.push(row(`${name} max (ms)`, read(api.ours, path, 'max'), read(api.floor, path, 'max'), { kind: 'none' }));
    const errors = (samples: ApiSample[]): number[] => samples.map((s) => s[path].errors + s[path].timeouts + s[path].non2xx);
    lines.push(row(`${name} errors + timeouts + non-2xx`, errors(api.ours), errors(api.floor), { kind: 'below', max: 1, unit: '(none)' }));
    lines.push(row(`${name} requests answered`, api.ours.map((s) => s[path].requests), api.floor.map((s) => s[path].requests), { kind: 'none' }));
  }
  lines.push(row('share of the window with 10 agents running', api.ours.map((s) => s.coverage), api.floor.map((s) => s.coverage), { kind: 'none' }, 2));
  return lines.join('\n');
}

function scaleSection(scale: NonNullable<Results['scale']>): string {
  const { runs, agents, concurrency } = scale.settings;
  const lines = [
    '## 5. Scale',
    '',
    `${runs} runs × ${agents} agents queued at once with MAX_CONCURRENT_AGENTS=${concurrency} (local runtime). Floor: the bare script`,
    `running the same ${runs * agents} sessions (raw-git.sh per run) through a pool of ${concurrency}.`,
    '',
    HEADER,
    row('wall (s)', scale.ours.map((s) => s.wallMs / 1_000), scale.floor.map((s) => s.wallMs / 1_000), { kind: 'ratio', max: 1.15 }, 1),
    row('throughput (agents/min)', scale.ours.map((s) => s.throughput), scale.floor.map((s) => s.throughput), { kind: 'ratio-min', min: 0.87 }, 1),
    row(`agents completed (of ${runs * agents})`, scale.ours.map((s) => s.completedAgents), scale.floor.map((s) => s.completedAgents), { kind: 'ratio-min', min: 1 }),
    row('most sessions open at once (at the model)', scale.ours.map((s) => s.maxConcurrentSessions), scale.floor.map((s) => s.maxConcurrentSessions), { kind: 'none' }),
    row('orchestrator CPU (s)', scale.ours.map((s) => s.usage.rootCpuMs / 1_000), scale.floor.map((s) => s.usage.rootCpuMs / 1_000), { kind: 'none' }, 1),
    row('agents CPU (s)', scale.ours.map((s) => s.usage.descendantsCpuMs / 1_000), scale.floor.map((s) => s.usage.descendantsCpuMs / 1_000), { kind: 'none' }, 1),
    row('orchestrator peak RSS (MiB)', scale.ours.map((s) => mib(s.usage.rootPeakRssBytes)), scale.floor.map((s) => mib(s.usage.rootPeakRssBytes)), { kind: 'none' }),
    row('agents peak RSS (MiB)', scale.ours.map((s) => mib(s.usage.descendantsPeakRssBytes)), scale.floor.map((s) => mib(s.usage.descendantsPeakRssBytes)), { kind: 'none' }),
  ];
  return lines.join('\n');
}

function profileSection(profiles: Results['profiles']): string {
  const lines = ['## Orchestrator CPU profiles (`BENCH_CPU_PROF=1`)', ''];
  for (const { label: name, summary } of profiles) {
    const busy = summary.totalMs - summary.idleMs;
    lines.push(`### ${name}: ${busy.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms profiled`, '', '| Origin | self ms |', '|---|---|');
    for (const item of summary.byOrigin) lines.push(`| ${item.origin} | ${item.ms.toFixed(0)} |`);
    lines.push('', '| Function | self ms |', '|---|---|');
    for (const item of summary.topFunctions) lines.push(`| \`${item.name}\` | ${item.ms.toFixed(0)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

function historySection({ settings, samples }: { settings: HistorySettings; samples: HistorySample[] }): string {
  const first = samples[0];
  const lines = [
    '## History: costs that follow the work, not the history',
    '',
    `The run store holding N finished runs: copies of one real 3-agent run (${first ? `${(first.stateBytes / 1024).toFixed(1)} KB of state, ${first.eventsPerRun} events` : '—'} each),`,
    `then a fresh orchestrator process on it. Start-up: spawn → first 200 from \`/health\`. Idle CPU: the orchestrator's own CPU`,
    `over ${settings.idleSeconds} s with no run in flight (heartbeat, orphan sweep every 30 s), per minute. \`GET /runs\`: the first page of 20,`,
    `${settings.listRequests} requests one after another; "deep": a page from half way back (\`?before=\`). Goal: flat in N — start-up < 2 s,`,
    'idle CPU < 0.5 s/min, list p99 < 10 ms at every size.',
    '',
    '| Store | Runs | Start-up (ms) | Idle CPU (s/min) | GET /runs p50 (ms) | GET /runs p99 (ms) | deep page p99 (ms) | Met |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const sample of samples) {
    const met = sample.startupMs < 2_000 && sample.idleCpuSecondsPerMinute < 0.5 && sample.listP99Ms < 10 && sample.deepListP99Ms < 10;
    lines.push(
      `| ${sample.store} | ${sample.runs.toLocaleString('en-US')} | ${sample.startupMs.toFixed(0)} | ${sample.idleCpuSecondsPerMinute.toFixed(3)} | ` +
        `${sample.listP50Ms.toFixed(2)} | ${sample.listP99Ms.toFixed(2)} | ${sample.deepListP99Ms.toFixed(2)} | ${met ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

function soakSection({ settings, sample }: { settings: SoakSettings; sample: SoakSample }): string {
  const statuses = Object.entries(sample.byStatus).map(([status, count]) => `${count} ${status}`).join(', ') || 'none';
  return [
    '## 6. Soak',
    '',
    `${settings.runs} runs of 1–10 agents submitted over ${settings.submitSeconds} s, ${Math.round(settings.cancelShare * 100)}% cancelled at a random`,
    'moment, the orchestrator killed (SIGKILL) and started again on the same workspace after half the submissions;',
    `MAX_CONCURRENT_AGENTS=${settings.maxConcurrentAgents}, local runtime. A dashboard-like client polls the API every 100 ms throughout.`,
    '',
    '| Measure | Result | Goal | Met |',
    '|---|---|---|---|',
    `| Runs ended | ${sample.ended} of ${sample.submitted} (${statuses}) | all | ${sample.ended === sample.submitted ? 'yes' : '**no**'} |`,
    `| Lost (404 after acceptance) | ${sample.lost} | 0 | ${sample.lost === 0 ? 'yes' : '**no**'} |`,
    `| Stuck (not ended by the drain deadline) | ${sample.stuck} | 0 | ${sample.stuck === 0 ? 'yes' : '**no**'} |`,
    `| API p99 (GET /runs/:id, /health) | ${sample.apiP99Ms.toFixed(1)} ms, ${sample.apiErrors} errors | < 10 ms | ${sample.apiP99Ms < 10 ? 'yes' : '**no**'} |`,
    `| Peak orchestrator RSS | ${mib(sample.peakRssBytes).toFixed(0)} MiB | — | — |`,
    `| Submissions retried (429, restart) / cancels sent | ${sample.retries} / ${sample.cancelled} | — | — |`,
    `| Wall time | ${(sample.wallMs / 60_000).toFixed(1)} min | — | — |`,
  ].join('\n');
}

function bestOfNSection({ samples }: { samples: BestOfNSample[] }): string {
  const rows = BEST_OF_N_CONFIGURATIONS.map(({ label }) => {
    const mine = samples.filter((sample) => sample.label === label);
    const cell = (read: (sample: BestOfNSample) => number, digits: number, scale = 1): string => formatSummary(summarize(mine.map(read).filter(Number.isFinite).map((value) => value / scale)), digits);
    const passed = [...new Set(mine.flatMap((sample) => sample.passed))].join(', ') || 'none';
    const errors = mine.reduce((sum, sample) => sum + (sample.errors?.length ?? 0), 0);
    return `| ${label} | ${cell((sample) => sample.attemptsStarted, 0)} | ${cell((sample) => sample.costUsd, 4)} | ${cell((sample) => sample.firstPassMs, 1, 1_000)} | ${cell((sample) => sample.runMs, 1, 1_000)} | ${cell((sample) => sample.savingsUsd, 4)} | ${passed} | ${errors} |`;
  });
  const repetitions = Math.max(...BEST_OF_N_CONFIGURATIONS.map(({ label }) => samples.filter((sample) => sample.label === label).length));
  return [
    '## 7. Best of N: fixed N = 5 against early stop and adaptive attempts',
    '',
    `One attempt in three passes: the check \`${ONE_IN_THREE_CHECK}\` passes only for agents 3, 6 and 9 (each offline-model`,
    `agent writes \`agent-<N>.md\`), so agent 3 is the first to pass everywhere. Each configuration run ${repetitions} time(s), in turn,`,
    "on one orchestrator (local runtime, MAX_CONCURRENT_AGENTS=5); cost is the run's `totals.cost_usd` (the offline model's token",
    "counts priced by Claude Code), time to the first pass is `totals.first_pass_ms` (run start → the end of agent 3's check).",
    'An attempt cancelled by early stop counts its streamed usage up to the stop; in results measured before the orchestrator',
    'tallied streamed usage (2026-12-01 11:14 UTC and earlier), such an attempt reported no cost, so its partial spend is not in the cost.',
    '',
    '| Configuration | Attempts started | Cost (USD) | Time to first pass (s) | Run wall time (s) | Estimated savings (USD) | Passed | Attempts in error (all repetitions) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function sourceSection({ settings, sample }: { settings: SourceSettings; sample: SourceSample }): string {
  const copy = summarize(sample.copyMs);
  return [
    '## 8. Runs from a source repository',
    '',
    `A generated repository of ${settings.files} files (${sample.repositoryMiB} MiB, one commit) as a local source, ${settings.agents} agents.`,
    'Ours: what `POST /runs` does before it answers 202 with a source (ls-remote, the run\'s one fetch, a private clone',
    `of the run repository per agent). Floor: \`git clone\` + \`git worktree add\` ×${settings.agents}, the same checkouts by hand.`,
    '',
    HEADER,
    row(`Run setup, ${settings.agents} agents (ms)`, sample.oursMs, sample.floorMs, { kind: 'ratio', max: 1.2 }),
    '',
    `The setup step's output (${settings.setupFiles} files in \`node_modules/\`) copied privately into ${settings.agents} agents' trees with`,
    `\`cp -a --reflink=auto\`: ${copy.n ? `${formatSummary(copy)} ms` : 'not measured in this run'} (copy-on-write ${sample.reflink ? 'available' : '**not** available: plain copies'} on this file system).`,
    ...(sample.note ? ['', `Note: ${sample.note}.`] : []),
  ].join('\n');
}

function latencySection(latency: NonNullable<Results['latency']>): string {
  const { agents, delayMs, repetitions } = latency.settings;
  const lines = [
    `## 9. Latency: ${agents} agents, a model that answers after ${(delayMs / 1_000).toFixed(1)} s`,
    '',
    `One run of ${agents} agents (local runtime) against the offline model answering every request after ${delayMs} ms (\`[[slow]]\`), ${repetitions}`,
    `run(s) per configuration after one warm-up run. Floor: ${agents} bare SDK sessions started at once in the same bench run (raw-git.sh, then`,
    'the sessions), interleaved with each configuration\'s runs (results before 2026-12-01 14:00: with the first configuration only). "First request" is the time from `POST /runs` (the script\'s start) to each agent\'s first Messages request reaching',
    'the model, before its delay; "in flight" the most Messages requests the model held at once.',
    '',
    HEADER,
  ];
  for (const config of latency.configs) {
    if (config.samples.length === 0) continue;
    const floor = config.floor && config.floor.length > 0 ? config.floor : latency.floor;
    const pick = (samples: LatencySample[], key: 'wallMs' | 'firstRequestP50' | 'firstRequestP95' | 'maxInFlight'): number[] => samples.map((sample) => sample[key]);
    lines.push(row(`${config.label}: wall (ms)`, pick(config.samples, 'wallMs'), pick(floor, 'wallMs'), { kind: 'ratio', max: 1.15 }));
    lines.push(row(`${config.label}: first request p50 (ms)`, pick(config.samples, 'firstRequestP50'), pick(floor, 'firstRequestP50'), { kind: 'none' }));
    lines.push(row(`${config.label}: first request p95 (ms)`, pick(config.samples, 'firstRequestP95'), pick(floor, 'firstRequestP95'), { kind: 'none' }));
    lines.push(row(`${config.label}: requests in flight at most`, pick(config.samples, 'maxInFlight'), pick(floor, 'maxInFlight'), { kind: 'ratio-min', min: 1 }));
  }
  if (latency.api) {
    const api = latency.api;
    lines.push(
      '',
      `The API meanwhile, in the default configuration (bench/load.ts as in section 3, while runs of this scenario start and wait): ${api.ours.length} window(s), one per`,
      'repetition (before 2026-12-02 00:00 UTC: one), each beside a floor window; median and range over the windows.',
      '',
      HEADER,
    );
    for (const [key, name] of [['health', 'GET /health'], ['run', 'GET /runs/:id']] as const) {
      lines.push(row(`${name} p99 (ms)`, api.ours.map((sample) => sample[key].p99), api.floor.map((sample) => sample[key].p99), { kind: 'below', max: 10, unit: 'ms' }));
      const errors = (samples: ApiSample[]): number[] => samples.map((sample) => sample[key].errors + sample[key].timeouts + sample[key].non2xx);
      lines.push(row(`${name} errors + timeouts + non-2xx`, errors(api.ours), errors(api.floor), { kind: 'below', max: 1, unit: '(none)' }));
    }
    lines.push(row('share of the window with 10 agents running', api.ours.map((sample) => sample.coverage), api.floor.map((sample) => sample.coverage), { kind: 'none' }, 2));
  }
  return lines.join('\n');
}

function clusterSection({ settings, configs }: ClusterResults): string {
  const { agents, repetitions, replicas, warmPods, runtimeClass } = settings;
  const all = (key: string, read: (sample: ClusterResults['configs'][0]['samples'][0]) => number[]): number[] =>
    configs.filter((config) => config.key === key).flatMap((config) => config.samples.flatMap(read));
  const docker = all('docker', (sample) => sample.readyMs);
  const [dockerP50, dockerP95] = [percentile(docker, 50), percentile(docker, 95)];
  const lines = [
    '## 10. Sandbox start: kubernetes pods (cold, warm) against docker containers',
    '',
    `Time from \`POST /runs\` sent to each agent's ready sandbox: the \`agent_status\` \`running\` with no detail that follows`,
    `\`starting its sandbox\` (the runtime's start has returned), by the event's own time (the cluster's node is this machine: one`,
    `clock). Kubernetes: the test cluster's deployment (\`npm run cluster:up\`, \`scripts/deploy.sh --demo\`; ${replicas} orchestrator`,
    `replicas; agents' pods under ${runtimeClass ? `RuntimeClass ${runtimeClass}` : "the node's default runtime"}; runs through the frontend's NodePort), KUBERNETES_WARM_PODS=0, then ${warmPods} per replica (ConfigMap patch and rollout`,
    `restart; before each run the pool is full and the earlier run's pods are gone). Docker: a local orchestrator with`,
    `AGENT_RUNTIME=docker, one run after each cluster run. ${repetitions} runs of ${agents} agents per configuration after a warm-up run;`,
    `p50 and p95 over every agent of every run. Goals (issue 19): cold ≤ docker + ${GOAL_OVER_DOCKER_MS['kubernetes-cold'] / 1_000} s, warm ≤ docker + ${GOAL_OVER_DOCKER_MS['kubernetes-warm'] / 1_000} s, p50 against p50`,
    'and p95 against p95. "Runtime start" is each agent\'s `starting its sandbox` → its ready sandbox: the runtime\'s start() alone;',
    'the rest is the request, the run\'s repository and clones, and the slot.',
    '',
    '| Configuration | Agents | p50 (ms) | p95 (ms) | p50 − docker | p95 − docker | Goal | Met | Runtime start p50 / p95 (ms) | 202 p50 (ms) | Received by the client, p50 (ms) | Warm pods claimed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const config of configs) {
    const ready = all(config.key, (sample) => sample.readyMs);
    if (ready.length === 0) continue;
    const [p50, p95] = [percentile(ready, 50), percentile(ready, 95)];
    const goal = config.key === 'docker' ? undefined : GOAL_OVER_DOCKER_MS[config.key];
    const over = (value: number, base: number): string => (config.key === 'docker' ? '—' : `${value - base >= 0 ? '+' : ''}${(value - base).toFixed(0)}`);
    const met = goal === undefined ? '—' : p50 - dockerP50 <= goal && p95 - dockerP95 <= goal ? 'yes' : p50 - dockerP50 <= goal ? 'p50 yes, p95 **no**' : '**no**';
    const claims = config.key === 'docker' ? '—' : `${config.samples.reduce((sum, sample) => sum + (sample.warmClaims ?? 0), 0)} of ${ready.length}`;
    const runtime = all(config.key, sandboxMs);
    const accepted = config.samples.map((sample) => sample.acceptedMs);
    lines.push(
      `| ${config.label} | ${ready.length} | ${p50.toFixed(0)} | ${p95.toFixed(0)} | ${over(p50, dockerP50)} | ${over(p95, dockerP95)} | ${goal === undefined ? '—' : `≤ +${goal}`} | ${met} | ` +
        `${percentile(runtime, 50).toFixed(0)} / ${percentile(runtime, 95).toFixed(0)} | ${percentile(accepted, 50).toFixed(0)} | ${percentile(all(config.key, (sample) => sample.arrivalMs), 50).toFixed(0)} | ${claims} |`,
    );
  }
  const failed = configs.flatMap((config) => config.samples.flatMap((sample) => sample.failed.map((text) => `${config.label}, run ${sample.runId}: ${text}`)));
  if (failed.length > 0) lines.push('', 'Agents that did not succeed (their sandbox start is counted):', '', ...failed.map((text) => `- ${text}`));
  return lines.join('\n');
}

export function renderResults(results: Results): string {
  const { machine } = results;
  const settings = Object.entries(results.settings).map(([key, value]) => `${key}=${String(value)}`).join(', ');
  const sections = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts); every ratio compares figures taken in this same run on this machine.',
    '',
    '| Machine | |',
    '|---|---|',
    `| Date | ${machine.date} |`,
    `| CPU | ${machine.cores} cores, ${machine.cpuModel} |`,
    `| Memory | ${machine.memoryGiB} GiB |`,
    `| Kernel | ${machine.kernel} |`,
    `| node / git / claude / docker | ${machine.node} / ${machine.git} / ${machine.claude} / ${machine.docker} |`,
    `| Load average (1, 5, 15 min) | before ${machine.load.join(', ')}; after ${results.loadAfter.join(', ')} |`,
    `| Settings | ${settings} |`,
    `| Bench time | ${(results.durationMs / 60_000).toFixed(1)} min |`,
    '',
  ];
  if (results.errors.length > 0) sections.push('**Errors:**', '', ...results.errors.map((error) => `- ${error}`), '');
  if (results.notes?.length) sections.push('**Notes:**', '', ...results.notes.map((note) => `- ${note}`), '');
  const pairs = results.pairs;
  if (pairs.length > 0) sections.push(setupSection(pairs), '', wallSection(pairs), '');
  if (results.api) sections.push(apiSection(results.api), '');
  if (pairs.length > 0) sections.push(eventSection(pairs), '');
  if (results.scale) sections.push(scaleSection(results.scale), '');
  if (results.soak) sections.push(soakSection(results.soak), '');
  if (results.bestOfN) sections.push(bestOfNSection(results.bestOfN), '');
  if (results.source) sections.push(sourceSection(results.source), '');
  if (results.history) sections.push(historySection(results.history), '');
  if (results.latency) sections.push(latencySection(results.latency), '');
  if (results.cluster) sections.push(clusterSection(results.cluster), '');
  if (results.profiles.length > 0) sections.push(profileSection(results.profiles), '');
  if (results.analysis.trim()) sections.push(results.analysis.trim(), '');
  return sections.join('\n');
}
