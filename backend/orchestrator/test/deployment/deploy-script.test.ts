// scripts/deploy.sh end to end against stand-ins for minikube, docker and the cluster side of kubectl
// (no cluster runs here): what it loads, the secrets it creates, the manifests it applies (rendered by
// the real `kubectl kustomize` / `kubectl create --dry-run=client`), and that no secret is on a command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, find, hasCommand, parseDocuments } from './manifests.ts';

const KEY = 'sk-' + 'ant-test-key-never-on-argv';
const TOKEN = 'token-from-the-environment';
const IMAGE_ID = 'sha256:0123456789abcdef0123456789abcdef';

function stub(directory: string, name: string, body: string): void {
  writeFileSync(path.join(directory, name), `#!/bin/bash\necho "${name} $*" >>"$STUB_LOG"\n${body}\n`);
  chmodSync(path.join(directory, name), 0o755);
}

function deployWithStubs(t: { after(fn: () => void): void }, args: string[], environment: Record<string, string>) {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'multiclaude-deploy-stubs-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const realKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  stub(
    directory,
    'minikube',
    `case "$1 $*" in
  status*) exit 0 ;;
  *"stat -c %g"*) echo 4242 ;;
  ssh*) echo yes ;;
  *"service"*) echo http://192.0.2.10:30080 ;;
esac`,
  );
  stub(directory, 'docker', `case "$1" in image) [ "$3" = --format ] && echo ${IMAGE_ID}; exit 0 ;; *) exit 0 ;; esac`);
  stub(
    directory,
    'kubectl',
    `case "$1" in
  create) exec ${realKubectl} "$@" ;;
  get) exit 1 ;;
  apply) if [ "$2" = -k ]; then ${realKubectl} kustomize "$3" >"$STUB_DIR/applied.yaml"; elif [ "$3" = - ]; then cat >>"$STUB_DIR/secrets.yaml"; echo --- >>"$STUB_DIR/secrets.yaml"; fi ;;
  *) exit 0 ;;
esac`,
  );
  const result = spawnSync('/bin/bash', [path.join(ROOT, 'scripts', 'deploy.sh'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${directory}:${process.env['PATH']}`, STUB_LOG: path.join(directory, 'calls.log'), STUB_DIR: directory, ...environment },
  });
  const read = (name: string) => (existsSync(path.join(directory, name)) ? readFileSync(path.join(directory, name), 'utf8') : '');
  return { result, calls: read('calls.log'), applied: read('applied.yaml'), secrets: read('secrets.yaml') };
}

const skip = hasCommand('kubectl') ? false : 'kubectl is not installed (the stand-in renders with the real one)';

test('deploy.sh --docker-socket applies the Minikube-only overlay with the node docker group and the docker runtime', { skip }, (t) => {
  const { result, calls, applied } = deployWithStubs(t, ['--skip-build', '--docker-socket'], { ANTHROPIC_API_KEY: KEY, ORCHESTRATOR_TOKEN: TOKEN });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /MINIKUBE-ONLY overlay kubernetes-minikube-docker\/: the orchestrator gets the node's docker socket/);
  assert.match(calls, /minikube ssh --profile minikube -- stat -c %g \/var\/run\/docker\.sock/);
  const rendered = parseDocuments(applied, 'applied overlay');
  const orchestrator = find(rendered, 'Deployment', 'backend', 'orchestrator')['spec'].template;
  assert.deepEqual(orchestrator.spec.securityContext.supplementalGroups, [4242]);
  assert.ok(orchestrator.spec.volumes.some((volume: { hostPath?: { path: string } }) => volume.hostPath?.path === '/var/run/docker.sock'));
  assert.equal(find(rendered, 'ConfigMap', 'backend', 'workspace-config')['data'].AGENT_RUNTIME, 'docker');
});

test('deploy.sh loads the images under their content tag, creates both secrets and applies kubernetes/ with no docker socket', { skip }, (t) => {
  const { result, calls, applied, secrets } = deployWithStubs(t, ['--skip-build'], { ANTHROPIC_API_KEY: KEY, ORCHESTRATOR_TOKEN: TOKEN });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  for (const image of ['claude-mcp:latest', 'orchestrator:0123456789ab', 'frontend:0123456789ab', 'multiclaude-postgres:0123456789ab']) {
    assert.match(calls, new RegExp(`minikube image load --profile minikube ${image}`), image);
  }
  assert.doesNotMatch(calls, /docker\.sock/, 'the node docker socket is neither checked nor read');
  const rendered = parseDocuments(applied, 'applied overlay');
  const orchestrator = find(rendered, 'Deployment', 'backend', 'orchestrator')['spec'].template;
  assert.equal(orchestrator.spec.securityContext.supplementalGroups, undefined);
  assert.doesNotMatch(applied, /docker\.sock/);
  assert.equal(find(rendered, 'ConfigMap', 'backend', 'workspace-config')['data'].AGENT_RUNTIME, 'kubernetes');
  assert.equal(orchestrator.spec.containers[0].image, 'orchestrator:0123456789ab');
  assert.match(orchestrator.metadata.annotations['multiclaude/secrets-checksum'], /^[0-9a-f]{16}$/);
  assert.equal(find(rendered, 'Deployment', 'frontend', 'frontend')['spec'].template.spec.containers[0].image, 'frontend:0123456789ab');
  assert.equal(find(rendered, 'StatefulSet', 'backend', 'postgres')['spec'].template.spec.containers[0].image, 'multiclaude-postgres:0123456789ab');

  const created = parseDocuments(secrets, 'secrets');
  const value = (namespace: string, name: string, key: string) =>
    Buffer.from(find(created, 'Secret', namespace, name)['data'][key], 'base64').toString('utf8');
  assert.equal(value('backend', 'anthropic-api-key', 'ANTHROPIC_API_KEY'), KEY);
  assert.equal(value('backend', 'orchestrator-token', 'ORCHESTRATOR_TOKEN'), TOKEN);
  assert.equal(value('frontend', 'orchestrator-token', 'ORCHESTRATOR_TOKEN'), TOKEN);
  const password = value('backend', 'postgres-credentials', 'POSTGRES_PASSWORD');
  assert.match(password, /^[0-9a-f]{48}$/, 'a random database password, made once');
  assert.equal(value('backend', 'postgres-credentials', 'DATABASE_URL'), `postgres://multiclaude:${password}@postgres.backend.svc.cluster.local:5432/multiclaude`);
  assert.doesNotMatch(calls, new RegExp(`${KEY}|${TOKEN}|${password}`), 'no secret on any command line');
  assert.match(calls, /kubectl rollout status deployment\/orchestrator -n backend/);
  assert.match(calls, /kubectl rollout status deployment\/frontend -n frontend/);
  assert.match(result.stdout, /deployed\. Open http:\/\/192\.0\.2\.10:30080/);
});

test('deploy.sh --demo deletes any API key secret and still generates a shared token when none exists', { skip }, (t) => {
  const { result, calls, secrets } = deployWithStubs(t, ['--skip-build', '--demo'], { ANTHROPIC_API_KEY: '', ORCHESTRATOR_TOKEN: '' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(calls, /kubectl delete secret anthropic-api-key -n backend --ignore-not-found/);
  const created = parseDocuments(secrets, 'secrets');
  assert.ok(!created.some((object) => object.metadata.name === 'anthropic-api-key'));
  const tokens = ['backend', 'frontend'].map((namespace) =>
    Buffer.from(find(created, 'Secret', namespace, 'orchestrator-token')['data'].ORCHESTRATOR_TOKEN, 'base64').toString('utf8'),
  );
  assert.match(tokens[0]!, /^[0-9a-f]{64}$/, 'a random 256-bit token');
  assert.equal(tokens[0], tokens[1], 'the frontend gets the same token as the orchestrator');
  assert.match(result.stdout, /generated a new orchestrator token/);
});
