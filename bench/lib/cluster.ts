// The test cluster's deployment as the bench drives it with kubectl: is it there, its frontend's URL, the orchestrators' KUBERNETES_WARM_PODS (ConfigMap patch + rollout restart), and the agents namespace's pods.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Where scripts/cluster/up.sh writes the admin kubeconfig (MULTICLAUDE_CLUSTER_KUBECONFIG overrides it, as for npm run test:cluster). */
export const DEFAULT_KUBECONFIG = '/var/lib/multiclaude-k8s/admin.kubeconfig';
const BACKEND = 'backend';
const AGENTS = 'agents';
const CONFIG_MAP = 'workspace-config';
const ROLLOUT_TIMEOUT = '300s';

export class ClusterUnavailable extends Error {}

export interface Cluster {
  kubeconfig: string;
  /** The frontend's NodePort, as a user opens it; the run API is under /api. */
  frontendUrl: string;
  /** The orchestrator deployment's replicas: each keeps its own warm pods. */
  replicas: number;
  /** KUBERNETES_WARM_PODS as found, restored when the measure ends. */
  warmPodsBefore: string | undefined;
  /** KUBERNETES_RUNTIME_CLASS of the agents' pods (deploy.sh --runtime-class), if any. */
  runtimeClass: string | undefined;
}

async function kubectl(kubeconfig: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await exec('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

const reason = (error: unknown): string => {
  const failure = error as { stderr?: string; message?: string };
  return (failure.stderr || failure.message || String(error)).trim().split('\n').slice(-2).join(' ');
};

/** The deployment on the cluster of `kubeconfig`, or a ClusterUnavailable saying what is missing and how to get it. */
export async function findCluster(kubeconfig: string): Promise<Cluster> {
  try {
    await kubectl(kubeconfig, ['get', '--raw', '/readyz'], 10_000);
  } catch (error) {
    throw new ClusterUnavailable(`no cluster answers with ${kubeconfig} (npm run cluster:up; or set MULTICLAUDE_CLUSTER_KUBECONFIG): ${reason(error)}`);
  }
  let deployment: { spec?: { replicas?: number } };
  let config: { data?: Record<string, string> };
  try {
    deployment = JSON.parse(await kubectl(kubeconfig, ['get', 'deployment', 'orchestrator', '-n', BACKEND, '-o', 'json'])) as typeof deployment;
    config = JSON.parse(await kubectl(kubeconfig, ['get', 'configmap', CONFIG_MAP, '-n', BACKEND, '-o', 'json'])) as typeof config;
  } catch (error) {
    throw new ClusterUnavailable(`the cluster answers but multiclaude is not deployed on it (scripts/deploy.sh --demo --skip-build): ${reason(error)}`);
  }
  if (config.data?.['AGENT_RUNTIME'] !== 'kubernetes') {
    throw new ClusterUnavailable(`the deployment's ${CONFIG_MAP} has AGENT_RUNTIME=${config.data?.['AGENT_RUNTIME'] ?? '(unset)'}, not kubernetes (deploy the default overlay: scripts/deploy.sh --demo)`);
  }
  const nodeAddress = await kubectl(kubeconfig, ['get', 'nodes', '-o', 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}']);
  const nodePort = await kubectl(kubeconfig, ['get', 'service', 'frontend-service', '-n', 'frontend', '-o', 'jsonpath={.spec.ports[0].nodePort}']);
  if (!nodeAddress || !nodePort) throw new ClusterUnavailable('the frontend has no NodePort on the cluster (scripts/deploy.sh --demo)');
  return {
    kubeconfig,
    frontendUrl: `http://${nodeAddress}:${nodePort}`,
    replicas: deployment.spec?.replicas ?? 1,
    warmPodsBefore: config.data['KUBERNETES_WARM_PODS'],
    runtimeClass: config.data['KUBERNETES_RUNTIME_CLASS'] || undefined,
  };
}

/**
 * Sets the orchestrators' KUBERNETES_WARM_PODS (undefined: removes it) and restarts them; resolves once
 * the new pods are ready, the old ones and the warm pods they kept are gone, and the API answers.
 */
export async function setWarmPods(cluster: Cluster, warmPods: string | undefined, log: (line: string) => void): Promise<void> {
  const patch = { data: { KUBERNETES_WARM_PODS: warmPods ?? null } };
  await kubectl(cluster.kubeconfig, ['patch', 'configmap', CONFIG_MAP, '-n', BACKEND, '--type', 'merge', '-p', JSON.stringify(patch)]);
  await kubectl(cluster.kubeconfig, ['rollout', 'restart', 'deployment/orchestrator', '-n', BACKEND]);
  await kubectl(cluster.kubeconfig, ['rollout', 'status', 'deployment/orchestrator', '-n', BACKEND, `--timeout=${ROLLOUT_TIMEOUT}`], 330_000);
  await waitFor('the old orchestrator pods to be gone', 120_000, async () => {
    const pods = await podList(cluster, BACKEND, 'app.kubernetes.io/name=orchestrator');
    return pods.length === cluster.replicas && pods.every((pod) => !pod.deleting);
  });
  await waitFor('the API to answer through the frontend', 60_000, async () => (await fetch(`${cluster.frontendUrl}/api/ready`).catch(() => undefined))?.ok === true);
  log(`cluster: KUBERNETES_WARM_PODS=${warmPods ?? '(unset)'}, orchestrators restarted`);
}

interface PodSummary {
  name: string;
  labels: Record<string, string>;
  running: boolean;
  deleting: boolean;
}

async function podList(cluster: Cluster, namespace: string, selector: string): Promise<PodSummary[]> {
  const list = JSON.parse(await kubectl(cluster.kubeconfig, ['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as {
    items: Array<{
      metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
      status?: { phase?: string; containerStatuses?: Array<{ state?: { running?: unknown } }> };
    }>;
  };
  return list.items.map((pod) => ({
    name: pod.metadata.name,
    labels: pod.metadata.labels ?? {},
    running: pod.status?.phase === 'Running' && pod.status.containerStatuses?.[0]?.state?.running !== undefined,
    deleting: pod.metadata.deletionTimestamp !== undefined,
  }));
}

/** The pods of one run in the agents namespace (names: mc-warm-… were claimed from the pool, mc-<run>-… started cold). */
export const runPods = (cluster: Cluster, runId: string): Promise<PodSummary[]> => podList(cluster, AGENTS, `multiclaude.run_id=${runId}`);

/** Waits until every orchestrator keeps `perReplica` running warm pods (none: until no warm pod is left). */
export async function waitForWarmPods(cluster: Cluster, perReplica: number, timeoutMs = 180_000): Promise<void> {
  const wanted = perReplica * cluster.replicas;
  await waitFor(`${wanted} running warm pods`, timeoutMs, async () => {
    const pods = await podList(cluster, AGENTS, 'multiclaude.pool=true');
    return perReplica === 0 ? pods.length === 0 : pods.filter((pod) => pod.running && !pod.deleting).length >= wanted;
  });
}

/** Waits until no agent's pod of an earlier run is left (a run's pods go as its agents end). */
export async function waitForNoRunPods(cluster: Cluster, timeoutMs = 120_000): Promise<void> {
  await waitFor('the earlier runs\' agent pods to be gone', timeoutMs, async () => (await podList(cluster, AGENTS, 'multiclaude.run_id')).length === 0);
}

async function waitFor(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`cluster: waited ${Math.round(timeoutMs / 1000)} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
