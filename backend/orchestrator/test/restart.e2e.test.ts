// A real orchestrator process killed with SIGKILL mid-run, then restarted on the same workspace and run store (embedded or PostgreSQL): its runs become `interrupted`, never stuck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunStateSchema } from '@multiclaude/contract';
import { filesChangedOn } from './support/git-inspect.ts';
import { waitForNoProcesses } from './support/processes.ts';
import { startOrchestratorProcess, type OrchestratorProcess } from './support/orchestrator-process.ts';
import { freshDatabase, storeKinds } from './support/stores.ts';

for (const { kind, skip } of storeKinds()) {
  test(`after SIGKILL mid-run and a restart on the same workspace, the run is interrupted with its commits kept (${kind})`, { skip }, async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-restart-'));
    const database = await freshDatabase(kind);
    const start = (port?: number): Promise<OrchestratorProcess> =>
      startOrchestratorProcess({ workspace, databaseUrl: database.databaseUrl, ...(port ? { port } : {}) });
    let orchestrator = await start();
    try {
      const created = await fetch(`${orchestrator.url}/runs`, {
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
      await orchestrator.stop('SIGKILL');
      assert.deepEqual(await waitForNoProcesses(runId, 10_000), [], 'the dead orchestrator’s agents and sandboxes die with it');

      orchestrator = await start(orchestrator.port);
      const state = RunStateSchema.parse(await (await fetch(`${orchestrator.url}/runs/${runId}`)).json());
      assert.equal(state.status, 'interrupted');
      for (const agent of state.results) {
        assert.equal(agent.status, 'error');
        assert.match(agent.error ?? '', /interrupted/);
      }
      assert.deepEqual(filesChangedOn(runDirectory, 'agent-1'), ['agent-1.md']);
      assert.deepEqual(filesChangedOn(runDirectory, 'agent-2'), ['agent-2.md']);
      // The event stream of an interrupted run ends too, instead of hanging.
      const events = await (await fetch(`${orchestrator.url}/runs/${runId}/events`)).text();
      assert.match(events, /event: run_finished/);
    } finally {
      await orchestrator.stop();
      await database.drop();
      await rm(workspace, { recursive: true, force: true });
    }
  });

  test(`after SIGKILL with one run running and one queued, a restart ends both interrupted with their streams closed, and takes new runs (${kind})`, { skip }, async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-restart-'));
    const database = await freshDatabase(kind);
    const start = (port?: number): Promise<OrchestratorProcess> =>
      startOrchestratorProcess({ workspace, databaseUrl: database.databaseUrl, env: { MAX_CONCURRENT_AGENTS: '1' }, ...(port ? { port } : {}) });
    let orchestrator = await start();
    const post = (body: unknown) =>
      fetch(`${orchestrator.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
      await orchestrator.stop('SIGKILL');

      orchestrator = await start(orchestrator.port);
      for (const runId of [running.run_id, queued.run_id]) {
        const state = RunStateSchema.parse(await (await fetch(`${orchestrator.url}/runs/${runId}`)).json());
        assert.equal(state.status, 'interrupted', runId);
        assert.ok(state.results.every((agent) => agent.status === 'error' && /interrupted/.test(agent.error ?? '')));
        const events = await (await fetch(`${orchestrator.url}/runs/${runId}/events`)).text();
        assert.match(events, /event: run_finished/, `the stream of ${runId} ends`);
      }
      const fresh = await post({ prompt: 'After the restart. [[text]]', agent_count: 1 });
      assert.equal(fresh.status, 202);
    } finally {
      await orchestrator.stop();
      await database.drop();
      await rm(workspace, { recursive: true, force: true });
    }
  });
}
