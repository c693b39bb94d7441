// The run service without HTTP or claude: queueing, cancelling, replaying and following events, driven by the fake agent executor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '@multiclaude/contract';
import { startHarness, type Harness } from '../support/harness.ts';
import { FakeExecutor } from '../support/fake-executor.ts';
import { createRunMachinery } from '../../src/runs/wiring.ts';
import { ServiceError } from '../../src/runs/errors.ts';
import { INTERRUPTED_ERROR } from '../../src/runs/run-state.ts';
import { storeKinds, type StoreKind } from '../support/stores.ts';

let kind: StoreKind = 'sqlite';

/** The test once per run store. */
function storeTest(name: string, body: () => Promise<void>): void {
  for (const store of storeKinds()) {
    test(`${name} (${store.kind})`, { skip: store.skip }, async () => {
      kind = store.kind;
      await body();
    });
  }
}

async function withHarness(options: Parameters<typeof startHarness>[0], body: (harness: Harness, executor: FakeExecutor) => Promise<void>): Promise<void> {
  const executor = (options?.executor as FakeExecutor | undefined) ?? new FakeExecutor();
  const harness = await startHarness({ ...options, executor, store: kind });
  try {
    await body(harness, executor);
  } finally {
    await harness.close();
  }
}

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** Resolves once the agent's end is recorded in the run's state (its slot is free by then). */
async function agentEnded(harness: Harness, runId: string, agentId: number): Promise<void> {
  for (;;) {
    const state = await harness.machinery.runs.get(runId);
    if (state.results.find((result) => result.agent_id === agentId)?.finished_at) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

storeTest('agents beyond the slots wait, first in first out, and a run’s agents start together once the slots hold them all', async () => {
  await withHarness({ maxConcurrentAgents: 2 }, async (harness, executor) => {
    const { machinery } = harness;
    const first = await machinery.runs.submit({ prompt: 'first', agent_count: 2 });
    const second = await machinery.runs.submit({ prompt: 'second', agent_count: 2 });
    assert.deepEqual([second.status, second.queue_position], ['queued', 1], 'the first run took the slots, so the second is next');
    await executor.whenRunning(2);
    assert.deepEqual(executor.running.sort(), [`${first.run_id}/1`, `${first.run_id}/2`]);
    assert.equal((await machinery.runs.get(second.run_id)).status, 'queued');
    executor.release(first.run_id, 1);
    await agentEnded(harness, first.run_id, 1);
    assert.deepEqual(executor.started.slice(2), [], 'one free slot does not start half of the second run');
    assert.equal((await machinery.runs.get(second.run_id)).status, 'queued');
    executor.release(first.run_id, 2);
    await executor.whenRunning(2);
    assert.deepEqual(executor.running.sort(), [`${second.run_id}/1`, `${second.run_id}/2`]);
    executor.release(second.run_id, 1);
    executor.release(second.run_id, 2);
    const finished = await machinery.manager.waitForRun(second.run_id);
    assert.equal(finished.status, 'completed');
    assert.equal(finished.summary.successful, 2);
    assert.equal((await machinery.runs.get(first.run_id)).status, 'completed');
  });
});

storeTest('a run waiting for its agents’ slots is not overtaken by a later, smaller run, and each run’s agents are admitted together', async () => {
  await withHarness({ maxConcurrentAgents: 3 }, async (harness, executor) => {
    const { machinery } = harness;
    const first = await machinery.runs.submit({ prompt: 'first', agent_count: 2 });
    await executor.whenRunning(2);
    const second = await machinery.runs.submit({ prompt: 'second', agent_count: 2 });
    const third = await machinery.runs.submit({ prompt: 'third', agent_count: 1 });
    // One slot is free: enough for the third run, but the second is ahead of it and needs two.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(executor.started.length, 2, 'neither later run started');
    assert.equal((await machinery.runs.get(third.run_id)).queue_position, 2);
    for (const run of [first, second, third]) {
      assert.deepEqual(JSON.parse(Buffer.from(await machinery.runs.getBody(run.run_id)).toString()), await machinery.runs.get(run.run_id), 'the API’s JSON is the run’s state, queue position included');
    }
    executor.release(first.run_id, 1);
    await executor.whenRunning(3);
    assert.deepEqual(executor.started.slice(2).sort(), [`${second.run_id}/1`, `${second.run_id}/2`], 'the second run’s agents started together');
    assert.equal((await machinery.runs.get(third.run_id)).status, 'queued');
    executor.release(second.run_id, 1);
    await agentEnded(harness, second.run_id, 1);
    await executor.whenRunning(3);
    assert.deepEqual(executor.started.slice(4), [`${third.run_id}/1`]);
    executor.release(first.run_id, 2);
    executor.release(second.run_id, 2);
    executor.release(third.run_id, 1);
    assert.equal((await machinery.manager.waitForRun(third.run_id)).status, 'completed');
    assert.deepEqual(JSON.parse(Buffer.from(await machinery.runs.getBody(third.run_id)).toString()), await machinery.runs.get(third.run_id));
  });
});

storeTest('GET /runs/:id’s body is the run’s state at each step', async () => {
  await withHarness({}, async (harness, executor) => {
    const { machinery } = harness;
    const body = async (runId: string): Promise<unknown> => JSON.parse(Buffer.from(await machinery.runs.getBody(runId)).toString());
    const run = await machinery.runs.submit({ prompt: 'poll me', agent_count: 2 });
    await executor.whenRunning(2);
    const running = await body(run.run_id);
    assert.deepEqual(running, await machinery.runs.get(run.run_id));
    executor.release(run.run_id, 1);
    await agentEnded(harness, run.run_id, 1);
    const oneEnded = (await body(run.run_id)) as { results: Array<{ agent_id: number; finished_at: string | null }> };
    assert.ok(oneEnded.results.find((result) => result.agent_id === 1)?.finished_at, 'the first agent’s end is in the next answer');
    assert.deepEqual(oneEnded, await machinery.runs.get(run.run_id));
    executor.release(run.run_id, 2);
    await machinery.manager.waitForRun(run.run_id);
    assert.equal(((await body(run.run_id)) as { status: string }).status, 'completed');
  });
});

storeTest('the front thread is given a run’s state only while it runs here and is not queued, and hears each change', async () => {
  await withHarness({ maxConcurrentAgents: 1 }, async (harness, executor) => {
    const { machinery } = harness;
    const changed: string[] = [];
    const stop = machinery.runs.onStateChange((runId) => changed.push(runId));
    const first = await machinery.runs.submit({ prompt: 'runs', agent_count: 1 });
    const second = await machinery.runs.submit({ prompt: 'waits', agent_count: 1 });
    await executor.whenRunning(1);
    assert.equal(machinery.runs.liveBody(first.run_id), Buffer.from(await machinery.runs.getBody(first.run_id)).toString());
    assert.equal(machinery.runs.liveBody(second.run_id), undefined, 'a queued run’s position moves with the others: the app answers it');
    assert.ok(changed.includes(first.run_id) && changed.includes(second.run_id));
    const heard = changed.filter((runId) => runId === first.run_id).length;
    executor.release(first.run_id, 1);
    await machinery.manager.waitForRun(first.run_id);
    assert.ok(changed.filter((runId) => runId === first.run_id).length > heard, 'its end was heard');
    assert.equal(machinery.runs.liveBody(first.run_id), undefined, 'an ended run is read from the store');
    await executor.whenRunning(1);
    executor.release(second.run_id, 1);
    await machinery.manager.waitForRun(second.run_id);
    stop();
  });
});

storeTest('a full queue refuses a run with queue_full and a retry time, and creates nothing', async () => {
  await withHarness({ maxConcurrentAgents: 1, maxQueuedRuns: 1 }, async ({ machinery }, executor) => {
    const running = await machinery.runs.submit({ prompt: 'runs', agent_count: 1 });
    await executor.whenRunning(1);
    await machinery.runs.submit({ prompt: 'waits', agent_count: 1 });
    const before = await machinery.runs.list(100);
    await assert.rejects(machinery.runs.submit({ prompt: 'one too many', agent_count: 1 }), (error: unknown) => {
      assert.ok(error instanceof ServiceError);
      assert.equal(error.code, 'queue_full');
      assert.ok((error.retryAfterSeconds ?? 0) > 0);
      return true;
    });
    assert.deepEqual(await machinery.runs.list(100), before);
    await machinery.runs.cancel(running.run_id);
  });
});

storeTest('cancelling a queued run ends it cancelled without starting any of its agents', async () => {
  await withHarness({ maxConcurrentAgents: 1 }, async ({ machinery }, executor) => {
    const holder = await machinery.runs.submit({ prompt: 'holds the slot', agent_count: 1 });
    const queued = await machinery.runs.submit({ prompt: 'never starts', agent_count: 2 });
    await executor.whenRunning(1);
    assert.deepEqual(await machinery.runs.cancel(queued.run_id), { run_id: queued.run_id, status: 'cancelling' });
    const state = await machinery.manager.waitForRun(queued.run_id);
    assert.equal(state.status, 'cancelled');
    assert.deepEqual(state.results.map((agent) => [agent.status, agent.error]), [
      ['cancelled', 'cancelled before it started'],
      ['cancelled', 'cancelled before it started'],
    ]);
    assert.ok(!executor.started.some((key) => key.startsWith(queued.run_id)));
    executor.release(holder.run_id, 1);
  });
});

storeTest('cancelling one agent ends it cancelled with its commit kept while the others go on; cancelling it again conflicts', async () => {
  await withHarness({}, async ({ machinery }, executor) => {
    const run = await machinery.runs.submit({ prompt: 'two agents', agent_count: 2 });
    await executor.whenRunning(2);
    await machinery.runs.cancel(run.run_id, 1);
    executor.release(run.run_id, 2);
    const state = await machinery.manager.waitForRun(run.run_id);
    assert.deepEqual(state.results.map((agent) => agent.status), ['cancelled', 'success']);
    assert.equal(state.results[0]?.diff_stats?.files, 1, 'the cancelled agent’s commit is kept and measured');
    await assert.rejects(machinery.runs.cancel(run.run_id, 1), { code: 'conflict' });
    await assert.rejects(machinery.runs.cancel(run.run_id, 3), { code: 'not_found' });
    await assert.rejects(machinery.runs.cancel(run.run_id), { code: 'conflict' });
  });
});

storeTest('a late follower gets every event from the first, and a resumed one only those after its last id', async () => {
  await withHarness({}, async ({ machinery }, executor) => {
    const run = await machinery.runs.submit({ prompt: 'events', agent_count: 2 });
    await executor.whenRunning(2);
    executor.release(run.run_id, 1);
    executor.release(run.run_id, 2);
    await machinery.manager.waitForRun(run.run_id);
    const all = await collect(machinery.runs.events(run.run_id, 0, AbortSignal.timeout(10_000)));
    assert.deepEqual(all.map((event) => event.id), all.map((_, index) => index + 1), 'ids count up from 1 without a gap');
    assert.equal(all[0]?.type, 'run_status');
    assert.equal(all.at(-1)?.type, 'run_finished');
    assert.ok(all.some((event) => event.type === 'agent_text' && event.text === 'agent 2 at work'));
    const resumed = await collect(machinery.runs.events(run.run_id, 5, AbortSignal.timeout(10_000)));
    assert.deepEqual(resumed, all.slice(5));
    const signal = AbortSignal.timeout(10_000);
    assert.deepEqual(await collect(machinery.runs.events(run.run_id, all.at(-1)!.id, signal)), [], 'a follower already past the last event ends at once');
    assert.equal(signal.aborted, false);
  });
});

storeTest('another process follows a run it does not own through the store, live, to run_finished; its cancel reaches the owner', async () => {
  await withHarness({ heartbeatMs: 50 }, async (owner, executor) => {
    const replica = await createRunMachinery({
      workspaceLocal: owner.workspace,
      databaseUrl: owner.databaseUrl,
      maxConcurrentAgents: 1,
      maxQueuedRuns: 1,
      minFreeDiskBytes: 1,
      executor: new FakeExecutor(),
      logger: owner.logger,
    });
    try {
      const run = await owner.machinery.runs.submit({ prompt: 'followed', agent_count: 2 });
      await executor.whenRunning(2);
      const followed = collect(replica.runs.events(run.run_id, 0, AbortSignal.timeout(20_000)));
      assert.equal((await replica.runs.get(run.run_id)).status, 'running');
      await replica.runs.cancel(run.run_id, 2);
      executor.release(run.run_id, 1);
      const events = await followed;
      assert.equal(events.at(-1)?.type, 'run_finished');
      const final = events.at(-1);
      assert.ok(final?.type === 'run_finished');
      assert.deepEqual(final.run.results.map((agent) => agent.status), ['success', 'cancelled']);
      assert.deepEqual(events.map((event) => event.id), events.map((_, index) => index + 1), 'every event once, in order');
    } finally {
      await replica.close();
    }
  });
});

storeTest('an unknown run is not_found for every call', async () => {
  await withHarness({}, async ({ machinery }) => {
    for (const call of [
      () => machinery.runs.get('20250101_000000_deadbeef'),
      () => machinery.runs.cancel('20250101_000000_deadbeef'),
      () => machinery.runs.get('../../etc'),
      () => collect(machinery.runs.events('20250101_000000_deadbeef', 0, AbortSignal.timeout(1_000))),
      () => machinery.review.diff('20250101_000000_deadbeef', 1),
    ]) {
      await assert.rejects(call(), { code: 'not_found' });
    }
  });
});

test('agents waiting for a slot say how many wait ahead of them, and a starting sandbox says so', async () => {
  await withHarness({ maxConcurrentAgents: 1 }, async ({ machinery }, executor) => {
    const run = await machinery.runs.submit({ prompt: 'three agents, one slot', agent_count: 3 });
    await executor.whenRunning(1);
    const waiting = await machinery.runs.get(run.run_id);
    assert.deepEqual(waiting.results.map((agent) => agent.status_detail), [null, 'waiting for a free slot (0 ahead)', 'waiting for a free slot (1 ahead)']);
    for (const agentId of [1, 2, 3]) {
      await executor.whenRunning(1);
      executor.release(run.run_id, agentId);
    }
    await machinery.manager.waitForRun(run.run_id);
    const events = await collect(machinery.runs.events(run.run_id, 0, AbortSignal.timeout(10_000)));
    const details = events.flatMap((event) => (event.type === 'agent_status' && event.agent_id === 3 ? [`${event.status}: ${event.detail ?? ''}`] : []));
    assert.deepEqual(details, [
      'pending: waiting for a free slot (1 ahead)',
      'pending: waiting for a free slot (0 ahead)',
      'running: starting its sandbox',
      'running: ',
      'success: ',
    ]);
    assert.ok((await machinery.runs.get(run.run_id)).results.every((agent) => agent.status_detail === null));
  });
});

test('stopping the orchestrator interrupts its runs and tells each unfinished agent why', async () => {
  await withHarness({ maxConcurrentAgents: 1 }, async ({ machinery, store }, executor) => {
    const run = await machinery.runs.submit({ prompt: 'interrupted by a shutdown', agent_count: 2 });
    await executor.whenRunning(1);
    await machinery.manager.stop();
    const state = await store.readState(run.run_id);
    assert.equal(state?.status, 'interrupted');
    assert.deepEqual(state?.results.map((agent) => [agent.status, agent.error]), [
      ['error', INTERRUPTED_ERROR],
      ['error', INTERRUPTED_ERROR],
    ]);
  });
});

test('a follow-up to an agent that never started, or to a run still going, is refused', async () => {
  await withHarness({}, async ({ machinery }, executor) => {
    const run = await machinery.runs.submit({ prompt: 'one agent', agent_count: 1 });
    await executor.whenRunning(1);
    await assert.rejects(machinery.runs.continue(run.run_id, 1, 'more'), { code: 'conflict' });
    executor.release(run.run_id, 1);
    await machinery.manager.waitForRun(run.run_id);
    // The fake executor reports no SDK session, as an agent whose session never started.
    await assert.rejects(machinery.runs.continue(run.run_id, 1, 'more'), { code: 'conflict', message: /no session to continue/ });
    await assert.rejects(machinery.runs.continue(run.run_id, 2, 'more'), { code: 'not_found' });
  });
});
