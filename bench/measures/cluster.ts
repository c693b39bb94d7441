// Measure 10: time from a run's request to each agent's ready sandbox, on the test cluster's deployment (kubernetes runtime, cold pods and warm pods) beside a local orchestrator with the docker runtime, in the same bench run.
//
// "Ready sandbox" is the agent_status event `running` with no detail that follows `running` with the detail
// `starting its sandbox` (runs/run-attempts.ts, onSandboxReady): the runtime's start() has returned. The
// time is that event's own `at` (stamped by the orchestrator when it emits it) minus the moment the bench
// sent `POST /runs`: the orchestrator pods run on this machine's kernel (the cluster's one node is this
// machine), so both clocks are the same clock, and the figure leaves out how long the event takes to reach
// the client (through the frontend's proxy, from either replica); that arrival time is kept too. The run's
// events are followed over GET /runs/:id/events (SSE), never polled.
import { failedAgents, followRun, submitRun, type ReceivedEvent } from '../lib/orchestrator.ts';
import { runPods, setWarmPods, waitForNoRunPods, waitForWarmPods, type Cluster } from '../lib/cluster.ts';
import { percentile } from '../lib/stats.ts';

export type ClusterConfigKey = 'docker' | 'kubernetes-cold' | 'kubernetes-warm';

export interface ReadySample {
  runId: string;
  /** Per agent (in agent order): POST sent → the ready event's own time. */
  readyMs: number[];
  /** Per agent: POST sent → the ready event received by the bench. */
  arrivalMs: number[];
  /** Per agent: POST sent → its `starting its sandbox` event's own time (the rest is the runtime's start). */
  startingMs: number[];
  /** POST sent → its 202 received (the run's repository and every agent's clone are made before it answers). */
  acceptedMs: number;
  /** Agents whose sandbox was a claimed warm pod (kubernetes only; the pod's name says so). */
  warmClaims?: number;
  /** Agents that did not succeed (the figure is still the sandbox's; a failure is reported beside it). */
  failed: string[];
}

export interface ClusterSettings {
  agents: number;
  repetitions: number;
  replicas: number;
  /** KUBERNETES_WARM_PODS of each orchestrator replica in the warm configuration. */
  warmPods: number;
  /** The agents' pods' RuntimeClass (KUBERNETES_RUNTIME_CLASS); absent: the node's default runtime. */
  runtimeClass?: string;
}

export interface ClusterResults {
  settings: ClusterSettings;
  configs: Array<{ key: ClusterConfigKey; label: string; samples: ReadySample[] }>;
}

/** The issue's goals, over the docker runtime's figure of the same bench run (p50 against p50, p95 against p95). */
export const GOAL_OVER_DOCKER_MS: Record<Exclude<ClusterConfigKey, 'docker'>, number> = { 'kubernetes-cold': 1_000, 'kubernetes-warm': 300 };

export interface ClusterContext {
  prompt: string;
  timeoutMs: number;
  log: (line: string) => void;
  /** Says whether the run still has time (BENCH_MAX_MINUTES). */
  inTime: () => boolean;
}

/** The ready times of one run's agents from its event stream. */
export function readyTimes(events: ReceivedEvent[], sentAt: number, agents: number): { readyMs: number[]; arrivalMs: number[]; startingMs: number[] } {
  const starting = new Map<number, ReceivedEvent>();
  const ready = new Map<number, ReceivedEvent>();
  for (const event of events) {
    const agentId = event.data.agent_id;
    if (event.type !== 'agent_status' || agentId === undefined || event.data.status !== 'running') continue;
    if (event.data.detail === 'starting its sandbox') starting.set(agentId, event);
    else if (event.data.detail === undefined && starting.has(agentId) && !ready.has(agentId)) ready.set(agentId, event);
  }
  const readyMs: number[] = [];
  const arrivalMs: number[] = [];
  const startingMs: number[] = [];
  for (let agentId = 1; agentId <= agents; agentId++) {
    const event = ready.get(agentId);
    if (!event) throw new Error(`agent ${agentId} never reported a ready sandbox (no agent_status running without detail after 'starting its sandbox')`);
    const at = Date.parse(event.data.at ?? '');
    if (Number.isNaN(at)) throw new Error(`agent ${agentId}'s ready event has no time (at: ${String(event.data.at)})`);
    readyMs.push(at - sentAt);
    arrivalMs.push(event.at - sentAt);
    startingMs.push(Date.parse(starting.get(agentId)!.data.at ?? '') - sentAt);
  }
  return { readyMs, arrivalMs, startingMs };
}

/**
 * One run of `agents` through `apiUrl` (the orchestrator's API root). With a cluster, the run's pods are
 * read as soon as every agent is ready (before any ends), to tell claimed warm pods from cold ones.
 */
export async function measureReady(context: ClusterContext, apiUrl: string, agents: number, cluster?: Cluster): Promise<ReadySample> {
  const submitted = await submitRun(apiUrl, context.prompt, agents);
  let readyCount = 0;
  let claims: Promise<number> | undefined;
  const { events } = await followRun(apiUrl, submitted.runId, context.timeoutMs, (event) => {
    if (event.type !== 'agent_status' || event.data.status !== 'running' || event.data.detail !== undefined) return;
    if (++readyCount === agents && cluster) {
      claims = runPods(cluster, submitted.runId).then((pods) => pods.filter((pod) => pod.name.startsWith('mc-warm-')).length);
    }
  });
  const times = readyTimes(events, submitted.sentAt, agents);
  return { runId: submitted.runId, acceptedMs: submitted.acceptedAt - submitted.sentAt, ...times, ...(claims ? { warmClaims: await claims } : {}), failed: failedAgents(events) };
}

/** Per agent: its `starting its sandbox` → its ready sandbox, the runtime's start() alone. */
export const sandboxMs = (sample: ReadySample): number[] => sample.readyMs.map((ready, index) => ready - sample.startingMs[index]!);

const describe = (sample: ReadySample): string =>
  `p50 ${percentile(sample.readyMs, 50)} ms, p95 ${percentile(sample.readyMs, 95)} ms (202 after ${sample.acceptedMs} ms, sandbox starts ` +
  `p50 ${percentile(sample.startingMs, 50)} ms, runtime start p50 ${percentile(sandboxMs(sample), 50)} ms, arrival p50 ${percentile(sample.arrivalMs, 50)} ms)` +
  `${sample.warmClaims !== undefined ? `, ${sample.warmClaims}/${sample.readyMs.length} warm pods claimed` : ''}${sample.failed.length ? `; failed: ${sample.failed.join('; ')}` : ''}`;

/**
 * The cluster's two configurations, each followed by a docker run per repetition (so docker's figures are
 * taken at the same load, interleaved): cold with KUBERNETES_WARM_PODS=0, then warm with `agents` warm pods
 * per replica, waited for before each run. Each configuration's first run is a warm-up, not counted. The
 * ConfigMap's value is put back at the end.
 */
export async function measureCluster(
  context: ClusterContext,
  cluster: Cluster,
  docker: { url: string },
  settings: { agents: number; repetitions: number },
): Promise<ClusterResults> {
  const { agents, repetitions } = settings;
  const results: ClusterResults = {
    settings: { agents, repetitions, replicas: cluster.replicas, warmPods: agents, ...(cluster.runtimeClass ? { runtimeClass: cluster.runtimeClass } : {}) },
    configs: [
      { key: 'kubernetes-cold', label: 'kubernetes, cold pods (KUBERNETES_WARM_PODS=0)', samples: [] },
      { key: 'kubernetes-warm', label: `kubernetes, warm pods (KUBERNETES_WARM_PODS=${agents} per replica)`, samples: [] },
      { key: 'docker', label: 'docker runtime (local orchestrator)', samples: [] },
    ],
  };
  const [cold, warm, dockerConfig] = results.configs as [ClusterResults['configs'][0], ClusterResults['configs'][0], ClusterResults['configs'][0]];
  context.log('cluster: docker: warming up');
  await measureReady(context, docker.url, agents);
  try {
    for (const [config, warmPods] of [
      [cold, 0],
      [warm, agents],
    ] as const) {
      await setWarmPods(cluster, String(warmPods), context.log);
      const prepare = async () => {
        await waitForNoRunPods(cluster);
        await waitForWarmPods(cluster, warmPods);
        // The pool's pods have just started: let their start-up settle, as a pool in its steady state would have.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      };
      await prepare();
      context.log(`cluster: ${config.label}: warming up`);
      context.log(`cluster: ${config.label} warm-up: ${describe(await measureReady(context, `${cluster.frontendUrl}/api`, agents, cluster))}`);
      for (let repetition = 0; repetition < repetitions && context.inTime(); repetition++) {
        await prepare();
        const sample = await measureReady(context, `${cluster.frontendUrl}/api`, agents, cluster);
        config.samples.push(sample);
        context.log(`cluster: ${config.label} #${repetition + 1}: ${describe(sample)}`);
        const dockerSample = await measureReady(context, docker.url, agents);
        dockerConfig.samples.push(dockerSample);
        context.log(`cluster: docker #${dockerConfig.samples.length}: ${describe(dockerSample)}`);
      }
    }
  } finally {
    await setWarmPods(cluster, cluster.warmPodsBefore, context.log).catch((error: unknown) =>
      context.log(`cluster: could not put KUBERNETES_WARM_PODS back to ${cluster.warmPodsBefore ?? '(unset)'}: ${(error as Error).message}`),
    );
  }
  return results;
}
