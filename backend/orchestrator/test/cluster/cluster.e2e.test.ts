// The deployment on a real Kubernetes cluster (scripts/cluster/up.sh: a one-node cluster on this machine),
// applied and removed exactly as a user would with scripts/deploy.sh --demo and scripts/cleanup.sh, then
// used through the frontend's NodePort: a 3-agent run with the offline model, read back from both
// orchestrator replicas, its log lines found by scripts/view-logs.sh, 10 agents at once as pods of the
// agents namespace (AGENT_RUNTIME=kubernetes), an agent whose pod is deleted, an agent pod's attempts to
// reach what is not its own, and what happens to a running run when the orchestrator pod that owns it
// is deleted. Skips unless MULTICLAUDE_CLUSTER_KUBECONFIG names
// the cluster's kubeconfig (npm run cluster:up prints it; npm run test:cluster uses it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { OrchestrateResponseSchema, RunStateSchema, type RunState } from '@multiclaude/contract';
import { filesChangedOn, gitIn } from '../support/git-inspect.ts';
import { ROOT } from '../deployment/manifests.ts';
import { fetchOnFreshConnection } from '../support/fetch-within.ts';

const KUBECONFIG = process.env['MULTICLAUDE_CLUSTER_KUBECONFIG'] ?? '';
const skip = KUBECONFIG ? false : 'MULTICLAUDE_CLUSTER_KUBECONFIG is not set (npm run cluster:up, then npm run test:cluster)';
if (skip) console.log(`# cluster tests skipped: ${skip}`);

/** Where the workspace volumes' directory is on the node: this machine is the node. */
const WORKSPACE = '/data/claude-workspace';
const NODE_ADDRESS = '10.213.0.2';
const TERMINAL = ['completed', 'cancelled', 'interrupted'];
const environment = { ...process.env, KUBECONFIG };
const children: ChildProcess[] = [];

let nodeUrl = '';
let token = '';

function kubectl(...args: string[]): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', env: environment, timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function script(name: string, args: string[], timeoutMs: number) {
  const result = spawnSync('bash', [path.join(ROOT, 'scripts', name), ...args], { encoding: 'utf8', env: environment, timeout: timeoutMs });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { status: result.status, stdout: result.stdout ?? '', output };
}

function jsonOf<T>(...args: string[]): T {
  return JSON.parse(kubectl(...args, '-o', 'json')) as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetchOnFreshConnection(url, 15_000, { headers });
  const text = await response.text();
  assert.equal(response.status, 200, `${url}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function submit(prompt: string, agentCount: number): Promise<string> {
  const response = await fetchOnFreshConnection(`${nodeUrl}/submit`, 30_000, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ prompt, agent_count: agentCount }),
  });
  const text = await response.text();
  assert.equal(response.status, 202, text);
  return (JSON.parse(text) as { run_id: string }).run_id;
}

async function waitForRun(runId: string, timeoutMs: number, until: (run: RunState) => boolean): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  let last: RunState | undefined;
  let error = '';
  while (Date.now() < deadline) {
    try {
      last = RunStateSchema.parse(await getJson(`${nodeUrl}/api/runs/${runId}`));
      if (until(last)) return last;
    } catch (caught) {
      // A frontend or orchestrator pod going away mid-request is expected in the deletion test.
      error = (caught as Error).message;
    }
    await sleep(1_000);
  }
  throw new Error(`run ${runId} did not get there in ${timeoutMs} ms; last: ${last?.status ?? 'none'} ${error}`);
}

/** kubectl port-forward to one pod; resolves with the local URL. */
async function portForward(pod: string): Promise<string> {
  const child = spawn('kubectl', ['port-forward', '-n', 'backend', `pod/${pod}`, ':8080'], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`port-forward to ${pod}: ${output}`)), 30_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${match[1]}`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward to ${pod} exited ${code}: ${output}`));
    });
  });
}

interface PodList {
  items: Array<{
    metadata: { name: string; deletionTimestamp?: string };
    status: { phase: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ ready: boolean; restartCount: number }> };
  }>;
}

function orchestratorPods(): string[] {
  return jsonOf<PodList>('get', 'pods', '-n', 'backend', '-l', 'app.kubernetes.io/name=orchestrator')
    .items.filter((pod) => !pod.metadata.deletionTimestamp && pod.status.phase === 'Running')
    .map((pod) => pod.metadata.name);
}

/** The host (pod name) in the run's lease, read from the deployment's run store (PostgreSQL, its trusted local socket). */
function leaseHost(runId: string): string | undefined {
  assert.match(runId, /^[A-Za-z0-9_-]+$/);
  const query = `SELECT host FROM run_leases WHERE run_id = '${runId}'`;
  const host = kubectl('exec', 'statefulset/postgres', '-n', 'backend', '--', 'psql', '-U', 'multiclaude', '-d', 'multiclaude', '-tAc', query);
  return host || undefined;
}

/** The agent sandbox pods of a run (namespace agents, by the run's label), with their phase. */
function agentPods(runId: string): Array<{ name: string; agentId: string; phase: string; deleting: boolean; runtimeClass: string | undefined }> {
  return jsonOf<{ items: Array<{ metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string }; spec: { runtimeClassName?: string }; status: { phase: string } }> }>(
    'get',
    'pods',
    '-n',
    'agents',
    '-l',
    `multiclaude.run_id=${runId}`,
  ).items.map((pod) => ({
    name: pod.metadata.name,
    agentId: pod.metadata.labels['multiclaude.agent_id'] ?? '',
    phase: pod.status.phase,
    deleting: Boolean(pod.metadata.deletionTimestamp),
    runtimeClass: pod.spec.runtimeClassName,
  }));
}

async function waitForNoAgentPods(runId: string, seconds = 60): Promise<void> {
  let left = agentPods(runId);
  for (let i = 0; i < seconds && left.length > 0; i++) {
    await sleep(1_000);
    left = agentPods(runId);
  }
  assert.deepEqual(left.map((pod) => pod.name), [], 'no agent pod of the run is left');
}

function projectObjects(): string {
  return kubectl('get', 'all,configmaps,secrets,pvc,networkpolicies,poddisruptionbudgets,serviceaccounts', '-A', '-l', 'app.kubernetes.io/part-of=multiclaude', '-o', 'name');
}

before(() => {
  if (skip) return;
  // A cluster left from an earlier, aborted test run starts clean.
  script('cleanup.sh', [], 300_000);
});

after(() => {
  for (const child of children) child.kill();
});

let completedRun: RunState | undefined;

test('deploy.sh --demo deploys to the cluster as to Minikube: images through the node containerd, 2+2 replicas ready, the PVC bound, secrets and config in use', { skip, timeout: 900_000 }, async () => {
  // The agents' pods run under RuntimeClass no-network (scripts/cluster/up.sh: a CNI network that reaches
  // nothing), since this cluster cannot enforce the agents' NetworkPolicy.
  const deployed = script('deploy.sh', ['--demo', '--skip-build', '--runtime-class', 'no-network'], 900_000);
  console.log(deployed.output.split('\n').map((line) => `# ${line}`).join('\n'));
  assert.equal(deployed.status, 0, deployed.output);
  assert.match(deployed.output, /its one node is this machine .*images go in with docker save \| ctr images import/);
  assert.match(deployed.output, /loading orchestrator:[0-9a-f]{12} into the node's containerd/);
  assert.match(deployed.output, /loading frontend:[0-9a-f]{12} into the node's containerd/);
  assert.match(deployed.output, /loading claude-mcp:latest into the node's containerd \(the agents' pods run it\)/);
  const url = /deployed\. Open (http:\/\/[\d.]+:\d+)/.exec(deployed.output);
  assert.ok(url, 'deploy.sh prints the NodePort URL');
  nodeUrl = url[1]!;

  for (const [namespace, name] of [['backend', 'orchestrator'], ['frontend', 'frontend']] as const) {
    const deployment = jsonOf<{ status: { readyReplicas?: number; availableReplicas?: number; replicas?: number } }>('get', 'deployment', name, '-n', namespace);
    assert.equal(deployment.status.readyReplicas, 2, `${name}: 2 replicas ready (readiness probes pass)`);
    assert.equal(deployment.status.availableReplicas, 2, name);
    const pods = jsonOf<PodList>('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/name=${name}`).items;
    assert.equal(pods.length, 2, `${name}: 2 pods`);
    for (const pod of pods) {
      assert.equal(pod.status.conditions?.find((condition) => condition.type === 'Ready')?.status, 'True', pod.metadata.name);
      assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0, `${pod.metadata.name} never restarted (liveness probe passes)`);
    }
  }
  const claim = jsonOf<{ status: { phase: string }; spec: { volumeName: string } }>('get', 'pvc', 'orchestrator-logs', '-n', 'backend');
  assert.equal(claim.status.phase, 'Bound');
  assert.match(kubectl('get', 'pv', claim.spec.volumeName, '-o', 'jsonpath={.status.phase}'), /^Bound$/);
  const endpoints = kubectl('get', 'endpointslices', '-n', 'backend', '-l', 'kubernetes.io/service-name=orchestrator-service', '-o', 'jsonpath={.items[*].endpoints[*].addresses[*]}');
  assert.equal(endpoints.split(' ').filter(Boolean).length, 2, 'orchestrator-service selects both orchestrator pods');

  token = Buffer.from(kubectl('get', 'secret', 'orchestrator-token', '-n', 'backend', '-o', 'jsonpath={.data.ORCHESTRATOR_TOKEN}'), 'base64').toString('utf8');
  assert.ok(token.length >= 32, 'deploy.sh made an orchestrator token');
  const [pod] = orchestratorPods();
  const direct = await portForward(pod!);
  // The Secret is in use: the API wants its token; the ConfigMap is: kubernetes runtime, the workspace at /workspace.
  assert.equal((await fetchOnFreshConnection(`${direct}/runs`, 15_000)).status, 401);
  const ready = await getJson<{ status: string; runtime: string; model: string; checks: Record<string, { ok: boolean; detail: string }> }>(`${direct}/ready`);
  assert.equal(ready.status, 'ready');
  assert.equal(ready.runtime, 'kubernetes', 'AGENT_RUNTIME=kubernetes from workspace-config');
  assert.match(ready.model, /offline/i, 'demo mode: no anthropic-api-key secret');
  assert.equal(ready.checks['workspace']?.ok, true);
  assert.match(ready.checks['runtime']?.detail ?? '', /kubernetes runtime: cluster https:\/\/.*, namespace agents, image claude-mcp:latest, rights granted, runtime class no-network/, 'the service account may manage pods in agents');
  await getJson(`${direct}/runs?limit=1`, { authorization: `Bearer ${token}` });
  const diagnostics = await getJson<{ checks: Record<string, { status: string; [fact: string]: unknown }> }>(`${direct}/diagnostics`, { authorization: `Bearer ${token}` });
  assert.equal(diagnostics.checks['kubernetes_api']?.status, 'ok', JSON.stringify(diagnostics.checks['kubernetes_api']));
  assert.equal(diagnostics.checks['kubernetes_rights']?.status, 'ok', JSON.stringify(diagnostics.checks['kubernetes_rights']));
  assert.equal(diagnostics.checks['kubernetes_workspace_claim']?.['phase'], 'Bound');
  // /test-docker's counterpart for any runtime: here a throwaway pod (RuntimeClass no-network) runs a probe and claude.
  const probed = await fetchOnFreshConnection(`${direct}/test-sandbox`, 120_000, { headers: { authorization: `Bearer ${token}` } });
  const sandbox = (await probed.json()) as { success: boolean; runtime: string; output: string; error?: string };
  assert.equal(probed.status, 200, JSON.stringify(sandbox));
  assert.equal(sandbox.runtime, 'kubernetes');
  assert.match(sandbox.output, /sandbox ok: user \S* \(\d+\), Linux /);
  assert.match(sandbox.output, /Claude Code/);
  // Least privilege: nothing outside the agents namespace, no secrets there either.
  const can = (verb: string, resource: string, namespace: string) =>
    spawnSync('kubectl', ['auth', 'can-i', verb, resource, '-n', namespace, '--as', 'system:serviceaccount:backend:orchestrator'], { encoding: 'utf8', env: environment }).stdout.trim();
  assert.equal(can('create', 'pods/exec', 'agents'), 'yes');
  assert.equal(can('create', 'pods', 'backend'), 'no');
  assert.equal(can('get', 'secrets', 'agents'), 'no');
  assert.equal(can('list', 'nodes', 'default'), 'no');
  for (const workload of ['deployment/orchestrator', 'deployment/frontend', 'statefulset/postgres']) {
    const [namespace, name] = workload.startsWith('deployment/frontend') ? ['frontend', workload] : ['backend', workload];
    assert.doesNotMatch(kubectl('get', name, '-n', namespace, '-o', 'json'), /hostPath|docker\.sock/, `${workload} mounts no hostPath`);
  }
});

test('through the frontend NodePort a 3-agent run with the offline model completes, one commit per agent branch', { skip, timeout: 300_000 }, async () => {
  assert.ok(nodeUrl, 'deployed');
  const page = await fetchOnFreshConnection(`${nodeUrl}/`, 15_000);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);

  const runId = await submit('Build a typescript app which shows a digital clock.', 3);
  const run = await waitForRun(runId, 240_000, (state) => TERMINAL.includes(state.status));
  assert.equal(run.status, 'completed', JSON.stringify(run.results.map((result) => result.error)));
  // The design's response: status, run_info, summary, results[] with each agent's workspace and messages.
  const design = OrchestrateResponseSchema.parse(run);
  assert.deepEqual(design.summary, { total_agents: 3, successful: 3, failed: 0 });
  assert.equal(design.run_info.run_id, runId);
  assert.equal(design.run_info.git_initialized, true);
  assert.deepEqual(design.results.map((result) => [result.agent_id, result.status, result.workspace.branch_name]), [
    [1, 'success', 'agent-1'],
    [2, 'success', 'agent-2'],
    [3, 'success', 'agent-3'],
  ]);

  // On the node's disk (this machine): the workspace volume's directory, which the agents' pods reached through subPaths of its claim.
  const runDirectory = path.join(WORKSPACE, design.run_info.run_dir);
  assert.ok(existsSync(runDirectory), runDirectory);
  const branches = gitIn(runDirectory, 'branch', '--format=%(refname:short)').split('\n').sort();
  assert.deepEqual(branches, ['agent-1', 'agent-2', 'agent-3', 'main']);
  for (const agentId of [1, 2, 3]) {
    assert.deepEqual(filesChangedOn(runDirectory, `agent-${agentId}`), [`agent-${agentId}.md`]);
    assert.equal(gitIn(runDirectory, 'log', '-1', '--format=%s', `agent-${agentId}`), `Agent ${agentId}: add agent-${agentId}.md`);
    assert.equal(gitIn(runDirectory, 'rev-list', '--count', `main..agent-${agentId}`), '1');
  }
  const diff = await getJson<{ stats: { files: number }; files: Array<{ path: string }> }>(`${nodeUrl}/api/runs/${runId}/agents/2/diff`);
  assert.equal(diff.stats.files, 1);
  await waitForNoAgentPods(runId);
  completedRun = run;
});

test('the run reads the same from either orchestrator replica', { skip, timeout: 120_000 }, async () => {
  assert.ok(completedRun, 'the run completed');
  const pods = orchestratorPods();
  assert.equal(pods.length, 2);
  const owner = leaseHost(completedRun.run_info.run_id);
  assert.ok(owner && pods.includes(owner), `the run's lease names one of the replicas (${owner})`);
  for (const pod of pods) {
    const direct = await portForward(pod);
    const seen = RunStateSchema.parse(await getJson(`${direct}/runs/${completedRun.run_info.run_id}`, { authorization: `Bearer ${token}` }));
    assert.equal(seen.status, 'completed', pod);
    assert.deepEqual(seen.summary, completedRun.summary, pod);
    assert.deepEqual(seen.results.map((result) => result.status), ['success', 'success', 'success'], pod);
  }
});

test('view-logs.sh --run finds the run in the deployment, from both replicas directories', { skip, timeout: 120_000 }, () => {
  assert.ok(completedRun, 'the run completed');
  const runId = completedRun.run_info.run_id;
  const logs = script('view-logs.sh', ['--k8s', '--run', runId], 60_000);
  assert.equal(logs.status, 0, logs.output);
  const lines = logs.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length >= 6, `the run's story: ${lines.length} lines`);
  for (const line of lines) assert.equal((JSON.parse(line) as { run_id: string }).run_id, runId);
  const agents = new Set(lines.map((line) => (JSON.parse(line) as { agent_id?: number }).agent_id).filter(Boolean));
  assert.deepEqual([...agents].sort(), [1, 2, 3], 'lines about each agent');
});

test('through the NodePort 10 agents run at once, each in its own pod of the agents namespace, and no pod is left', { skip, timeout: 600_000 }, async () => {
  assert.ok(nodeUrl, 'deployed');
  // Slow answers keep every agent working long enough for all ten pods to be seen together.
  const runId = await submit('Write a haiku about git. [[slow ms=8000]]', 10);
  const seen = new Map<string, string>();
  const classes = new Set<string | undefined>();
  let most = 0;
  const deadline = Date.now() + 540_000;
  let run: RunState | undefined;
  while (Date.now() < deadline) {
    const running = agentPods(runId).filter((pod) => pod.phase === 'Running' && !pod.deleting);
    for (const pod of running) {
      seen.set(pod.agentId, pod.name);
      classes.add(pod.runtimeClass);
    }
    most = Math.max(most, running.length);
    run = RunStateSchema.parse(await getJson(`${nodeUrl}/api/runs/${runId}`));
    if (TERMINAL.includes(run.status)) break;
    await sleep(1_000);
  }
  console.log(`# ${seen.size} agent pods seen running, at most ${most} at once`);
  assert.ok(run && run.status === 'completed', `run ended ${run?.status}`);
  assert.deepEqual(run.summary, { total_agents: 10, successful: 10, failed: 0, cancelled: 0 }, JSON.stringify(run.results.map((result) => result.error)));
  assert.deepEqual([...seen.keys()].map(Number).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every agent had a pod, seen with kubectl get pods -n agents');
  assert.equal(most, 10, 'all ten pods ran at once');
  assert.deepEqual([...classes], ['no-network'], 'every agent pod ran under RuntimeClass no-network (deploy.sh --runtime-class)');
  const runDirectory = path.join(WORKSPACE, run.run_info.run_dir);
  for (let agentId = 1; agentId <= 10; agentId++) assert.deepEqual(filesChangedOn(runDirectory, `agent-${agentId}`), [`agent-${agentId}.md`]);
  await waitForNoAgentPods(runId);
});

test("deleting one agent's pod (kubectl delete pod) fails that agent with a clear error; the others finish", { skip, timeout: 420_000 }, async () => {
  assert.ok(nodeUrl, 'deployed');
  const runId = await submit('Write a haiku about git. [[slow ms=5000]]', 3);
  let victim: string | undefined;
  for (let i = 0; i < 180 && !victim; i++) {
    victim = agentPods(runId).find((pod) => pod.agentId === '2' && pod.phase === 'Running')?.name;
    if (!victim) await sleep(1_000);
  }
  assert.ok(victim, "agent 2's pod ran");
  await sleep(3_000);
  console.log(`# deleting ${victim}`);
  kubectl('delete', 'pod', victim, '-n', 'agents', '--wait=false');
  const finished = await waitForRun(runId, 300_000, (state) => TERMINAL.includes(state.status));
  const byAgent = new Map(finished.results.map((result) => [result.agent_id, result]));
  assert.equal(byAgent.get(2)?.status, 'error');
  assert.match(byAgent.get(2)?.error ?? '', /the agent's sandbox died while it worked \(the sandbox pod was deleted/, byAgent.get(2)?.error);
  assert.equal(byAgent.get(1)?.status, 'success', byAgent.get(1)?.error);
  assert.equal(byAgent.get(3)?.status, 'success', byAgent.get(3)?.error);
  await waitForNoAgentPods(runId);
});

/** What the probe in an agent's pod printed (the next two tests). */
let probeOutput = '';

test("inside an agent's pod: no other agent's files, nothing else of the workspace, no credentials, no service account token", { skip, timeout: 420_000 }, async () => {
  assert.ok(nodeUrl, 'deployed');
  const nodePort = /:(\d+)$/.exec(nodeUrl)?.[1] ?? '0';
  const probe = [
    // Anything of the workspace beyond its own repository: the run directory, another agent's, the records.
    `find / \\( -path /proc -o -path /sys \\) -prune -o \\( -name 'run_20[0-9][0-9][0-9][0-9][0-9][0-9]_*' -o -name agent-2 -o -name agent-2.md -o -name runs.db -o -name lease.json \\) -print 2>/dev/null | sed 's/^/FOUND:/'`,
    'test -e /var/run/secrets/kubernetes.io/serviceaccount/token && echo TOKEN-PRESENT || echo NO-TOKEN',
    'ls /var/run/secrets 2>/dev/null | sed "s/^/SECRET-DIR:/"',
    `env | grep -iE '^[^=]*(key|token|secret|password|database)[^=]*=' | sed 's/=.*//; s/^/ENV:/'`,
    `for target in "$KUBERNETES_SERVICE_HOST:443" ${NODE_ADDRESS}:6443 ${NODE_ADDRESS}:${nodePort} 10.96.0.10:53 10.213.0.1:22; do timeout 5 bash -c "exec 3<>/dev/tcp/\${target%:*}/\${target#*:}" 2>/dev/null && echo "OPEN:$target" || echo "CLOSED:$target"; done`,
    `tail -n +2 /proc/net/route | cut -f2 | sed 's/^/ROUTE:/'`,
    'echo PROBE-DONE',
  ].join('; ');
  const runId = await submit(`Look around. [[bash agent=1 cmd=${JSON.stringify(probe)}]] [[slow ms=2000 agent=2]]`, 2);
  const run = await waitForRun(runId, 300_000, (state) => TERMINAL.includes(state.status));
  const output = run.results.find((result) => result.agent_id === 1)?.messages.filter((message) => message.type === 'tool_result').map((message) => message.text ?? '').join('\n') ?? '';
  console.log(output.split('\n').map((line) => `# ${line}`).join('\n'));
  probeOutput = output;
  assert.match(output, /PROBE-DONE/, 'the probe ran in the pod');
  assert.doesNotMatch(output, /FOUND:/, 'nothing of the run, another agent or the records is visible');
  assert.match(output, /NO-TOKEN/);
  assert.doesNotMatch(output, /SECRET-DIR:|ENV:/);
  await waitForNoAgentPods(runId);
});

// The agents' NetworkPolicy denies all traffic, but nothing on this cluster enforces a NetworkPolicy
// (Debian's bridge CNI plugin does not; kube-network-policies needs nftables' queue expression, which this
// kernel lacks). The agents' pods run under the RuntimeClass no-network instead: their one device is a
// macvlan in private mode on a bridge with no port, with no route beyond its own subnet.
test("inside an agent's pod: no network (the API server, the node, the frontend, DNS, the host): nothing answers, no route out", { skip }, () => {
  assert.match(probeOutput, /PROBE-DONE/, 'the probe ran');
  assert.doesNotMatch(probeOutput, /OPEN:/, 'no address answers');
  assert.equal((probeOutput.match(/CLOSED:/g) ?? []).length, 5);
  assert.deepEqual(probeOutput.match(/ROUTE:[0-9A-F]{8}/g), ['ROUTE:0000F50A'], 'one route: its own subnet (10.245.0.0/24), no default route');
});

/**
 * Starts a slow run, deletes the orchestrator pod that owns it (by its lease) mid-way, and waits for the
 * run to end. Graceful: the pod's SIGTERM; forced: --grace-period=0 --force, a crash for the process.
 */
async function deleteOwnerMidRun(force: boolean): Promise<RunState> {
  assert.ok(nodeUrl, 'deployed');
  // Slow answers keep the run going long enough to delete its owner mid-way.
  const runId = await submit(`Write a haiku about git. [[slow ms=3000]]`, 2);
  const running = await waitForRun(runId, 120_000, (state) => state.status === 'running' && state.results.some((result) => result.status === 'running'));
  let owner: string | undefined;
  for (let i = 0; i < 30 && !owner; i++) {
    owner = leaseHost(runId);
    if (!owner) await sleep(500);
  }
  const pods = orchestratorPods();
  assert.ok(owner && pods.includes(owner), `the lease names the owning pod (${owner} among ${pods.join(', ')})`);
  console.log(`# deleting ${owner}${force ? ' (forced)' : ''}, which owns run ${runId}`);
  kubectl('delete', 'pod', owner, '-n', 'backend', '--wait=false', ...(force ? ['--grace-period=0', '--force'] : []));

  // A forced deletion leaves the lease to go stale (30 s) before the survivor's sweep (every 30 s) sees it.
  const finished = await waitForRun(runId, 180_000, (state) => TERMINAL.includes(state.status));
  console.log(`# run ${runId} ended ${finished.status}: ${finished.results.map((result) => `${result.agent_id}=${result.status}`).join(' ')}`);
  for (const result of finished.results) assert.notEqual(result.status, 'running', `agent ${result.agent_id}`);
  // The Deployment replaces the pod; both replicas serve again.
  kubectl('rollout', 'status', 'deployment/orchestrator', '-n', 'backend', '--timeout=180s');
  const after = orchestratorPods();
  assert.equal(after.length, 2);
  assert.ok(!after.includes(owner), "a new pod took the deleted one's place");
  // A forced deletion leaves the sweep (every 30 s, once the run is interrupted) to delete its agents' pods.
  await waitForNoAgentPods(runId, 150);
  return finished;
}

test('deleting the orchestrator pod that owns a running run (kubectl delete pod) leaves that run interrupted, never stuck running', { skip, timeout: 420_000 }, async () => {
  const finished = await deleteOwnerMidRun(false);
  assert.ok(['interrupted', 'completed'].includes(finished.status), `interrupted or finished by the survivor, not ${finished.status}`);
  if (finished.status === 'interrupted') {
    assert.ok(finished.results.some((result) => result.error?.startsWith('interrupted')), 'the stopped agents say why');
  }
});

test('a forced deletion of the owning pod (no SIGTERM, as in a crash) leaves the run interrupted by the surviving replica', { skip, timeout: 420_000 }, async () => {
  const finished = await deleteOwnerMidRun(true);
  assert.ok(['interrupted', 'completed'].includes(finished.status), `interrupted or finished by the survivor, not ${finished.status}`);
});

test('cleanup.sh leaves nothing of the project in the cluster', { skip, timeout: 420_000 }, async () => {
  const cleaned = script('cleanup.sh', ['--images'], 400_000);
  console.log(cleaned.output.split('\n').map((line) => `# ${line}`).join('\n'));
  assert.equal(cleaned.status, 0, cleaned.output);
  assert.equal(kubectl('get', 'namespaces', '-o', 'name').split('\n').filter((name) => /\/(backend|frontend|agents)$/.test(name)).join(' '), '');
  assert.equal(projectObjects(), '');
  // The logs volume goes with its claim (the cluster's provisioner deletes released volumes).
  let volumes = 'x';
  for (let i = 0; i < 30 && volumes; i++) {
    volumes = kubectl('get', 'pv', '-o', 'jsonpath={range .items[?(@.spec.claimRef.namespace=="backend")]}{.metadata.name} {end}{range .items[?(@.spec.claimRef.namespace=="agents")]}{.metadata.name} {end}').trim();
    if (volumes) await sleep(1_000);
  }
  assert.equal(volumes, '', 'no volume of the project is left');
  const managed = execFileSync('docker', ['ps', '--all', '--quiet', '--filter', 'label=multiclaude.managed=true', '--filter', `label=multiclaude.workspace=${WORKSPACE}`], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean);
  assert.deepEqual(managed, [], 'no sandbox container of this deployment is left');
});
