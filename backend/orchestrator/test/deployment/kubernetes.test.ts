// kubernetes/ against the design and the hardening the deployment issue asks for, with no cluster:
// rendered by `kubectl kustomize`, validated with the kubernetes-models API schemas, then asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { KUBECTL, KUBERNETES, ROOT, find, kustomizationFiles, loadManifests, loadRaw, parseDocuments, selects, type K8sObject } from './manifests.ts';
import { parseByteSize } from '../../src/logging/byte-size.ts';
import { computeCapacity, estimatedAgentBytes } from '../../src/runs/capacity.ts';
// Built at run time so no key-shaped literal sits in the repository.
const FAKE_KEY = ['sk', 'ant', 'not-a-key'].join('-');

const objects = loadManifests();
const noKubectl = KUBECTL ? false : 'kubectl is not installed (kubectl kustomize renders the manifests)';
const orchestrator = find(objects, 'Deployment', 'backend', 'orchestrator');
const frontend = find(objects, 'Deployment', 'frontend', 'frontend');
const deployments = [orchestrator, frontend];

const MODELS: Record<string, { validate(this: void, object: K8sObject): void }> = {};
for (const Model of [Deployment, StatefulSet, NetworkPolicy, PodDisruptionBudget, ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Secret, Service, ServiceAccount, Role, RoleBinding]) {
  MODELS[`${Model.apiVersion}/${Model.kind}`] = { validate: (object) => new Model(object as never).validate() };
}

function container(deployment: K8sObject): K8sObject {
  return deployment['spec'].template.spec.containers[0];
}

function environment(deployment: K8sObject): Map<string, K8sObject> {
  return new Map((container(deployment)['env'] as K8sObject[]).map((variable) => [variable['name'] as string, variable]));
}

test('kubectl kustomize renders every resource the design lists, plus the hardening objects, and nothing else', () => {
  const rendered = objects.map((object) => `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`).sort();
  assert.deepEqual(
    rendered,
    [
      'ConfigMap backend/workspace-config',
      'ConfigMap frontend/frontend-config',
      'Deployment backend/orchestrator',
      'Deployment frontend/frontend',
      'Namespace -/agents',
      'Namespace -/backend',
      'Namespace -/frontend',
      'NetworkPolicy agents/default-deny-all',
      'NetworkPolicy agents/setup-egress',
      'PersistentVolume -/multiclaude-workspace-agents',
      'PersistentVolume -/multiclaude-workspace-backend',
      'PersistentVolumeClaim agents/workspace',
      'PersistentVolumeClaim backend/workspace',
      'Role agents/orchestrator',
      'RoleBinding agents/orchestrator',
      'NetworkPolicy backend/default-deny-all',
      'NetworkPolicy backend/orchestrator',
      'NetworkPolicy backend/postgres',
      'NetworkPolicy frontend/default-deny-all',
      'NetworkPolicy frontend/frontend',
      'PersistentVolumeClaim backend/orchestrator-logs',
      'PodDisruptionBudget backend/orchestrator',
      'PodDisruptionBudget frontend/frontend',
      'Service backend/orchestrator-service',
      'Service backend/postgres',
      'StatefulSet backend/postgres',
      'Service frontend/frontend-service',
      'ServiceAccount backend/orchestrator',
      'ServiceAccount frontend/frontend',
    ].sort(),
  );
});

test('every rendered object validates against the Kubernetes API schema of its kind', () => {
  for (const object of objects) {
    const model = MODELS[`${object.apiVersion}/${object.kind}`];
    assert.ok(model, `no schema model for ${object.apiVersion} ${object.kind}: add it to MODELS`);
    assert.doesNotThrow(() => model.validate(object), `${object.kind} ${object.metadata.name}`);
  }
});

test('the schema check does catch a malformed object', () => {
  const broken = structuredClone(orchestrator);
  broken['spec'].replicas = 'two';
  assert.throws(() => MODELS['apps/v1/Deployment']!.validate(broken), /replicas/);
});

test('each kustomization lists only files that exist and parse, and every object and pod is labelled part of multiclaude', { skip: noKubectl }, () => {
  const files = kustomizationFiles(KUBERNETES);
  assert.equal(files.length, 25);
  for (const file of files) assert.ok(parseDocuments(readFileSync(file, 'utf8'), file).length > 0, `${path.relative(ROOT, file)} is empty`);
  for (const object of objects) assert.equal(object.metadata.labels?.['app.kubernetes.io/part-of'], 'multiclaude', object.metadata.name);
  for (const deployment of deployments) {
    assert.equal(deployment['spec'].template.metadata.labels['app.kubernetes.io/part-of'], 'multiclaude', 'pods are found by the label too');
    assert.equal(deployment['spec'].selector.matchLabels['app.kubernetes.io/part-of'], undefined, 'selectors are immutable: never changed');
  }
});

test('the orchestrator runs 2 replicas with the design requests and limits and probes /health and /ready on 8080', () => {
  assert.equal(orchestrator['spec'].replicas, 2);
  const main = container(orchestrator);
  // 8Gi rather than the design's 2Gi: each running agent's claude process lives here, and two 10-agent runs run at once.
  assert.deepEqual(main['resources'], { requests: { memory: '512Mi', cpu: '250m' }, limits: { memory: '8Gi', cpu: '2000m' } });
  assert.deepEqual(main['ports'], [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  assert.equal(main['livenessProbe'].httpGet.path, '/health');
  assert.equal(main['readinessProbe'].httpGet.path, '/ready');
  assert.ok(main['readinessProbe'].timeoutSeconds > 15, '/ready may take 15 s asking the API server');
  assert.equal(main['image'], KUBECTL ? 'orchestrator:latest' : 'orchestrator');
  assert.equal(main['imagePullPolicy'], 'IfNotPresent', 'images come from `minikube image load`, not a registry');
});

test('the orchestrator mounts the workspace claim at WORKSPACE_LOCAL and the logs claim; no pod has a docker socket or a hostPath', () => {
  const volumes = new Map((orchestrator['spec'].template.spec.volumes as K8sObject[]).map((volume) => [volume['name'] as string, volume]));
  const mounts = new Map((container(orchestrator)['volumeMounts'] as K8sObject[]).map((mount) => [mount['name'] as string, mount['mountPath'] as string]));
  assert.deepEqual(volumes.get('workspace')?.['persistentVolumeClaim'], { claimName: 'workspace' });
  assert.equal(mounts.get('workspace'), '/workspace');
  for (const workload of objects.filter((object) => ['Deployment', 'StatefulSet'].includes(object.kind))) {
    const json = JSON.stringify(workload['spec'].template);
    assert.doesNotMatch(json, /hostPath|docker\.sock/, `${workload.metadata.name} mounts no hostPath`);
  }
  assert.deepEqual(volumes.get('logs')?.['persistentVolumeClaim'], { claimName: 'orchestrator-logs' });
  assert.equal(mounts.get('logs'), '/var/log/orchestrator');
  const claim = find(objects, 'PersistentVolumeClaim', 'backend', 'orchestrator-logs');
  assert.equal(claim['spec'].resources.requests.storage, '1Gi');
});

test('workspace-config gives WORKSPACE_LOCAL and the non-secret settings, and runs agents only as pods of the agents namespace', () => {
  const config = find(objects, 'ConfigMap', 'backend', 'workspace-config');
  assert.equal(config['data'].WORKSPACE_PATH, undefined, 'no Docker engine view of the workspace');
  assert.equal(config['data'].KUBERNETES_NAMESPACE, 'agents');
  assert.equal(config['data'].KUBERNETES_WORKSPACE_CLAIM, 'workspace');
  assert.equal(config['data'].KUBERNETES_WARM_PODS, '2', 'a small warm pool per replica');

  assert.equal(config['data'].WORKSPACE_LOCAL, '/workspace');
  assert.equal(config['data'].DOCKER_MCP_IMAGE, 'claude-mcp:latest');
  assert.equal(config['data'].LOG_DIR, '/var/log/orchestrator');
  assert.equal(config['data'].HOST, '0.0.0.0', 'a pod is reached on its own address, not loopback');
  assert.equal(config['data'].AGENT_RUNTIME, 'kubernetes', 'never a silent fallback to unsandboxed local tools');
  for (const key of Object.keys(config['data'])) assert.doesNotMatch(key, /KEY|TOKEN|SECRET|PASSWORD/, `${key} belongs in a Secret`);
  assert.deepEqual(container(orchestrator)['envFrom'], [{ configMapRef: { name: 'workspace-config' } }]);
  assert.equal(environment(orchestrator).get('LOG_DIR')?.['value'], '/var/log/orchestrator/$(POD_NAME)', 'one log directory per pod');
});

test('the agent cap follows the pod’s memory limit: no MAX_CONCURRENT_AGENTS, and the limit holds the warm spare and agents beside it', () => {
  const config = find(objects, 'ConfigMap', 'backend', 'workspace-config');
  assert.equal(config['data'].MAX_CONCURRENT_AGENTS, undefined, 'the cap is worked out from the limit, not set beside it');
  // A Kubernetes quantity (2Gi) is the byte size 2GiB.
  const limit = parseByteSize(`${String(container(orchestrator)['resources'].limits.memory)}B`)!;
  const capacity = computeCapacity({
    memory: { limitBytes: limit, limitSource: 'cgroup', availableBytes: limit },
    measuredAgentBytes: undefined,
    estimatedAgentBytes: estimatedAgentBytes(config['data'].AGENT_RUNTIME),
    agentsResidentBytes: 0,
    cores: 2,
    override: undefined,
  });
  const spares = Number(config['data'].WARM_POOL_SIZE);
  assert.equal(capacity.agents, 23, 'the kubernetes runtime: 8Gi less a tenth on the 320 MiB estimate (tool servers run in their pods)');
  // Three concurrent 10-agent runs on the 2 replicas: whichever way the Service spreads them, one replica holds two.
  assert.ok(capacity.agents >= 2 * 10 + spares, 'two 10-agent runs at once beside the warm spare, on one replica');
  assert.ok(spares >= 1 && spares < capacity.agents, `${spares} spare(s) leave room for agents in a cap of ${capacity.agents}`);
});

test('the API key and the shared token come from secrets, and no secret is kept in kubernetes/', () => {
  assert.ok(!objects.some((object) => object.kind === 'Secret'), 'secrets are created by deploy.sh from the environment');
  assert.deepEqual(environment(orchestrator).get('ANTHROPIC_API_KEY')?.['valueFrom'], {
    secretKeyRef: { name: 'anthropic-api-key', key: 'ANTHROPIC_API_KEY', optional: true },
  });
  for (const deployment of deployments) {
    assert.deepEqual(environment(deployment).get('ORCHESTRATOR_TOKEN')?.['valueFrom'], {
      secretKeyRef: { name: 'orchestrator-token', key: 'ORCHESTRATOR_TOKEN' },
    });
  }
  for (const file of kustomizationFiles(KUBERNETES)) assert.doesNotMatch(readFileSync(file, 'utf8'), /sk-ant-|kind:\s*Secret/, file);
});

test('without kubectl the files read one by one give the same objects, so these checks hold either way', { skip: noKubectl }, () => {
  const key = (object: K8sObject) => `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  const raw = new Map(loadRaw().map((object) => [key(object), object]));
  assert.deepEqual([...raw.keys()].sort(), objects.map(key).sort());
  const rawOrchestrator = raw.get('Deployment backend/orchestrator')!;
  assert.deepEqual(rawOrchestrator['spec'].template.spec.securityContext, orchestrator['spec'].template.spec.securityContext);
});

test('orchestrator-service is a ClusterIP on 8080 and frontend-service a NodePort, each selecting its pods', () => {
  const backendService = find(objects, 'Service', 'backend', 'orchestrator-service');
  assert.equal(backendService['spec'].type, 'ClusterIP');
  assert.deepEqual(backendService['spec'].ports, [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  const frontendService = find(objects, 'Service', 'frontend', 'frontend-service');
  assert.equal(frontendService['spec'].type, 'NodePort');
  assert.equal(frontendService['spec'].ports[0].targetPort, 'http');
  for (const [service, deployment] of [
    [backendService, orchestrator],
    [frontendService, frontend],
  ] as const) {
    assert.ok(selects(service['spec'].selector, deployment['spec'].template.metadata.labels), `${service.metadata.name} selects its pods`);
    assert.ok(selects(deployment['spec'].selector.matchLabels, deployment['spec'].template.metadata.labels));
  }
});

test('the frontend runs 2 replicas on port 3000 pointed at orchestrator-service', () => {
  assert.equal(frontend['spec'].replicas, 2);
  assert.equal(container(frontend)['ports'][0].containerPort, 3000);
  const config = find(objects, 'ConfigMap', 'frontend', 'frontend-config');
  assert.equal(config['data'].ORCHESTRATOR_URL, 'http://orchestrator-service.backend.svc.cluster.local:8080');
  assert.equal(config['data'].PORT, '3000');
  assert.equal(config['data'].HOST, '0.0.0.0');
});

test('every pod runs as non-root with no capabilities, no privilege escalation and a read-only root; only the orchestrator has an API token', () => {
  for (const deployment of deployments) {
    const pod = deployment['spec'].template.spec;
    const name = deployment.metadata.name;
    assert.equal(pod.automountServiceAccountToken, deployment === orchestrator, name);
    assert.equal(pod.securityContext.runAsNonRoot, true, name);
    assert.ok(pod.securityContext.runAsUser >= 10000, `${name} runs as a high uid`);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', name);
    const serviceAccount = find(objects, 'ServiceAccount', deployment.metadata.namespace, pod.serviceAccountName);
    assert.equal(serviceAccount['automountServiceAccountToken'], false, name);
    for (const each of pod.containers as K8sObject[]) {
      assert.deepEqual(each['securityContext'], {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      const writable = (each['volumeMounts'] as K8sObject[]).map((mount) => mount['mountPath']);
      assert.ok(writable.includes('/tmp'), `${name} gets a writable /tmp on its read-only root`);
    }
  }
  assert.equal(orchestrator['spec'].template.spec.securityContext.runAsUser, 10001, 'the uid the workspace mount and the sandboxes use');
  assert.equal(orchestrator['spec'].template.spec.securityContext.supplementalGroups, undefined, 'no docker socket group');
});

test("the orchestrator's rights are a Role in the agents namespace only: pods, pods/exec and reading the workspace claim", () => {
  assert.ok(!objects.some((object) => ['ClusterRole', 'ClusterRoleBinding'].includes(object.kind)), 'nothing cluster-wide');
  const role = find(objects, 'Role', 'agents', 'orchestrator');
  assert.deepEqual(role['rules'], [
    { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'] },
    { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], resourceNames: ['workspace'], verbs: ['get'] },
  ]);
  const binding = find(objects, 'RoleBinding', 'agents', 'orchestrator');
  assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'orchestrator' });
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'orchestrator', namespace: 'backend' }]);
  assert.equal(orchestrator['spec'].template.spec.serviceAccountName, 'orchestrator');
});

test('the agents namespace enforces the restricted Pod Security Standard and denies its pods all traffic', () => {
  const namespace = find(objects, 'Namespace', undefined, 'agents');
  assert.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  assert.equal(find(objects, 'Namespace', undefined, 'backend').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'baseline', 'baseline forbids hostPath');
  const deny = find(objects, 'NetworkPolicy', 'agents', 'default-deny-all');
  assert.deepEqual(deny['spec'], { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  // The setup step's pod alone may connect out (as docker gives its setup container a network); nothing may connect in.
  const setup = find(objects, 'NetworkPolicy', 'agents', 'setup-egress');
  assert.deepEqual(setup['spec'], { podSelector: { matchLabels: { 'multiclaude.network': 'egress' } }, policyTypes: ['Egress'], egress: [{}] });
  const egress = find(objects, 'NetworkPolicy', 'backend', 'orchestrator')['spec'].egress as K8sObject[];
  assert.ok(egress.some((rule) => (rule['ports'] as K8sObject[] | undefined)?.some((port) => port['port'] === 6443)), 'the orchestrator reaches the API server');
});

test('the orchestrator and the agents pods see one workspace: two claims statically bound to volumes of the same directory', () => {
  const directories = new Set<string>();
  for (const namespace of ['backend', 'agents']) {
    const claim = find(objects, 'PersistentVolumeClaim', namespace, 'workspace');
    const volume = find(objects, 'PersistentVolume', undefined, claim['spec'].volumeName);
    assert.deepEqual(volume['spec'].claimRef, { namespace, name: 'workspace' });
    assert.equal(volume['spec'].storageClassName, claim['spec'].storageClassName);
    assert.deepEqual(claim['spec'].accessModes, ['ReadWriteMany']);
    assert.equal(volume['spec'].persistentVolumeReclaimPolicy, 'Retain', 'deleting the deployment never deletes runs');
    directories.add(volume['spec'].hostPath.path);
  }
  assert.deepEqual([...directories], ['/data/claude-workspace']);
});

test('the Minikube docker-socket overlay is labelled as such and brings back the socket, its group and the docker runtime', { skip: noKubectl }, () => {
  const directory = path.join(ROOT, 'kubernetes-minikube-docker');
  assert.match(readFileSync(path.join(directory, 'kustomization.yaml'), 'utf8'), /^# MINIKUBE ONLY/);
  const rendered = parseDocuments(execFileSync('kubectl', ['kustomize', directory], { encoding: 'utf8', timeout: 60_000 }), 'overlay');
  const pod = find(rendered, 'Deployment', 'backend', 'orchestrator')['spec'].template.spec;
  assert.ok((pod.volumes as K8sObject[]).some((volume) => volume['hostPath']?.path === '/var/run/docker.sock'));
  assert.deepEqual(pod.securityContext.supplementalGroups, [999]);
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(find(rendered, 'ConfigMap', 'backend', 'workspace-config')['data'].AGENT_RUNTIME, 'docker');
  assert.equal(find(rendered, 'ConfigMap', 'backend', 'workspace-config')['data'].WORKSPACE_PATH, '/data/claude-workspace');
  assert.equal(find(rendered, 'Namespace', undefined, 'backend').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  assert.deepEqual(find(rendered, 'RoleBinding', 'agents', 'orchestrator')['subjects'], [], 'no Kubernetes rights for the docker runtime');
});

test('only the frontend namespace reaches the orchestrator, and each namespace denies everything else by default', () => {
  for (const namespace of ['backend', 'frontend']) {
    const deny = find(objects, 'NetworkPolicy', namespace, 'default-deny-all');
    assert.deepEqual(deny['spec'], { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  }
  const policy = find(objects, 'NetworkPolicy', 'backend', 'orchestrator');
  assert.ok(selects(policy['spec'].podSelector.matchLabels, orchestrator['spec'].template.metadata.labels));
  assert.deepEqual(policy['spec'].ingress, [
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'frontend' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    },
  ]);
  assert.ok(selects({ 'app.kubernetes.io/name': 'frontend' }, frontend['spec'].template.metadata.labels));
  const frontendPolicy = find(objects, 'NetworkPolicy', 'frontend', 'frontend');
  const egressToBackend = (frontendPolicy['spec'].egress as K8sObject[]).find((rule) =>
    (rule['to'] as K8sObject[] | undefined)?.some((peer) => peer['namespaceSelector']?.matchLabels?.['kubernetes.io/metadata.name'] === 'backend'),
  );
  assert.deepEqual(egressToBackend?.['ports'], [{ protocol: 'TCP', port: 8080 }]);
});

test('each deployment has a PodDisruptionBudget that keeps one of its pods', () => {
  for (const deployment of deployments) {
    const budget = find(objects, 'PodDisruptionBudget', deployment.metadata.namespace, deployment.metadata.name);
    assert.equal(budget['spec'].minAvailable, 1);
    assert.ok(selects(budget['spec'].selector.matchLabels, deployment['spec'].template.metadata.labels));
  }
});

test('deploy.sh --render-only --docker-socket sets the docker socket group and the image tags, and reads no secret', { skip: noKubectl }, () => {
  const output = execFileSync('bash', [path.join(ROOT, 'scripts', 'deploy.sh'), '--render-only', '--docker-socket', '--docker-gid', '4242'], {
    encoding: 'utf8',
    env: { ...process.env, ORCHESTRATOR_IMAGE: 'orchestrator:abc123', FRONTEND_IMAGE: 'frontend:def456', ANTHROPIC_API_KEY: FAKE_KEY },
    timeout: 60_000,
  });
  const rendered = parseDocuments(output, 'deploy.sh --render-only');
  const backendPods = find(rendered, 'Deployment', 'backend', 'orchestrator')['spec'].template;
  assert.deepEqual(backendPods.spec.securityContext.supplementalGroups, [4242]);
  assert.equal(backendPods.spec.containers[0].image, 'orchestrator:abc123');
  assert.equal(find(rendered, 'Deployment', 'frontend', 'frontend')['spec'].template.spec.containers[0].image, 'frontend:def456');
  assert.ok(backendPods.metadata.annotations['multiclaude/secrets-checksum']);
  assert.doesNotMatch(output, new RegExp(FAKE_KEY));
  assert.equal(rendered.length, objects.length);
});

test("deploy.sh --runtime-class puts the agents' pods under that RuntimeClass (KUBERNETES_RUNTIME_CLASS) and rolls the orchestrator out when it changes", { skip: noKubectl }, () => {
  const deploy = (...args: string[]) =>
    spawnSync('bash', [path.join(ROOT, 'scripts', 'deploy.sh'), '--render-only', ...args], { encoding: 'utf8', env: process.env, timeout: 60_000 });
  const rendered = parseDocuments(deploy('--runtime-class', 'no-network').stdout, 'deploy.sh --render-only --runtime-class');
  assert.equal(find(rendered, 'ConfigMap', 'backend', 'workspace-config')['data'].KUBERNETES_RUNTIME_CLASS, 'no-network');
  assert.equal(find(rendered, 'Deployment', 'backend', 'orchestrator')['spec'].template.metadata.annotations['multiclaude/runtime-class'], 'no-network');
  assert.equal(find(objects, 'ConfigMap', 'backend', 'workspace-config')['data'].KUBERNETES_RUNTIME_CLASS, undefined, "by default the cluster's own runtime");
  const bad = deploy('--runtime-class', 'Not_A_Name');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--runtime-class must be a RuntimeClass name/);
  assert.equal(bad.stdout, '', 'nothing rendered');
  const withSocket = deploy('--runtime-class', 'gvisor', '--docker-socket', '--docker-gid', '1');
  assert.match(withSocket.stderr, /--runtime-class is for agents as pods/);
});

const postgres = find(objects, 'StatefulSet', 'backend', 'postgres');

test('PostgreSQL runs as a StatefulSet with its own claim, its password from a mounted Secret, hardened like every pod', () => {
  assert.equal(postgres['spec'].replicas, 1);
  assert.equal(postgres['spec'].serviceName, 'postgres');
  const [claim] = postgres['spec'].volumeClaimTemplates as K8sObject[];
  assert.equal(claim!['metadata'].name, 'data');
  assert.deepEqual(claim!['spec'].accessModes, ['ReadWriteOnce']);
  assert.ok(claim!['spec'].resources.requests.storage);
  const pod = postgres['spec'].template.spec;
  const main = pod.containers[0] as K8sObject;
  assert.equal(main['image'], KUBECTL ? 'multiclaude-postgres:latest' : 'multiclaude-postgres');
  assert.equal(main['imagePullPolicy'], 'IfNotPresent');
  const mounts = new Map((main['volumeMounts'] as K8sObject[]).map((mount) => [mount['name'] as string, mount['mountPath'] as string]));
  assert.equal(mounts.get('data'), '/var/lib/postgresql/data');
  const variables = new Map((main['env'] as K8sObject[]).map((variable) => [variable['name'] as string, variable['value']]));
  assert.ok(String(variables.get('PGDATA')).startsWith('/var/lib/postgresql/data/'), 'PGDATA inside the claim');
  assert.equal(variables.get('POSTGRES_PASSWORD_FILE'), '/etc/postgres-credentials/POSTGRES_PASSWORD', 'the password is a file, not a variable');
  const credentials = (pod.volumes as K8sObject[]).find((volume) => volume['name'] === 'credentials');
  assert.equal(credentials?.['secret'].secretName, 'postgres-credentials');
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.equal(main[probe].exec.command[0], 'pg_isready', probe);
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser >= 10000);
  assert.deepEqual(main['securityContext'], { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } });
  assert.ok(mounts.has('tmp') && mounts.get('run') === '/var/run/postgresql', 'writable dirs on the read-only root');
  const service = find(objects, 'Service', 'backend', 'postgres');
  assert.ok(selects(service['spec'].selector, postgres['spec'].template.metadata.labels));
  assert.deepEqual(service['spec'].ports, [{ name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' }]);
});

test('the orchestrator replicas reach the run store through DATABASE_URL from the Secret, and the network policies let only them', () => {
  assert.deepEqual(environment(orchestrator).get('DATABASE_URL')?.['valueFrom'], {
    secretKeyRef: { name: 'postgres-credentials', key: 'DATABASE_URL' },
  });
  const database = find(objects, 'NetworkPolicy', 'backend', 'postgres');
  assert.ok(selects(database['spec'].podSelector.matchLabels, postgres['spec'].template.metadata.labels));
  assert.deepEqual(database['spec'].policyTypes, ['Ingress', 'Egress'], 'the database itself reaches nothing');
  assert.deepEqual(database['spec'].ingress, [
    { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'orchestrator' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
  ]);
  assert.ok(selects({ 'app.kubernetes.io/name': 'orchestrator' }, orchestrator['spec'].template.metadata.labels));
  const egress = find(objects, 'NetworkPolicy', 'backend', 'orchestrator')['spec'].egress as K8sObject[];
  const toDatabase = egress.find((rule) => (rule['to'] as K8sObject[] | undefined)?.some((peer) => peer['podSelector']?.matchLabels?.['app.kubernetes.io/name'] === 'postgres'));
  assert.deepEqual(toDatabase?.['ports'], [{ protocol: 'TCP', port: 5432 }]);
});
