// Unit tests of the kubernetes runtime's pure parts: the sandbox pod's hardening, labels and one subPath mount, size conversions, and how a pod's state reads as the agent's error; no cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { Pod } from 'kubernetes-models/v1/Pod';
import {
  agentLabels,
  buildSandboxPod,
  sandboxPodName,
  storeIdentity,
  toCpuQuantity,
  toQuantity,
  workspaceSubPath,
  type PodSpecOptions,
} from '../../src/sandboxes/kubernetes-spec.ts';
import { deathOf, readPod } from '../../src/sandboxes/kubernetes-status.ts';
import { describeExecEnd, exitCodeOf } from '../../src/sandboxes/kubernetes-relay.ts';
import { SandboxError } from '../../src/sandboxes/runtime.ts';

const RUN_ID = '20261201_123000_0a1b2c3d';

function options(overrides: Partial<PodSpecOptions> = {}): PodSpecOptions {
  return {
    name: sandboxPodName(RUN_ID, 3),
    namespace: 'agents',
    image: 'claude-mcp:latest',
    workspaceClaim: 'workspace',
    subPath: `runs/run_${RUN_ID}/worktrees/agent-3`,
    labels: agentLabels(RUN_ID, 3, 'orchestrator-abc-1'),
    uid: 10001,
    gid: 10001,
    memory: '2g',
    cpus: '1',
    ...overrides,
  };
}

test('the sandbox pod is valid against the Kubernetes API schema', () => {
  const pod = buildSandboxPod(options());
  new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
});

test('the sandbox pod runs non-root with a read-only root, no capabilities, RuntimeDefault seccomp and no service account token', () => {
  const pod = buildSandboxPod(options());
  const spec = pod.spec!;
  assert.equal(spec.automountServiceAccountToken, false);
  assert.equal(spec.enableServiceLinks, false, 'no service addresses in its environment');
  assert.equal(spec.hostNetwork, false);
  assert.equal(spec.hostPID, false);
  assert.equal(spec.hostIPC, false);
  assert.equal(spec.restartPolicy, 'Never');
  assert.deepEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(spec.containers.length, 1);
  const container = spec.containers[0]!;
  assert.deepEqual(container.securityContext, {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(container.command, ['sleep', 'infinity'], 'the tools are exec\'d, so MCP traffic never reaches the container log');
  assert.equal(container.stdin, undefined);
  assert.equal(container.workingDir, '/workspace');
});

test('the sandbox pod has CPU, memory and ephemeral-storage limits from SANDBOX_CPUS and SANDBOX_MEMORY', () => {
  const container = buildSandboxPod(options({ memory: '512m', cpus: '0.5' })).spec!.containers[0]!;
  assert.deepEqual(container.resources?.limits, { cpu: '0.5', memory: '512Mi', 'ephemeral-storage': '2Gi' });
  assert.ok(container.resources?.requests?.['memory'], 'requests too, so the scheduler counts it');
});

test('the only workspace volume is the agent repository, by subPath of the workspace claim; the rest are emptyDirs', () => {
  const pod = buildSandboxPod(options());
  const container = pod.spec!.containers[0]!;
  assert.deepEqual(container.volumeMounts, [
    { name: 'workspace', mountPath: '/workspace', subPath: `runs/run_${RUN_ID}/worktrees/agent-3` },
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'home', mountPath: '/home/agent' },
  ]);
  assert.deepEqual(pod.spec!.volumes, [
    { name: 'workspace', persistentVolumeClaim: { claimName: 'workspace' } },
    { name: 'tmp', emptyDir: { sizeLimit: '512Mi' } },
    { name: 'home', emptyDir: { sizeLimit: '512Mi' } },
  ]);
  const json = JSON.stringify(pod);
  assert.doesNotMatch(json, /hostPath|docker\.sock|secret|serviceAccountName/i);
});

test('the pod carries labels naming run and agent, and those of every sandbox pod', () => {
  const labels = buildSandboxPod(options()).metadata!.labels!;
  assert.equal(labels['multiclaude.managed'], 'true');
  assert.equal(labels['multiclaude.run_id'], RUN_ID);
  assert.equal(labels['multiclaude.agent_id'], '3');
  assert.equal(labels['multiclaude.owner'], 'orchestrator-abc-1');
  assert.equal(labels['app.kubernetes.io/component'], 'agent-sandbox');
});

test("only the setup step's pod is labelled to reach the network; an agent's or a check's pod never is", () => {
  assert.equal(buildSandboxPod(options({ network: true })).metadata!.labels!['multiclaude.network'], 'egress');
  assert.equal(buildSandboxPod(options()).metadata!.labels!['multiclaude.network'], undefined);
  assert.equal(buildSandboxPod(options({ network: false })).metadata!.labels!['multiclaude.network'], undefined);
});

test("KUBERNETES_RUNTIME_CLASS is the agents' and checks' pods' runtime class, never the setup step's (it needs the network)", () => {
  assert.equal(buildSandboxPod(options({ runtimeClass: 'no-network' })).spec!.runtimeClassName, 'no-network');
  assert.equal(buildSandboxPod(options({ runtimeClass: 'no-network', network: true })).spec!.runtimeClassName, undefined);
  assert.equal(buildSandboxPod(options()).spec!.runtimeClassName, undefined, "none set: the cluster's default");
});

test('the sandbox environment holds no secret of the orchestrator', () => {
  const env = buildSandboxPod(options()).spec!.containers[0]!.env!;
  const names = env.map((variable) => variable.name);
  assert.ok(names.includes('HOME'));
  for (const name of names) assert.doesNotMatch(name, /KEY|TOKEN|SECRET|PASSWORD|DATABASE/);
  assert.ok(env.every((variable) => variable.valueFrom === undefined));
});

test('pod names are DNS labels made from the run id and agent id', () => {
  assert.equal(sandboxPodName(RUN_ID, 10), 'mc-20261201-123000-0a1b2c3d-agent-10');
  assert.equal(sandboxPodName(RUN_ID, 2, 'check'), 'mc-20261201-123000-0a1b2c3d-agent-2-check');
  assert.match(sandboxPodName(RUN_ID, 10), /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
});

test('the subPath is the repository relative to the claim, never outside it nor the claim root', () => {
  assert.equal(workspaceSubPath('/workspace/runs/run_x/worktrees/agent-1', '/workspace'), 'runs/run_x/worktrees/agent-1');
  assert.throws(() => workspaceSubPath('/etc', '/workspace'), SandboxError);
  assert.throws(() => workspaceSubPath('/workspace', '/workspace'), SandboxError);
  assert.throws(() => workspaceSubPath('relative/path', '/workspace'), SandboxError);
  assert.throws(() => buildSandboxPod(options({ subPath: '../other' })), SandboxError);
  assert.throws(() => buildSandboxPod(options({ subPath: '/abs' })), SandboxError);
});

test('a pod is never built to run as root, and label values are checked', () => {
  assert.throws(() => buildSandboxPod(options({ uid: 0 })), /never runs as root/);
  assert.throws(() => agentLabels('bad id/with slash', 1, 'owner'), /run id .* cannot be a Kubernetes label value/);
});

test('docker sizes become Kubernetes quantities; bad sizes name the variable', () => {
  assert.equal(toQuantity('2g', 'SANDBOX_MEMORY'), '2Gi');
  assert.equal(toQuantity('512M', 'SANDBOX_MEMORY'), '512Mi');
  assert.equal(toQuantity('1024k', 'SANDBOX_MEMORY'), '1024Ki');
  assert.equal(toQuantity('1073741824', 'SANDBOX_MEMORY'), '1073741824');
  assert.equal(toQuantity('2Gi', 'SANDBOX_MEMORY'), '2Gi');
  assert.throws(() => toQuantity('lots', 'SANDBOX_MEMORY'), /SANDBOX_MEMORY must be a size/);
  assert.equal(toCpuQuantity('1.5'), '1.5');
  assert.equal(toCpuQuantity('500m'), '500m');
  assert.throws(() => toCpuQuantity('0'), /SANDBOX_CPUS/);
});

function pod(status: V1Pod['status'], metadata: V1Pod['metadata'] = {}): V1Pod {
  return { metadata: { name: 'p', ...metadata }, spec: { containers: [{ name: 'sandbox', image: 'claude-mcp:latest' }] }, status };
}

test('a pod whose container runs is ready; a pending or unscheduled one is waiting, saying why', () => {
  assert.deepEqual(readPod(pod({ phase: 'Running', containerStatuses: [{ name: 'sandbox', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }), '2g'), { state: 'ready' });
  const unscheduled = readPod(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }] }), '2g');
  assert.deepEqual(unscheduled, { state: 'waiting', detail: 'not scheduled yet: 0/1 nodes are available: 1 Insufficient memory.' });
});

test('image pull errors fail the start at once, naming the image', () => {
  for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull']) {
    const reading = readPod(pod({ phase: 'Pending', containerStatuses: [{ name: 'sandbox', image: '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message: 'not found' } } }] }), '2g');
    assert.equal(reading.state, 'failed');
    assert.ok(reading.state === 'failed' && reading.code === 'image_missing');
    assert.match(reading.state === 'failed' ? reading.reason : '', new RegExp(`claude-mcp:latest \\(${reason}: not found\\)`));
  }
});

test('OOM kills, evictions and deletions read as the sandbox dying, in words', () => {
  const oom = pod({ phase: 'Failed', containerStatuses: [{ name: 'sandbox', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] });
  assert.match(deathOf(oom, false, '2g') ?? '', /ran out of memory .*limit 2g; SANDBOX_MEMORY raises it/);
  const evicted = pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: ephemeral-storage.' });
  assert.equal(deathOf(evicted, false, '2g'), 'the sandbox pod was evicted by the node: The node was low on resource: ephemeral-storage.');
  assert.match(deathOf(pod({ phase: 'Running' }, { deletionTimestamp: new Date() }), false, '2g') ?? '', /the sandbox pod was deleted/);
  assert.match(deathOf(undefined, true, '2g') ?? '', /the sandbox pod was deleted/);
  const running = pod({ phase: 'Running', containerStatuses: [{ name: 'sandbox', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] });
  assert.equal(deathOf(running, false, '2g'), undefined);
});

test("an exec'd tool server's end: 0 is normal, SIGKILL points at the memory limit, other codes are said", () => {
  assert.equal(exitCodeOf({ status: 'Success' }), 0);
  assert.equal(describeExecEnd({ status: 'Success' }, '2g'), undefined);
  const killed = { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '137' }] } };
  assert.equal(exitCodeOf(killed), 137);
  assert.match(describeExecEnd(killed, '2g') ?? '', /killed \(SIGKILL\), most likely by the memory limit \(2g/);
  assert.equal(describeExecEnd({ status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }, '2g'), "the sandbox's tool server exited with code 3");
  assert.equal(describeExecEnd(undefined, '2g'), undefined);
});

test('the store label is a hash naming the run store, never a part of its URL', () => {
  const password = ['pass', 'word'].join('');
  const postgres = storeIdentity(`postgres://multiclaude:${password}@postgres.backend.svc.cluster.local:5432/multiclaude`, '/workspace');
  assert.match(postgres, /^[0-9a-f]{16}$/);
  assert.equal(postgres, storeIdentity(`postgres://multiclaude:other@postgres.backend.svc.cluster.local:5432/multiclaude`, '/elsewhere'), 'the same database, whatever the password');
  assert.notEqual(storeIdentity(undefined, '/var/tmp/ws'), postgres, 'a developer orchestrator on its own SQLite store is another store');
});
