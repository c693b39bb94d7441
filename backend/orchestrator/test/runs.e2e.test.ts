// End-to-end for durable runs: the run API, its live event stream, cancel, the queue and auth, through the real SDK, claude and git.
import { test, after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RunStateSchema, RunListSchema, type RunState } from '@multiclaude/contract';
import { startHarness, type Harness } from './support/harness.ts';
import { readEvents } from './support/sse.ts';
import { filesChangedOn } from './support/git-inspect.ts';
import { waitForNoProcesses } from './support/processes.ts';
import { storeKinds, type StoreKind } from './support/stores.ts';


async function startRun(target: Harness, prompt: string, agentCount: number): Promise<string> {
  const response = await target.post('/runs', { prompt, agent_count: agentCount });
  assert.equal(response.status, 202);
  const body = (await response.json()) as { run_id: string; status: string };
  assert.match(body.status, /^(queued|running)$/);
  return body.run_id;
}

async function getRun(target: Harness, runId: string): Promise<RunState> {
  const response = await target.app.request(`/runs/${runId}`);
  assert.equal(response.status, 200);
  return RunStateSchema.parse(await response.json());
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function suite(kind: StoreKind): void {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ store: kind });
  });
  after(async () => {
    await harness.close();
  });

  test('a run streams every agent’s status, text, tool calls and results live and in order, then closes', async () => {
    const runId = await startRun(harness, 'Write a poem.', 2);
    const events = await readEvents(await harness.app.request(`/runs/${runId}/events`));
    const ids = events.map((event) => Number(event.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ids increase');
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    assert.equal(events.at(-1)?.event, 'run_finished');
    for (const agentId of [1, 2]) {
      const mine = events.map((event) => event.data).filter((event) => 'agent_id' in event && event.agent_id === agentId);
      const kinds = mine.map((event) => event.type);
      assert.equal(kinds[0], 'agent_status');
      assert.ok(kinds.includes('agent_text'));
      assert.ok(mine.some((event) => event.type === 'agent_tool_call' && event.tool === 'Write'));
      assert.ok(mine.some((event) => event.type === 'agent_tool_call' && event.tool === 'Bash'));
      assert.ok(kinds.indexOf('agent_tool_result') > kinds.indexOf('agent_tool_call'));
      const result = mine.find((event) => event.type === 'agent_result');
      assert.equal(result?.type === 'agent_result' && result.result.status, 'success');
    }
    const finished = events.at(-1)!.data;
    assert.equal(finished.type === 'run_finished' && finished.run.status, 'completed');
  });

  test('a late subscriber gets the whole history, and Last-Event-ID resumes after it', async () => {
    const runId = await startRun(harness, 'Write a list.', 1);
    const live = await readEvents(await harness.app.request(`/runs/${runId}/events`));
    const late = await readEvents(await harness.app.request(`/runs/${runId}/events`));
    assert.deepEqual(late.map((event) => event.data), live.map((event) => event.data));
    const resumed = await readEvents(await harness.app.request(`/runs/${runId}/events`, { headers: { 'Last-Event-ID': '3' } }));
    assert.deepEqual(resumed.map((event) => event.data), live.slice(3).map((event) => event.data));
  });

  test('GET /runs/:id gives per-agent usage, cost, turns, duration and timestamps', async () => {
    const runId = await startRun(harness, 'Write a limerick.', 2);
    await readEvents(await harness.app.request(`/runs/${runId}/events`));
    const state = await getRun(harness, runId);
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.summary, { total_agents: 2, successful: 2, failed: 0, cancelled: 0 });
    for (const agent of state.results) {
      assert.equal(agent.status, 'success');
      assert.ok(agent.usage.input_tokens > 0 && agent.usage.output_tokens > 0);
      assert.ok(agent.cost_usd > 0);
      assert.ok(agent.num_turns >= 3);
      assert.ok((agent.duration_ms ?? 0) > 0);
      assert.ok(agent.started_at && agent.finished_at && agent.started_at <= agent.finished_at);
    }
  });

  test('GET /runs lists runs newest first, a page at a time', async () => {
    const first = await harness.app.request('/runs?limit=2');
    const page = RunListSchema.parse(await first.json());
    assert.equal(page.runs.length, 2);
    assert.ok(page.runs[0]!.run_id > page.runs[1]!.run_id);
    assert.ok(page.next_before);
    const next = RunListSchema.parse(await (await harness.app.request(`/runs?limit=2&before=${page.next_before}`)).json());
    assert.ok(next.runs.every((run) => run.run_id < page.runs[1]!.run_id));
    assert.equal((await harness.app.request('/runs?limit=0')).status, 400);
    assert.equal((await harness.app.request('/runs?before=../x')).status, 400);
    assert.equal((await harness.app.request('/runs/20990101_000000_deadbeef')).status, 404);
    assert.equal((await harness.app.request('/runs/..%2f..%2fetc')).status, 404);
  });

  test('cancelling a running agent ends it as cancelled within seconds, keeping its commit and the others going', async () => {
    const runId = await startRun(harness, 'Write slowly. [[slow ms=60000 from=2 agent=1]]', 2);
    const runDirectory = path.join(harness.workspace, 'runs', `run_${runId}`);
    // Agent 1 has committed and now waits on its last, slow model answer.
    await waitFor(async () => (filesChangedOn(runDirectory, 'agent-1').length > 0 ? true : undefined));
    const started = Date.now();
    const response = await harness.app.request(`/runs/${runId}/agents/1/cancel`, { method: 'POST' });
    assert.equal(response.status, 202);
    const state = await waitFor(async () => {
      const current = await getRun(harness, runId);
      return current.status === 'completed' ? current : undefined;
    });
    assert.ok(Date.now() - started < 10_000, 'cancelled within a few seconds');
    assert.equal(state.results[0]?.status, 'cancelled');
    assert.equal(state.results[1]?.status, 'success');
    assert.deepEqual(filesChangedOn(runDirectory, 'agent-1'), ['agent-1.md'], 'the commit made before cancel is kept');
    assert.deepEqual(await waitForNoProcesses(runId), [], 'no claude or sandbox process of the run is left');
    assert.equal((await harness.app.request(`/runs/${runId}/agents/1/cancel`, { method: 'POST' })).status, 409);
    assert.equal((await harness.app.request(`/runs/${runId}/agents/9/cancel`, { method: 'POST' })).status, 404);
  });

  test('cancelling a run ends every agent as cancelled and the run as cancelled', async () => {
    const runId = await startRun(harness, 'Think forever. [[slow ms=60000]]', 2);
    await waitFor(async () => ((await getRun(harness, runId)).status === 'running' ? true : undefined));
    assert.equal((await harness.app.request(`/runs/${runId}/cancel`, { method: 'POST' })).status, 202);
    const state = await waitFor(async () => {
      const current = await getRun(harness, runId);
      return current.status === 'cancelled' ? current : undefined;
    }, 15_000);
    assert.deepEqual(state.summary, { total_agents: 2, successful: 0, failed: 0, cancelled: 2 });
    assert.deepEqual(await waitForNoProcesses(runId), [], 'no claude or sandbox process of the run is left');
    assert.equal((await harness.app.request(`/runs/${runId}/cancel`, { method: 'POST' })).status, 409);
  });

  test('with two agent slots, three 2-agent runs queue FIFO, never more than two agents work at once, and all complete', async () => {
    const limited = await startHarness({ store: kind,  maxConcurrentAgents: 2 });
    try {
      const runIds = [
        await startRun(limited, 'First. [[slow ms=300]]', 2),
        await startRun(limited, 'Second. [[slow ms=300]]', 2),
        await startRun(limited, 'Third. [[slow ms=300]]', 2),
      ];
      const third = await getRun(limited, runIds[2]!);
      assert.equal(third.status, 'queued');
      assert.equal(third.queue_position, 2);
      for (const runId of runIds) await readEvents(await limited.app.request(`/runs/${runId}/events`));
      for (const runId of runIds) assert.equal((await getRun(limited, runId)).status, 'completed');
      assert.ok(limited.model.maxConcurrentSessions <= 2, `at most 2 at once, saw ${limited.model.maxConcurrentSessions}`);
      assert.equal(limited.model.maxConcurrentSessions, 2);
    } finally {
      await limited.close();
    }
  });

  test('a full queue answers 429 with Retry-After and creates nothing', async () => {
    const tight = await startHarness({ store: kind,  maxConcurrentAgents: 1, maxQueuedRuns: 1 });
    try {
      const first = await startRun(tight, 'Hold the slot. [[slow ms=60000]]', 1);
      await startRun(tight, 'Wait in the queue.', 1);
      const before = await readdir(path.join(tight.workspace, 'runs'));
      const refused = await tight.post('/runs', { prompt: 'One too many.', agent_count: 1 });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.match(((await refused.json()) as { error: string }).error, /queue is full/);
      assert.deepEqual(await readdir(path.join(tight.workspace, 'runs')), before);
      await tight.app.request(`/runs/${first}/cancel`, { method: 'POST' });
    } finally {
      await tight.close();
    }
  });

  test('an overloaded model (529) on the first calls is retried to success', async () => {
    const runId = await startRun(harness, 'Survive overload. [[overload times=2]]', 1);
    const events = await readEvents(await harness.app.request(`/runs/${runId}/events`));
    const finished = events.at(-1)!.data;
    assert.equal(finished.type === 'run_finished' && finished.run.results[0]?.status, 'success');
  });

  test('with ORCHESTRATOR_TOKEN set, a missing or wrong token gets 401 and the right one passes; probes stay open', async () => {
    const secured = await startHarness({ store: kind,  token: 'correct-horse' });
    try {
      assert.equal((await secured.app.request('/runs')).status, 401);
      assert.equal((await secured.app.request('/runs', { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await secured.post('/orchestrate', { prompt: 'x', agent_count: 1 })).status, 401);
      assert.equal((await secured.app.request('/runs', { headers: { authorization: 'Bearer correct-horse' } })).status, 200);
      assert.equal((await secured.app.request('/health')).status, 200);
      const ready = await secured.app.request('/ready');
    assert.equal(ready.status, 200);
    const database = ((await ready.json()) as { checks: Record<string, { ok: boolean; detail: string }> }).checks['database'];
    assert.equal(database?.ok, true, 'the run store answers');
    assert.match(database?.detail ?? '', kind === 'postgres' ? /^postgres / : /runs\.db answers/);
    } finally {
      await secured.close();
    }
  });
}

for (const { kind, skip } of storeKinds()) describe(`runs on the ${kind} store`, { skip }, () => suite(kind));
