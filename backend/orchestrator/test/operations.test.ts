// GET /diagnostics and GET /test-docker answer JSON with the real Docker engine, without one, and when a check hangs or throws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { registerOperationsRoutes, type OperationsDependencies } from '../src/http/operations-routes.ts';
import { TEST_CONTAINER_LABEL } from '../src/diagnostics/test-docker.ts';
import { loadConfig } from '../src/config.ts';
import type { SandboxRuntime } from '../src/sandboxes/runtime.ts';
import { DockerRuntime } from '../src/sandboxes/docker.ts';
import { memoryLogger } from './support/harness.ts';
import { skipUnlessRequired } from './support/required.ts';
import { dockerUnavailable } from './support/docker.ts';

const IMAGE = 'claude-mcp:latest';
// The answers are checked field by field below; a loose type keeps that readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const skipDocker = skipUnlessRequired(dockerUnavailable(IMAGE));
if (skipDocker) console.log(`# Docker-backed operations tests skipped: ${skipDocker}`);

let scratch: string;
const claudeExecutable = loadConfig({ HOME: os.tmpdir() }).claudeExecutable;

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-ops-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The real Docker runtime, whose diagnostics run `dockerCommand`. */
function dockerRuntime(dockerCommand = 'docker'): DockerRuntime {
  const { sandbox } = loadConfig({ HOME: os.tmpdir() });
  return new DockerRuntime({
    image: IMAGE,
    workspaceLocal: path.join(scratch, 'workspace'),
    workspacePath: path.join(scratch, 'workspace'),
    memory: sandbox.memory,
    cpus: sandbox.cpus,
    pidsLimit: sandbox.pidsLimit,
    uidRange: sandbox.uidRange,
    dockerCommand,
    logger: memoryLogger().logger,
  });
}

/** A runtime whose own check is scripted and whose diagnostics are those of `diagnosticsOf` (none by default). */
function fakeRuntime(
  name: 'local' | 'docker',
  check: SandboxRuntime['check'] = async () => ({ ok: true, detail: 'fine' }),
  diagnosticsOf?: DockerRuntime,
): OperationsDependencies['runtime'] {
  return { name, check, diagnostics: () => diagnosticsOf?.diagnostics() ?? {} };
}

function appWith(overrides: Partial<OperationsDependencies> = {}): Hono {
  const app = new Hono();
  registerOperationsRoutes(app, {
    runtime: fakeRuntime('docker', undefined, dockerRuntime(overrides.dockerCommand)),
    dockerImage: IMAGE,
    workspaceLocal: path.join(scratch, 'workspace'),
    logDirectory: path.join(scratch, 'logs'),
    claudeExecutable,
    startedAt: new Date(Date.now() - 65_000),
    runsInFlight: () => 3,
    logger: memoryLogger().logger,
    ...overrides,
  });
  return app;
}

/** A stand-in `docker` CLI: answers `version`, then does what `script` says for the other commands, logging each call. */
async function fakeDocker(name: string, script: string): Promise<{ command: string; calls: () => Promise<string> }> {
  const command = path.join(scratch, name);
  const log = `${command}.calls`;
  await writeFile(log, '');
  await writeFile(command, `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1" in\n  version) echo 28.2.2 ;;\n${script}\nesac\n`);
  await chmod(command, 0o755);
  return { command, calls: () => readFile(log, 'utf8') };
}

test('diagnostics report the engine, image, workspace, disk, git, claude, uptime and runs in flight as JSON', { skip: skipDocker }, async () => {
  const response = await appWith().request('/diagnostics');
  assert.equal(response.status, 200);
  const body: Json = await response.json();
  assert.equal(body.runs_in_flight, 3);
  assert.ok(body.uptime_seconds >= 65 && body.uptime_seconds < 120);
  assert.deepEqual(body.runtime, { name: 'docker' });
  const { checks } = body;
  assert.deepEqual(Object.keys(checks).sort(), ['claude', 'disk', 'docker_engine', 'git', 'logs', 'mcp_image', 'records', 'runtime', 'workspace']);
  for (const [name, check] of Object.entries(checks) as Array<[string, { status: string; duration_ms: number }]>) {
    // A nearly full disk on the test machine is a warning, which is the check doing its job.
    if (name === 'disk') assert.match(check.status, /^(ok|warning)$/);
    else assert.equal(check.status, 'ok', `${name}: ${JSON.stringify(check)}`);
    assert.equal(typeof check.duration_ms, 'number', name);
  }
  assert.match(checks.docker_engine.version, /^\d+\.\d+/);
  assert.equal(checks.mcp_image.present, true);
  assert.match(checks.mcp_image.id, /^[0-9a-f]{12}$/);
  assert.deepEqual([checks.workspace.path, checks.workspace.writable], [path.join(scratch, 'workspace'), true]);
  assert.ok(checks.disk.free_bytes > 0 && checks.disk.total_bytes >= checks.disk.free_bytes);
  assert.match(checks.git.version, /^git version /);
  assert.match(checks.claude.version, /Claude Code/);
  assert.equal(checks.claude.agent_scheduling, 'SCHED_IDLE, niceness +10', 'how agents yield to the API here');
});

test('without a Docker engine, diagnostics still answer 200 with the Docker checks failing and the rest ok', async () => {
  const response = await appWith({ dockerCommand: path.join(scratch, 'no-such-docker') }).request('/diagnostics');
  assert.equal(response.status, 200);
  const body: Json = await response.json();
  assert.equal(body.status, 'degraded');
  assert.equal(body.checks.docker_engine.status, 'error');
  assert.equal(body.checks.docker_engine.reachable, false);
  assert.match(body.checks.docker_engine.error, /Docker engine not reachable/);
  assert.equal(body.checks.mcp_image.status, 'error');
  assert.match(body.checks.mcp_image.error, /cannot tell: Docker engine not reachable/);
  for (const name of ['workspace', 'git', 'claude', 'logs', 'runtime']) assert.equal(body.checks[name].status, 'ok', name);
});

test('with the local runtime, an absent Docker engine is reported but does not make the orchestrator degraded', async () => {
  const app = appWith({
    runtime: fakeRuntime('local'),
    otherRuntimes: [dockerRuntime(path.join(scratch, 'no-such-docker'))],
    runtimeReason: 'AGENT_RUNTIME=local',
  });
  const body: Json = await (await app.request('/diagnostics')).json();
  assert.equal(body.status, body.checks.disk.status === 'ok' ? 'ok' : 'degraded');
  assert.deepEqual(body.runtime, { name: 'local', reason: 'AGENT_RUNTIME=local' });
  assert.equal(body.checks.docker_engine.status, 'error');
});

test('a hanging check times out on its own, and a throwing one is its own error, while the endpoint answers', async () => {
  const hanging = await fakeDocker('hanging-docker', '  *) exec sleep 5 ;;');
  const hangingVersion = path.join(scratch, 'hanging-version');
  await writeFile(hangingVersion, '#!/bin/sh\nexec sleep 5\n');
  await chmod(hangingVersion, 0o755);
  const app = appWith({
    dockerCommand: hanging.command,
    gitCommand: hangingVersion,
    checkTimeoutMs: 300,
    runtime: fakeRuntime(
      'docker',
      async () => {
        throw new Error('runtime check exploded');
      },
      dockerRuntime(hanging.command),
    ),
    runsInFlight: () => {
      throw new Error('no count');
    },
  });
  const started = Date.now();
  const response = await app.request('/diagnostics');
  assert.ok(Date.now() - started < 3_000, 'the report does not wait for a hung command');
  assert.equal(response.status, 200);
  const body: Json = await response.json();
  assert.equal(body.checks.docker_engine.status, 'ok');
  assert.match(body.checks.mcp_image.error, /timed out/);
  assert.match(body.checks.git.error, /timed out/);
  assert.deepEqual([body.checks.runtime.status, body.checks.runtime.error], ['error', 'runtime check exploded']);
  assert.equal(body.checks.claude.status, 'ok');
  assert.equal(body.runs_in_flight, null);
});

test('test-docker runs a throwaway network-less container from the MCP image and leaves nothing behind', { skip: skipDocker }, async () => {
  const response = await appWith().request('/test-docker');
  assert.equal(response.status, 200);
  const body: Json = await response.json();
  assert.equal(body.success, true, body.error);
  assert.equal(body.image, IMAGE);
  assert.match(body.output, /^sandbox ok: user agent \(\d+\), Linux /);
  assert.match(body.output, /Claude Code/);
  assert.ok(body.duration_ms > 0);
  const left = execFileSync('docker', ['ps', '--all', '--quiet', '--filter', `label=${TEST_CONTAINER_LABEL}=true`], { encoding: 'utf8' });
  assert.equal(left.trim(), '');
});

test('test-docker answers 503 with a clear JSON error when Docker is not available', async () => {
  const response = await appWith({ dockerCommand: path.join(scratch, 'no-such-docker') }).request('/test-docker');
  assert.equal(response.status, 503);
  const body: Json = await response.json();
  assert.equal(body.success, false);
  assert.equal(body.docker_available, false);
  assert.match(body.error, /^Docker is not available: the engine does not answer/);
  assert.equal(typeof body.duration_ms, 'number');
});

test('test-docker answers 503 naming the image when the MCP image is missing', { skip: skipDocker }, async () => {
  const response = await appWith({ dockerImage: 'multiclaude-no-such-image:never' }).request('/test-docker');
  assert.equal(response.status, 503);
  const body: Json = await response.json();
  assert.equal(body.docker_available, true);
  assert.match(body.error, /multiclaude-no-such-image:never is missing/);
});

test('a test container that outlives its timeout is reported as failed and force-removed', async () => {
  const slow = await fakeDocker('slow-docker', '  run) exec sleep 5 ;;\n  rm) exit 0 ;;');
  const response = await appWith({ dockerCommand: slow.command, testDockerTimeoutMs: 300 }).request('/test-docker');
  assert.equal(response.status, 500);
  const body: Json = await response.json();
  assert.equal(body.success, false);
  assert.match(body.error, /the test container failed: .*timed out/);
  const calls = (await slow.calls()).split('\n');
  const run = calls.find((line) => line.startsWith('run '));
  assert.ok(run, 'docker run was called');
  for (const flag of ['--rm', '--network none', '--pull never', '--read-only', '--cap-drop ALL']) assert.ok(run.includes(flag), flag);
  const name = /--name (\S+)/.exec(run)?.[1];
  assert.ok(calls.includes(`rm --force ${name}`), `the container ${name} is force-removed`);
});
