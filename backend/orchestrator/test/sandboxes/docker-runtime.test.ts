// Tests of the docker runtime against the real Docker engine and MCP image: hardening, git inside the container, errors, clean-up.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { DockerRuntime, describeContainerState, type DockerSandbox } from '../../src/sandboxes/docker.ts';
import { SandboxError } from '../../src/sandboxes/runtime.ts';
import { WorkspaceLayout } from '../../src/workspace/layout.ts';
import { createRunId } from '../../src/workspace/run-id.ts';
import { importAgentWork } from '../../src/git/agent-import.ts';
import { createRunRepository } from '../../src/git/run-repository.ts';
import { skipUnlessRequired } from '../support/required.ts';

const IMAGE = process.env['DOCKER_MCP_IMAGE'] ?? 'claude-mcp:latest';
const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

/** Why docker tests cannot run here, or undefined when they can. */
async function dockerUnavailableReason(): Promise<string | undefined> {
  const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 });
  if (info.failed) return `no Docker engine (docker info: ${String(info.stderr || info.shortMessage || 'failed').split('\n')[0]})`;
  const image = await execa('docker', ['image', 'inspect', IMAGE], { reject: false, timeout: 15_000 });
  if (image.failed) return `image ${IMAGE} missing: run npm run build:images`;
  return undefined;
}

let skipReason: string | undefined;
let root = '';
/** Where the engine sees the workspace (WORKSPACE_PATH): a real directory. */
let enginePath = '';
/** Where the orchestrator sees it (WORKSPACE_LOCAL): a symlink standing in for the minikube mount. */
let localPath = '';
const sandboxes: DockerSandbox[] = [];

before(async () => {
  skipReason = skipUnlessRequired(await dockerUnavailableReason());
  if (skipReason) console.log(`# docker runtime tests skipped: ${skipReason}`);
  root = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-docker-'));
  enginePath = path.join(root, 'engine-view');
  localPath = path.join(root, 'orchestrator-view');
  await mkdir(enginePath);
  await symlink(enginePath, localPath);
});

after(async () => {
  for (const sandbox of sandboxes) await sandbox.stop();
  await rm(root, { recursive: true, force: true });
});

function skipWithoutDocker(t: TestContext): boolean {
  if (!skipReason) return false;
  t.skip(skipReason);
  return true;
}

function runtime(overrides: Partial<ConstructorParameters<typeof DockerRuntime>[0]> = {}): DockerRuntime {
  const defaults = loadConfig({ HOME: os.tmpdir() }).sandbox;
  return new DockerRuntime({
    image: IMAGE,
    workspaceLocal: localPath,
    workspacePath: enginePath,
    memory: defaults.memory,
    cpus: defaults.cpus,
    pidsLimit: defaults.pidsLimit,
    uidRange: defaults.uidRange,
    dockerCommand: 'docker',
    logger,
    ...overrides,
  });
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execa('git', ['-c', 'safe.directory=*', ...args], { cwd, timeout: 30_000 });
  return stdout.trim();
}

/** A run repository like the orchestrator makes: main with one commit, one worktree and branch per agent. */
async function makeRun(agents: number) {
  const paths = new WorkspaceLayout(localPath).run(createRunId());
  await createRunRepository({ paths, prompt: 'test', agentCount: agents, createdAt: new Date() });
  return { runId: paths.runId, runDirectory: paths.directory, paths, worktree: (n: number) => paths.agent(n).worktree };
}

async function startSandbox(docker: DockerRuntime, run: Awaited<ReturnType<typeof makeRun>>, agentId: number): Promise<DockerSandbox> {
  const sandbox = await docker.start({ run: run.paths, agent: run.paths.agent(agentId), logger });
  sandboxes.push(sandbox);
  return sandbox;
}

/** A minimal MCP client over the sandbox's stdio command, spawned the way the SDK would (with a key in its env). */
function connect(sandbox: DockerSandbox) {
  const child = execa(sandbox.mcpServer.command, sandbox.mcpServer.args, {
    env: { ...sandbox.mcpServer.env, ANTHROPIC_API_KEY: 'sk-' + 'ant-must-not-leak' },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
  });
  const pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const message = JSON.parse(line) as { id?: number; result?: unknown; error?: unknown };
      if (typeof message.id === 'number') pending.get(message.id)?.(message);
    } catch {
      // not JSON-RPC: ignore
    }
  });
  let nextId = 1;
  const request = (method: string, params: unknown, timeoutMs = 60_000) =>
    new Promise<{ result?: unknown; error?: unknown }>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`MCP ${method} timed out`)), timeoutMs);
      pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  return {
    async initialize() {
      const response = await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '0' } });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      return response.result as { serverInfo: { name: string } };
    },
    async bash(command: string): Promise<string> {
      const response = await request('tools/call', { name: 'Bash', arguments: { command } });
      const content = (response.result as { content?: { text?: string }[] } | undefined)?.content ?? [];
      return content.map((item) => item.text ?? '').join('\n');
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await child;
      clearTimeout(timer);
    },
  };
}

async function inspect(name: string): Promise<Record<string, any> | undefined> {
  const result = await execa('docker', ['container', 'inspect', name], { reject: false, timeout: 15_000 });
  return result.failed ? undefined : (JSON.parse(result.stdout) as Record<string, any>[])[0];
}

test('check() reports the engine and the image when the image exists', async (t) => {
  if (skipWithoutDocker(t)) return;
  const check = await runtime().check();
  assert.equal(check.ok, true, check.detail);
  assert.match(check.detail, new RegExp(`image ${IMAGE.replace(/[.:]/g, '\\$&')}`));
});

test('a missing image fails check() and start() with an error that says to run npm run build:images', async (t) => {
  if (skipWithoutDocker(t)) return;
  const docker = runtime({ image: `multiclaude-missing-${randomUUID().slice(0, 8)}:none` });
  const check = await docker.check();
  assert.equal(check.ok, false);
  assert.match(check.detail, /missing.*npm run build:images/);
  const run = await makeRun(1);
  await assert.rejects(startSandbox(docker, run, 1), (error: unknown) => {
    assert.ok(error instanceof SandboxError);
    assert.equal(error.code, 'image_missing');
    assert.match(error.message, /npm run build:images/);
    return true;
  });
  assert.equal(await inspect(`multiclaude-${run.runId}-agent-1`), undefined);
});

test('an unreachable engine fails check() and start() with docker_unavailable', async (t) => {
  if (skipWithoutDocker(t)) return;
  const docker = runtime({ dockerCommand: path.join(root, 'no-such-docker') });
  const check = await docker.check();
  assert.equal(check.ok, false);
  assert.match(check.detail, /Docker engine not reachable/);
  const run = await makeRun(1);
  await assert.rejects(startSandbox(docker, run, 1), { name: 'SandboxError', code: 'docker_unavailable' });
});

test('a started sandbox answers MCP and is hardened: no network, non-root, limits, no API key; stop() removes it', async (t) => {
  if (skipWithoutDocker(t)) return;
  const run = await makeRun(1);
  const sandbox = await startSandbox(runtime({ memory: '1g', pidsLimit: 200 }), run, 1);
  assert.equal(sandbox.workingDirectory, '/workspace');
  const client = connect(sandbox);
  const initialized = await client.initialize();
  assert.ok(initialized.serverInfo.name, 'the MCP server answered initialize');

  const container = await inspect(sandbox.containerName);
  assert.ok(container, 'the container exists while the agent runs');
  assert.equal(container['State'].Running, true);
  assert.equal(container['HostConfig'].NetworkMode, 'none');
  const user = String(container['Config'].User);
  assert.ok(user !== '' && !/^(0|root)(:|$)/.test(user), `non-root user, got ${user}`);
  assert.equal(container['HostConfig'].Memory, 1024 ** 3);
  assert.equal(container['HostConfig'].PidsLimit, 200);
  assert.equal(container['HostConfig'].ReadonlyRootfs, true);
  assert.deepEqual(container['HostConfig'].CapDrop, ['ALL']);
  const environment = (container['Config'].Env as string[]).join('\n');
  assert.doesNotMatch(environment, /ANTHROPIC|sk-ant/);
  assert.doesNotMatch(await client.bash('env'), /ANTHROPIC|sk-ant/);
  assert.equal(container['Config'].Labels['multiclaude.run_id'], run.runId);
  // The mounts come from WORKSPACE_PATH, not from the orchestrator's symlinked WORKSPACE_LOCAL.
  for (const mount of container['Mounts'] as { Source: string }[]) {
    assert.ok(mount.Source.startsWith(`${enginePath}/`), mount.Source);
  }
  assert.match(await client.bash('getent hosts example.com || echo no-dns; cat /sys/class/net/*/operstate'), /no-dns/);

  await client.close();
  await sandbox.stop();
  await sandbox.stop(); // idempotent
  assert.equal(await inspect(sandbox.containerName), undefined, 'the container is gone after stop()');
});

test("a commit inside the container lands in the agent's own repository, and reaches the run's agent-1 only by the host's import", async (t) => {
  if (skipWithoutDocker(t)) return;
  const run = await makeRun(2);
  const base = await git(run.runDirectory, 'rev-parse', 'main');
  const sandbox = await startSandbox(runtime(), run, 1);
  const client = connect(sandbox);
  await client.initialize();
  const output = await client.bash(
    'cd /workspace && echo "from agent 1" > work.txt && git add -A && git commit -q -m "agent 1 work" && git branch --show-current',
  );
  assert.match(output, /agent-1/);
  const attempts = await client.bash(['ls /run-repo.git 2>&1', 'ls /workspace/../worktrees 2>&1', 'touch /usr/local/bin/x', 'true'].join('; '));
  // Nothing of the run repository or of other agents is in the container; its root is read-only.
  assert.equal(attempts.match(/No such file or directory/g)?.length, 2, attempts);
  assert.match(attempts, /Read-only file system|Permission denied/);
  await client.close();
  await sandbox.stop();
  assert.equal(await git(run.runDirectory, 'rev-parse', 'agent-1'), base, 'nothing moves in the run repository before the import');
  const imported = await importAgentWork(run.paths, run.paths.agent(1), { user: sandbox.user });
  await sandbox.release();
  assert.equal(imported.imported, true, JSON.stringify(imported));

  assert.equal(await git(run.runDirectory, 'log', '-1', '--format=%s', 'agent-1'), 'agent 1 work');
  assert.equal(await git(run.runDirectory, 'show', 'agent-1:work.txt'), 'from agent 1');
  assert.equal(await git(run.runDirectory, 'rev-parse', 'agent-2'), base, 'agent-2 is untouched');
  assert.equal(await git(run.runDirectory, 'rev-parse', 'main'), base, 'main is untouched');
  if (process.getuid?.() === 0) {
    const { uid, mode } = await stat(run.worktree(1));
    assert.equal(uid, 0, 'the repository is taken back from the sandbox user');
    assert.equal(mode & 0o777, 0o700);
  }
});

test('a sandbox whose processes run out of memory says so in describeExit()', async (t) => {
  if (skipWithoutDocker(t)) return;
  const run = await makeRun(1);
  const sandbox = await startSandbox(runtime({ memory: '300m' }), run, 1);
  const client = connect(sandbox);
  await client.initialize();
  await client.bash('python3 -c "b = bytearray(900 * 1024 * 1024)"; echo exit=$?');
  await client.close();
  await sandbox.stop();
  assert.match((await sandbox.describeExit()) ?? '', /ran out of memory.*limit 300m/);
});

test('a container killed under the agent is reported by describeExit(), and a normal end is not', async (t) => {
  if (skipWithoutDocker(t)) return;
  const run = await makeRun(2);
  const docker = runtime();
  const killed = await startSandbox(docker, run, 1);
  const normal = await startSandbox(docker, run, 2);
  for (const sandbox of [killed, normal]) {
    const client = connect(sandbox);
    await client.initialize();
    if (sandbox === killed) await execa('docker', ['kill', sandbox.containerName], { timeout: 30_000 });
    await client.close();
  }
  assert.match((await killed.describeExit()) ?? '', /killed \(SIGKILL\)/);
  assert.equal(await normal.describeExit(), undefined);
  await killed.stop();
  await normal.stop();
});

test('reapStale() removes the containers of runs that are not live and keeps the others', async (t) => {
  if (skipWithoutDocker(t)) return;
  const docker = runtime();
  const stale = await makeRun(1);
  const live = await makeRun(1);
  const staleSandbox = await startSandbox(docker, stale, 1);
  const liveSandbox = await startSandbox(docker, live, 1);
  const removed = await docker.reapStale((runId) => runId === live.runId);
  assert.ok(removed.includes(staleSandbox.containerName), removed.join(' '));
  assert.ok(!removed.includes(liveSandbox.containerName));
  assert.equal(await inspect(staleSandbox.containerName), undefined);
  assert.ok(await inspect(liveSandbox.containerName));
  await liveSandbox.stop();
  await staleSandbox.stop(); // already gone: still fine
});

test('container states are described for the agent error only when they ended abnormally', () => {
  const state = { Status: 'exited', Running: false, OOMKilled: false, ExitCode: 0, Error: '' };
  assert.equal(describeContainerState(undefined, '2g'), undefined);
  assert.equal(describeContainerState({ ...state, Status: 'running', Running: true }, '2g'), undefined);
  assert.equal(describeContainerState(state, '2g'), undefined);
  assert.match(describeContainerState({ ...state, OOMKilled: true, ExitCode: 137 }, '2g') ?? '', /out of memory.*\(limit 2g/);
  assert.equal(describeContainerState({ ...state, ExitCode: 3 }, '2g'), 'the sandbox container exited with code 3');
  assert.match(describeContainerState({ ...state, Status: 'created', Error: 'mount failed' }, '2g') ?? '', /never started: mount failed/);
});
