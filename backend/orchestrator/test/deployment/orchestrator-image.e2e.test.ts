// The deployment topology with the real Docker engine: the orchestrator image runs as a container
// (non-root, read-only root, no capabilities) with the docker socket and a host directory mounted at
// WORKSPACE_LOCAL=/workspace while WORKSPACE_PATH names the host path, as in Minikube, and runs agents in
// MCP containers started through that socket; the frontend image in front of it, as in the cluster.
// Skips when the engine or an image is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OrchestrateResponseSchema } from '@multiclaude/contract';
import { filesChangedOn, gitIn } from '../support/git-inspect.ts';
import { skipUnlessRequired } from '../support/required.ts';
import { fetchWithin } from '../support/fetch-within.ts';

const IMAGE = process.env['ORCHESTRATOR_IMAGE'] ?? 'orchestrator:latest';
const FRONTEND_IMAGE = process.env['FRONTEND_IMAGE'] ?? 'frontend:latest';
const MCP_IMAGE = process.env['DOCKER_MCP_IMAGE'] ?? 'claude-mcp:latest';
const SOCKET = '/var/run/docker.sock';
const TOKEN = 'deployment-test-token';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function skipReason(): string | undefined {
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status !== 0) return 'no Docker engine answers `docker info`';
  for (const image of [IMAGE, MCP_IMAGE]) {
    if (spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore', timeout: 15_000 }).status !== 0) {
      return `image ${image} is missing (npm run build:images)`;
    }
  }
  return undefined;
}

const skip = skipUnlessRequired(skipReason());
if (skip) console.log(`# orchestrator image tests skipped: ${skip}`);
const skipFrontend =
  skip ??
  skipUnlessRequired(spawnSync('docker', ['image', 'inspect', FRONTEND_IMAGE], { stdio: 'ignore', timeout: 15_000 }).status === 0 ? undefined : `image ${FRONTEND_IMAGE} is missing`);

let network = '';
let container = '';
let frontendContainer = '';
let baseUrl = '';
let hostWorkspace = '';

async function waitFor(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetchWithin(url, 5_000);
      if (response.ok) return response;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${url} did not answer 200 in ${timeoutMs} ms: ${last}\n${docker('logs', '--tail', '30', container)}`);
}

before(async () => {
  if (skip) return;
  // A host path unlike /workspace, so a sandbox mounted from WORKSPACE_LOCAL instead would find nothing.
  hostWorkspace = mkdtempSync(path.join(os.tmpdir(), 'multiclaude-deploy-ws-'));
  const asRoot = process.getuid?.() === 0;
  // As root the directory is handed to the image's uid, as `minikube mount --uid 10001` presents it;
  // otherwise the container runs as this user, still non-root.
  if (asRoot) chownSync(hostWorkspace, 10001, 10001);
  const user = asRoot ? [] : ['--user', `${process.getuid?.()}:${process.getgid?.()}`];
  container = `multiclaude-deploy-test-${process.pid}`;
  // The frontend finds the orchestrator by its Service's name, as in the cluster.
  network = docker('network', 'create', container);
  docker(
    'run', '--detach', '--name', container, '--init',
    '--network', network, '--network-alias', 'orchestrator-service',
    '--publish', '127.0.0.1::8080',
    '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/home/orchestrator:uid=10001,gid=10001,mode=0777',
    '--tmpfs', '/var/log/orchestrator:uid=10001,gid=10001,mode=0777',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    // The image's own HEALTHCHECK command, checked every 2 s instead of 30 s.
    '--health-interval', '2s',
    '--volume', `${SOCKET}:${SOCKET}`, '--group-add', String(statSync(SOCKET).gid),
    '--volume', `${hostWorkspace}:/workspace`,
    '--env', `WORKSPACE_PATH=${hostWorkspace}`, '--env', 'AGENT_RUNTIME=docker',
    '--env', `DOCKER_MCP_IMAGE=${MCP_IMAGE}`, '--env', `ORCHESTRATOR_TOKEN=${TOKEN}`,
    ...user,
    IMAGE,
  );
  const published = docker('port', container, '8080/tcp').split('\n')[0] ?? '';
  baseUrl = `http://${published.replace('0.0.0.0', '127.0.0.1')}`;
});

after(() => {
  for (const name of [frontendContainer, container]) {
    if (name) spawnSync('docker', ['rm', '--force', name], { stdio: 'ignore', timeout: 60_000 });
  }
  if (network) spawnSync('docker', ['network', 'rm', network], { stdio: 'ignore', timeout: 60_000 });
  if (hostWorkspace) rmSync(hostWorkspace, { recursive: true, force: true });
});

test('the orchestrator image runs non-root with git and the docker client, and reports healthy', { skip }, async () => {
  await waitFor(`${baseUrl}/health`, 60_000);
  assert.equal(docker('exec', container, 'id', '-u') === '0', false, 'not root');
  assert.match(docker('exec', container, 'git', '--version'), /^git version/);
  assert.match(docker('exec', container, 'docker', 'version', '--format', '{{.Server.Version}}'), /\d/, 'the client reaches the engine through the socket');
  const deadline = Date.now() + 60_000;
  let health = '';
  while (Date.now() < deadline && health !== 'healthy') {
    health = docker('inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', container);
    if (health !== 'healthy') await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  assert.equal(health, 'healthy', 'the image HEALTHCHECK passes');
});

test('/ready inside the container picks the docker runtime with the MCP image and a writable workspace', { skip }, async () => {
  const ready = (await (await waitFor(`${baseUrl}/ready`, 60_000)).json()) as { runtime: string; checks: Record<string, { ok: boolean; detail: string }> };
  assert.equal(ready.runtime, 'docker');
  assert.equal(ready.checks['workspace']?.ok, true);
  assert.match(ready.checks['runtime']?.detail ?? '', new RegExp(MCP_IMAGE.replace(/[.:]/g, '\\$&')));
});

test('a 2-agent run in the container commits through sandboxes started via the socket, and the commits land on the host', { skip, timeout: 240_000 }, async () => {
  const unauthorized = await fetchWithin(`${baseUrl}/orchestrate`, 30_000, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(unauthorized.status, 401, 'the API wants ORCHESTRATOR_TOKEN');
  const response = await fetchWithin(`${baseUrl}/orchestrate`, 200_000, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ prompt: 'Build a digital clock.', agent_count: 2 }),
  });
  assert.equal(response.status, 200);
  const body = OrchestrateResponseSchema.parse(await response.json());
  assert.deepEqual(body.summary, { total_agents: 2, successful: 2, failed: 0 }, JSON.stringify(body.results.map((result) => result.error)));
  // Read on the host, at the path the Docker engine was given: the mismatch is bridged.
  const runDirectory = path.join(hostWorkspace, body.run_info.run_dir);
  for (const agentId of [1, 2]) {
    assert.deepEqual(filesChangedOn(runDirectory, `agent-${agentId}`), [`agent-${agentId}.md`]);
    assert.equal(gitIn(runDirectory, 'log', '-1', '--format=%s', `agent-${agentId}`), `Agent ${agentId}: add agent-${agentId}.md`);
  }
  const left = docker('ps', '--all', '--format', '{{.Names}}', '--filter', `label=multiclaude.run_id=${body.run_info.run_id}`);
  assert.equal(left, '', 'no sandbox container is left after the run');
});

test('the frontend image serves the page and reaches the orchestrator by its service name with the shared token', { skip: skipFrontend, timeout: 180_000 }, async () => {
  frontendContainer = `${container}-frontend`;
  docker(
    'run', '--detach', '--name', frontendContainer, '--init', '--network', network,
    '--publish', '127.0.0.1::3000',
    '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--env', 'ORCHESTRATOR_URL=http://orchestrator-service:8080', '--env', `ORCHESTRATOR_TOKEN=${TOKEN}`,
    FRONTEND_IMAGE,
  );
  assert.notEqual(docker('exec', frontendContainer, 'id', '-u'), '0', 'not root');
  const frontendUrl = `http://${docker('port', frontendContainer, '3000/tcp').split('\n')[0]}`;
  const page = await waitFor(`${frontendUrl}/`, 60_000);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  // POST /submit needs the orchestrator's token, which only the frontend's server holds.
  const submitted = await fetchWithin(`${frontendUrl}/submit`, 30_000, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ prompt: 'Build a digital clock.', agent_count: 2 }),
  });
  assert.equal(submitted.status, 202, await submitted.clone().text());
  const { run_id: runId } = (await submitted.json()) as { run_id: string };
  const deadline = Date.now() + 150_000;
  let status = '';
  while (Date.now() < deadline && !['completed', 'failed', 'cancelled', 'interrupted'].includes(status)) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    status = ((await (await fetchWithin(`${frontendUrl}/api/runs/${runId}`, 15_000)).json()) as { status: string }).status;
  }
  assert.equal(status, 'completed');
});
