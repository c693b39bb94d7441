// End-to-end: POST /orchestrate through the real SDK, the real claude binary, real git and the offline model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { OrchestrateResponseSchema } from '@multiclaude/contract';
import type { Config } from '../src/config.ts';
import type { Sandbox, SandboxRequest, SandboxRuntime } from '../src/sandboxes/runtime.ts';
import { startHarness, type Harness } from './support/harness.ts';
import { gitIn, filesChangedOn } from './support/git-inspect.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

test('three agents each commit their own file on their own branch, in the design response format', async () => {
  const response = await harness.post('/orchestrate', {
    prompt: 'Build a typescript app which shows a digital clock.',
    agent_count: 3,
  });
  assert.equal(response.status, 200);
  const body = OrchestrateResponseSchema.parse(await response.json());
  assert.equal(body.status, 'completed');
  assert.match(body.run_info.run_id, /^\d{8}_\d{6}_[0-9a-f]{8}$/);
  assert.equal(body.run_info.run_dir, `runs/run_${body.run_info.run_id}`);
  assert.equal(body.run_info.git_initialized, true);
  assert.deepEqual(body.summary, { total_agents: 3, successful: 3, failed: 0 });

  const runDirectory = path.join(harness.workspace, body.run_info.run_dir);
  for (const agentId of [1, 2, 3]) {
    const result = body.results.find((item) => item.agent_id === agentId);
    assert.ok(result, `result for agent ${agentId}`);
    assert.equal(result.status, 'success', result.error);
    assert.deepEqual(result.workspace, {
      worktree_path: `${body.run_info.run_dir}/worktrees/agent-${agentId}`,
      branch_name: `agent-${agentId}`,
    });
    assert.match(result.output, new RegExp(`agent-${agentId}\\.md`));
    assert.ok(result.messages.some((message) => message.type === 'tool_use' && message.tool === 'Write'));
    assert.deepEqual(filesChangedOn(runDirectory, `agent-${agentId}`), [`agent-${agentId}.md`]);
    assert.equal(gitIn(runDirectory, 'log', '-1', '--format=%s', `agent-${agentId}`), `Agent ${agentId}: add agent-${agentId}.md`);
  }
  assert.equal(gitIn(runDirectory, 'rev-parse', '--is-bare-repository'), 'true', 'the run repository checks nothing out');
  for (const agentId of [1, 2, 3]) {
    assert.equal(gitIn(path.join(runDirectory, 'worktrees', `agent-${agentId}`), 'status', '--porcelain'), '', `agent ${agentId}'s own repository is clean`);
  }
  assert.equal(gitIn(runDirectory, 'log', '--format=%ae', '-1', 'main'), 'agent@claude-mcp.local');
  assert.match(gitIn(runDirectory, 'show', 'main:README.md'), /Build a typescript app which shows a digital clock\./);
});

test('an agent whose model fails is reported as an error while the others still succeed', async () => {
  const response = await harness.post('/orchestrate', { prompt: 'Write a haiku. [[fail agent=2]]', agent_count: 3 });
  assert.equal(response.status, 200);
  const body = OrchestrateResponseSchema.parse(await response.json());
  assert.deepEqual(body.summary, { total_agents: 3, successful: 2, failed: 1 });
  const failed = body.results.find((item) => item.agent_id === 2);
  assert.equal(failed?.status, 'error');
  assert.ok(failed?.error && failed.error.length > 0, 'a failed agent carries an error string');
  const runDirectory = path.join(harness.workspace, body.run_info.run_dir);
  assert.deepEqual(filesChangedOn(runDirectory, 'agent-1'), ['agent-1.md']);
  assert.deepEqual(filesChangedOn(runDirectory, 'agent-3'), ['agent-3.md']);
  assert.deepEqual(filesChangedOn(runDirectory, 'agent-2'), []);
});

test('an agent whose sandbox cannot start is an error and the others carry on', async () => {
  const broken = await startHarness({
    runtime: (config) =>
      localRuntimeStartingWith(config, async (local, request) => {
        if (request.agent.agentId === 1) throw new Error('sandbox crashed on start');
        return local.start(request);
      }),
  });
  try {
    const response = await broken.post('/orchestrate', { prompt: 'Write a note.', agent_count: 2 });
    const body = OrchestrateResponseSchema.parse(await response.json());
    assert.deepEqual(body.summary, { total_agents: 2, successful: 1, failed: 1 });
    assert.equal(body.results[0]?.error, 'sandbox crashed on start');
    assert.equal(body.results[1]?.status, 'success');
  } finally {
    await broken.close();
  }
});

test('an agent that outlives AGENT_TIMEOUT_MS is stopped with a timeout error', async () => {
  const slow = await startHarness({ agentTimeoutMs: 1_500 });
  try {
    const response = await slow.post('/orchestrate', { prompt: 'Take your time. [[slow ms=20000]]', agent_count: 1 });
    const body = OrchestrateResponseSchema.parse(await response.json());
    assert.equal(body.results[0]?.status, 'error');
    assert.match(body.results[0]?.error ?? '', /timed out/);
  } finally {
    await slow.close();
  }
});

const harnessRuntime = await import('../src/sandboxes/local.ts');

/** The real local runtime, with its start() replaced: for sandboxes that fail or are slow to start. */
function localRuntimeStartingWith(
  config: Config,
  start: (local: InstanceType<typeof harnessRuntime.LocalRuntime>, request: SandboxRequest) => Promise<Sandbox>,
): SandboxRuntime {
  const local = new harnessRuntime.LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath: process.env['PATH'] ?? '', workspaceRoot: config.workspaceLocal });
  return {
    name: 'local',
    check: () => local.check(),
    runCommand: (request, command, options) => local.runCommand(request, command, options),
    reapStale: async () => [],
    diagnostics: () => ({}),
    start: (request) => start(local, request),
  };
}

test('GET /health answers ok and GET /ready reports the workspace and runtime', async () => {
  const health = await harness.app.request('/health');
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await harness.app.request('/ready');
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { status: string; runtime: string; checks: Record<string, { ok: boolean }> };
  assert.equal(body.status, 'ready');
  assert.equal(body.runtime, 'local');
  assert.equal(body.checks['workspace']?.ok, true);
  assert.equal(body.checks['runtime']?.ok, true);
});

test('GET /ready answers 503 naming the workspace when it is not writable', async () => {
  const { createApp } = await import('../src/http/app.ts');
  const blocker = path.join(harness.workspace, 'a-file');
  await writeFile(blocker, 'not a directory');
  const app = createApp({
    machinery: harness.machinery,
    runtime: harness.runtime,
    operations: { dockerImage: 'claude-mcp:latest', claudeExecutable: 'claude' },
    minFreeDiskBytes: 1,
    workspaceLocal: path.join(blocker, 'workspace'),
    modelDescription: 'none',
    logger: harness.logger,
  });
  const ready = await app.request('/ready');
  assert.equal(ready.status, 503);
  const body = (await ready.json()) as { checks: { workspace: { ok: boolean; detail: string } } };
  assert.equal(body.checks.workspace.ok, false);
  assert.match(body.checks.workspace.detail, /not writable/);
  assert.equal(existsSync(path.join(blocker, 'workspace')), false);
});

test('a sandbox slow to start (8 s before its tool server answers) still gives the agent its tools', async () => {
  const slowStart = await startHarness({
    runtime: (config) =>
      localRuntimeStartingWith(config, async (local, request) => {
        const sandbox = await local.start(request);
        const { command, args } = sandbox.mcpServer;
        return { ...sandbox, mcpServer: { ...sandbox.mcpServer, command: 'sh', args: ['-c', 'sleep 8; exec "$@"', 'sh', command, ...args] } };
      }),
  });
  try {
    const body = OrchestrateResponseSchema.parse(await (await slowStart.post('/orchestrate', { prompt: 'Write a note.', agent_count: 1 })).json());
    assert.equal(body.results[0]?.status, 'success', body.results[0]?.error);
    assert.deepEqual(filesChangedOn(path.join(slowStart.workspace, body.run_info.run_dir), 'agent-1'), ['agent-1.md'], 'the agent used its tools');
  } finally {
    await slowStart.close();
  }
});
