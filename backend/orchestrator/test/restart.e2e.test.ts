// A real orchestrator process killed with SIGKILL mid-run, then restarted on the same workspace: the run becomes `interrupted`, never stuck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunStateSchema } from '@multiclaude/contract';
import { filesChangedOn } from './support/git-inspect.ts';
import { waitForNoProcesses } from './support/processes.ts';
import { freePort } from './support/ports.ts';

const root = path.resolve(import.meta.dirname, '../../..');

async function startOrchestrator(workspace: string, port: number, extra: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'backend/orchestrator/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', HOME: workspace, WORKSPACE_LOCAL: workspace, PORT: String(port), AGENT_RUNTIME: 'local', LOG_LEVEL: 'WARNING', ...extra },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
    if (health?.ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('orchestrator did not start');
}

test('after SIGKILL mid-run and a restart on the same workspace, the run is interrupted with its commits kept', async () => {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-restart-'));
  const port = await freePort();
  let child = await startOrchestrator(workspace, port);
  try {
    const created = await fetch(`http://127.0.0.1:${port}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Commit, then ponder. [[slow ms=120000 from=2]]', agent_count: 2 }),
    });
    assert.equal(created.status, 202);
    const { run_id: runId } = (await created.json()) as { run_id: string };
    const runDirectory = path.join(workspace, 'runs', `run_${runId}`);
    const deadline = Date.now() + 60_000;
    while (filesChangedOn(runDirectory, 'agent-2').length === 0 || filesChangedOn(runDirectory, 'agent-1').length === 0) {
      assert.ok(Date.now() < deadline, 'agents committed');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.deepEqual(await waitForNoProcesses(runId, 10_000), [], 'the dead orchestrator’s agents and sandboxes die with it');

    child = await startOrchestrator(workspace, port);
    const state = RunStateSchema.parse(await (await fetch(`http://127.0.0.1:${port}/runs/${runId}`)).json());
    assert.equal(state.status, 'interrupted');
    for (const agent of state.results) {
      assert.equal(agent.status, 'error');
      assert.match(agent.error ?? '', /interrupted/);
    }
    assert.deepEqual(filesChangedOn(runDirectory, 'agent-1'), ['agent-1.md']);
    assert.deepEqual(filesChangedOn(runDirectory, 'agent-2'), ['agent-2.md']);
    // The event stream of an interrupted run ends too, instead of hanging.
    const events = await (await fetch(`http://127.0.0.1:${port}/runs/${runId}/events`)).text();
    assert.match(events, /event: run_finished/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    await rm(workspace, { recursive: true, force: true });
  }
});

test('after SIGKILL with one run running and one queued, a restart ends both interrupted with their streams closed, and takes new runs', async () => {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-restart-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const post = (body: unknown) => fetch(`${base}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let child = await startOrchestrator(workspace, port, { MAX_CONCURRENT_AGENTS: '1' });
  try {
    const running = (await (await post({ prompt: 'Commit, then ponder. [[slow ms=120000 from=2]]', agent_count: 1 })).json()) as { run_id: string };
    const queued = (await (await post({ prompt: 'Wait for the slot.', agent_count: 1 })).json()) as { run_id: string; status: string };
    assert.equal(queued.status, 'queued');
    const runDirectory = path.join(workspace, 'runs', `run_${running.run_id}`);
    const deadline = Date.now() + 60_000;
    while (filesChangedOn(runDirectory, 'agent-1').length === 0) {
      assert.ok(Date.now() < deadline, 'the running agent committed');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    child = await startOrchestrator(workspace, port, { MAX_CONCURRENT_AGENTS: '1' });
    for (const runId of [running.run_id, queued.run_id]) {
      const state = RunStateSchema.parse(await (await fetch(`${base}/runs/${runId}`)).json());
      assert.equal(state.status, 'interrupted', runId);
      assert.ok(state.results.every((agent) => agent.status === 'error' && /interrupted/.test(agent.error ?? '')));
      const events = await (await fetch(`${base}/runs/${runId}/events`)).text();
      assert.match(events, /event: run_finished/, `the stream of ${runId} ends`);
    }
    const fresh = await post({ prompt: 'After the restart. [[text]]', agent_count: 1 });
    assert.equal(fresh.status, 202);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    await rm(workspace, { recursive: true, force: true });
  }
});
