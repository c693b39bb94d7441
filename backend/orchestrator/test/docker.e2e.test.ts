// End-to-end with AGENT_RUNTIME=docker: the real engine, the MCP image, the real SDK and claude binary, the offline model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { OrchestrateResponseSchema, RunStateSchema } from '@multiclaude/contract';
import { readEvents } from './support/sse.ts';
import { startHarness, type Harness } from './support/harness.ts';
import { filesChangedOn, gitIn } from './support/git-inspect.ts';
import { createDockerRuntime } from '../src/sandboxes/docker.ts';
import { skipUnlessRequired } from './support/required.ts';
import { dockerUnavailable } from './support/docker.ts';

function managedContainers(): string[] {
  return execFileSync('docker', ['ps', '--all', '--format', '{{.Names}}', '--filter', 'label=multiclaude.managed=true'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

const skipReason = skipUnlessRequired(dockerUnavailable());
if (skipReason) console.log(`# docker end-to-end tests skipped: ${skipReason}`);

let harness: Harness;
before(async () => {
  if (skipReason) return;
  harness = await startHarness({ runtime: (config, logger) => createDockerRuntime(config, logger) });
});
after(async () => {
  await harness?.close();
});

test('three agents in Docker sandboxes each commit on their own branch and leave no container', { skip: skipReason }, async () => {
  const before = new Set(managedContainers());
  const response = await harness.post('/orchestrate', { prompt: 'Build a digital clock.', agent_count: 3 });
  assert.equal(response.status, 200);
  const body = OrchestrateResponseSchema.parse(await response.json());
  assert.deepEqual(body.summary, { total_agents: 3, successful: 3, failed: 0 }, JSON.stringify(body.results.map((r) => r.error)));
  const runDirectory = path.join(harness.workspace, body.run_info.run_dir);
  for (const agentId of [1, 2, 3]) {
    const result = body.results[agentId - 1]!;
    assert.match(result.output, /\/workspace/, 'the agent saw its worktree as /workspace');
    assert.deepEqual(filesChangedOn(runDirectory, `agent-${agentId}`), [`agent-${agentId}.md`]);
    assert.equal(gitIn(runDirectory, 'log', '-1', '--format=%s', `agent-${agentId}`), `Agent ${agentId}: add agent-${agentId}.md`);
  }
  const left = managedContainers().filter((name) => !before.has(name) && name.includes(body.run_info.run_id));
  assert.deepEqual(left, [], 'no sandbox container is left after the run');
});

test('a missing sandbox image fails every agent with a message saying how to build it', { skip: skipReason }, async () => {
  const missing = await startHarness({
    runtime: (config, logger) => createDockerRuntime({ ...config, dockerImage: 'multiclaude-no-such-image:never' }, logger),
  });
  try {
    const response = await missing.post('/orchestrate', { prompt: 'Anything.', agent_count: 2 });
    const body = OrchestrateResponseSchema.parse(await response.json());
    assert.deepEqual(body.summary, { total_agents: 2, successful: 0, failed: 2 });
    for (const result of body.results) assert.match(result.error ?? '', /build:images/);
  } finally {
    await missing.close();
  }
});


test('a check command runs in the agent’s own Docker sandbox, with git and without network', { skip: skipReason }, async () => {
  const response = await harness.post('/runs', {
    prompt: 'Write and be checked.',
    agent_count: 1,
    check_command: 'git log -1 --format=%s && test -f agent-1.md && ! getent hosts example.com && id -u',
  });
  const { run_id: runId } = (await response.json()) as { run_id: string };
  await readEvents(await harness.app.request(`/runs/${runId}/events`));
  const state = RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
  const check = state.results[0]?.check;
  assert.equal(check?.status, 'passed', check?.output_tail);
  assert.match(check?.output_tail ?? '', /Agent 1: add agent-1\.md/);
  assert.doesNotMatch(check?.output_tail ?? '', /^0$/m, 'not root');
  assert.deepEqual(managedContainers().filter((name) => name.includes(runId)), []);
});

test('a sandbox killed while its agent works ends that agent in error with the reason, its commit kept, and the others finish', { skip: skipReason }, async () => {
  const accepted = (await (await harness.post('/runs', { prompt: 'Commit, then ponder. [[slow ms=30000 from=2 agent=1]]', agent_count: 2 })).json()) as { run_id: string };
  const runDirectory = path.join(harness.workspace, 'runs', `run_${accepted.run_id}`);
  const container = `multiclaude-${accepted.run_id}-agent-1`;
  const deadline = Date.now() + 60_000;
  while (filesChangedOn(runDirectory, 'agent-1').length === 0) {
    assert.ok(Date.now() < deadline, 'agent 1 committed');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  execFileSync('docker', ['kill', container], { stdio: 'ignore' });
  const state = await harness.manager.waitForRun(accepted.run_id);
  const [first, second] = state.results;
  assert.equal(first?.status, 'error');
  assert.match(first?.error ?? '', /sandbox died while it worked \(the sandbox container (was killed \(SIGKILL\)|exited with code 137)/);
  assert.deepEqual(filesChangedOn(runDirectory, 'agent-1'), ['agent-1.md'], 'its commit is kept');
  assert.equal(second?.status, 'success');
  assert.deepEqual(managedContainers().filter((name) => name.includes(accepted.run_id)), []);
});
