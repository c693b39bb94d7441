// Two orchestrator processes on one workspace and one run store: a run started on one streams live from the other, and when its owner dies, replicas starting at once interrupt it exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunStateSchema } from '@multiclaude/contract';
import { readEvents, type ReceivedEvent } from './support/sse.ts';
import { waitForNoProcesses } from './support/processes.ts';
import { startOrchestratorProcess, type OrchestratorProcess } from './support/orchestrator-process.ts';
import { freshDatabase, storeKinds } from './support/stores.ts';
import { percentile } from '../../../bench/lib/stats.ts';

for (const { kind, skip } of storeKinds()) {
  test(`a run started on one replica streams live from another, and its dead owner's run is interrupted exactly once (${kind})`, { skip }, async (context) => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-replicas-'));
    const database = await freshDatabase(kind);
    const replicas: OrchestratorProcess[] = [];
    const start = async (): Promise<OrchestratorProcess> => {
      const replica = await startOrchestratorProcess({ workspace, databaseUrl: database.databaseUrl });
      replicas.push(replica);
      return replica;
    };
    try {
      const [owner, follower] = await Promise.all([start(), start()]);
      const created = await fetch(`${owner!.url}/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Commit, then ponder. [[slow ms=120000 from=2]]', agent_count: 2 }),
      });
      assert.equal(created.status, 202);
      const { run_id: runId } = (await created.json()) as { run_id: string };

      // The follower's stream: every event the owner writes, as it writes it.
      let bothCommitted!: () => void;
      const committed = new Promise<void>((resolve) => (bothCommitted = resolve));
      const committers = new Set<number>();
      const followed = readEvents(await fetch(`${follower!.url}/runs/${runId}/events`), (event: ReceivedEvent) => {
        const data = event.data;
        if (data.type === 'agent_tool_result' && !data.is_error) committers.add(data.agent_id);
        if (committers.size === 2) bothCommitted();
      });
      await committed;
      const live = RunStateSchema.parse(await (await fetch(`${follower!.url}/runs/${runId}`)).json());
      assert.equal(live.status, 'running', 'the follower streamed the run while it was still running on its owner');

      // Resuming on the follower with Last-Event-ID gives what comes after it.
      const resumed = new AbortController();
      const afterThree: ReceivedEvent[] = [];
      await readEvents(await fetch(`${follower!.url}/runs/${runId}/events`, { headers: { 'Last-Event-ID': '3' }, signal: resumed.signal }), (event) => {
        afterThree.push(event);
        resumed.abort();
      }).catch(() => undefined);
      assert.equal(afterThree[0]?.id, '4');

      await owner!.stop('SIGKILL');
      assert.deepEqual(await waitForNoProcesses(runId, 10_000), [], 'the dead owner’s agents die with it');
      // Two replicas start at the same moment and both sweep the orphaned run at start-up.
      const [third] = await Promise.all([start(), start()]);

      const events = await followed;
      const ids = events.map((event) => Number(event.id));
      assert.deepEqual(ids, ids.map((_, index) => index + 1), 'the follower got every event once, in order');
      assert.equal(events.at(-1)?.event, 'run_finished', 'the interruption reached the follower’s stream too');
      const final = events.at(-1)!.data;
      assert.ok(final.type === 'run_finished' && final.run.status === 'interrupted');

      const all = await readEvents(await fetch(`${third!.url}/runs/${runId}/events`));
      assert.equal(all.filter((event) => event.event === 'run_finished').length, 1, 'exactly one run_finished');
      const interruptions = replicas.map((replica) => (replica.output().match(/run interrupted/g) ?? []).length);
      assert.equal(interruptions.reduce((sum, count) => sum + count, 0), 1, `exactly one replica interrupted it (${interruptions.join(', ')})`);
      assert.equal(RunStateSchema.parse(await (await fetch(`${follower!.url}/runs/${runId}`)).json()).status, 'interrupted');

      // A measure, not an assertion: how long an event took from the owner's write to the follower's stream
      // (events made after the follower was already streaming; the earlier ones came as its replay).
      const streamingSince = events[0]!.receivedAt;
      const delays = events
        .slice(0, -1)
        .filter((event) => Date.parse(event.data.at) > streamingSince)
        .map((event) => event.receivedAt - Date.parse(event.data.at));
      context.diagnostic(`cross-replica event delay over ${delays.length} events: p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms, max ${Math.max(...delays)} ms`);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
      await database.drop();
      await rm(workspace, { recursive: true, force: true });
    }
  });
}
