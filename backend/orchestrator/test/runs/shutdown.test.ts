// An orchestrator that stops (SIGTERM: a deleted pod, a rollout) while it runs agents: its runs end
// `interrupted`, not `cancelled` (no one cancelled them), its running and waiting agents `error` with the
// interrupted message, finished agents as they were, and every commit is kept. Found on the real cluster
// (backend/orchestrator/test/cluster/), where deleting the owning pod left the run `cancelled`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startHarness } from '../support/harness.ts';
import { FakeExecutor } from '../support/fake-executor.ts';
import { INTERRUPTED_ERROR } from '../../src/runs/run-state.ts';
import { gitIn } from '../support/git-inspect.ts';

test('stopping the manager leaves its runs interrupted, with their commits, not cancelled', async () => {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-shutdown-'));
  const executor = new FakeExecutor();
  const harness = await startHarness({ executor, maxConcurrentAgents: 2, workspace });
  try {
    const run = await harness.machinery.runs.submit({ prompt: 'stopped mid-way', agent_count: 3 });
    await executor.whenRunning(2);
    executor.release(run.run_id, 1);
    await executor.whenRunning(2); // agent 3 took agent 1's slot
    await harness.manager.stop();

    const state = await harness.machinery.runs.get(run.run_id);
    assert.equal(state.status, 'interrupted');
    assert.deepEqual(
      state.results.map((agent) => [agent.agent_id, agent.status, agent.error ?? null]),
      [
        [1, 'success', null],
        [2, 'error', INTERRUPTED_ERROR],
        [3, 'error', INTERRUPTED_ERROR],
      ],
    );
    assert.deepEqual({ ...state.summary }, { total_agents: 3, successful: 1, failed: 2, cancelled: 0 });
    const runDirectory = path.join(workspace, state.run_info.run_dir);
    for (const agentId of [1, 2, 3]) assert.match(gitIn(runDirectory, 'log', '-1', '--format=%s', `agent-${agentId}`), new RegExp(`^Agent ${agentId}:`));
  } finally {
    await harness.close();
    await rm(workspace, { recursive: true, force: true });
  }
});

test('a user cancel is still a cancel', async () => {
  const executor = new FakeExecutor();
  const harness = await startHarness({ executor });
  try {
    const run = await harness.machinery.runs.submit({ prompt: 'cancelled by its user', agent_count: 1 });
    await executor.whenRunning(1);
    await harness.machinery.runs.cancel(run.run_id);
    const state = await harness.manager.waitForRun(run.run_id);
    assert.equal(state.status, 'cancelled');
    assert.equal(state.results[0]?.status, 'cancelled');
  } finally {
    await harness.close();
  }
});
