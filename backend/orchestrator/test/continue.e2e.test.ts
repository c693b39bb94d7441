// End-to-end for follow-ups (POST /runs/:id/agents/:n/continue) and live usage, through the real SDK, claude, git and the offline model.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { RunStateSchema, type RunEvent, type RunState } from '@multiclaude/contract';
import { startHarness, type Harness } from './support/harness.ts';
import { readEvents } from './support/sse.ts';
import { gitIn } from './support/git-inspect.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

async function startRun(body: Record<string, unknown>): Promise<string> {
  const response = await harness.post('/runs', body);
  assert.equal(response.status, 202);
  return ((await response.json()) as { run_id: string }).run_id;
}

async function getRun(runId: string): Promise<RunState> {
  return RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
}

/** The run's events from `after` on, up to its next run_finished. */
async function eventsAfter(runId: string, after = 0): Promise<RunEvent[]> {
  return (await readEvents(await harness.app.request(`/runs/${runId}/events?after=${after}`))).map((event) => event.data);
}

function runDirectory(runId: string): string {
  return path.join(harness.workspace, 'runs', `run_${runId}`);
}

test('usage and cost stream per model turn while an agent works, never a false 0, and end at the SDK’s totals', async () => {
  const runId = await startRun({ prompt: 'Write a haiku.', agent_count: 1 });
  const events = await eventsAfter(runId);
  const usage = events.filter((event) => event.type === 'agent_usage');
  const resultIndex = events.findIndex((event) => event.type === 'agent_result');
  assert.ok(usage.length >= 3, 'one agent_usage per model turn at least');
  assert.ok(events.indexOf(usage[0]!) < resultIndex, 'usage arrives before the agent ends');
  const costs = usage.map((event) => (event.type === 'agent_usage' ? event.cost_usd : 0));
  assert.ok(costs[0]! > 0, 'the first turn already costs something');
  assert.deepEqual(costs, [...costs].sort((a, b) => a - b), 'the running cost only grows');
  const last = usage.at(-1)!;
  assert.ok(last.type === 'agent_usage' && last.usage.input_tokens > 0 && last.usage.output_tokens > 0 && last.num_turns >= 3);
  const state = await getRun(runId);
  assert.ok(state.results[0]!.session_id, 'the session is recorded for follow-ups');
  assert.ok(state.results[0]!.cost_usd > 0);
});

test('a follow-up resumes the agent’s own session: the model sees the earlier conversation, and a new commit lands on that branch only; check and ranking run again', async () => {
  const runId = await startRun({ prompt: 'Write a clock.', agent_count: 2, check_command: 'test -s agent-1-followup.md' });
  await eventsAfter(runId);
  const first = await getRun(runId);
  assert.equal(first.status, 'completed');
  assert.equal(first.results[0]!.check?.status, 'failed', 'no follow-up file yet');
  const directory = runDirectory(runId);
  const agent2Tip = gitIn(directory, 'rev-parse', 'agent-2');
  const mainTip = gitIn(directory, 'rev-parse', 'main');
  const lastId = Number((await eventsAfter(runId)).at(-1)!.id);

  const response = await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'Now also handle time zones.' });
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { run_id: runId, agent_id: 1, status: 'running' });
  const followed = await eventsAfter(runId, lastId);
  assert.deepEqual(followed.slice(0, 2).map((event) => event.type), ['run_status', 'agent_followup']);
  assert.ok(followed.every((event) => !('agent_id' in event) || event.agent_id === 1), 'only agent 1 works');
  assert.ok(followed.some((event) => event.type === 'agent_usage'));
  assert.equal(followed.at(-1)?.type, 'run_finished');

  const state = await getRun(runId);
  assert.equal(state.status, 'completed');
  const agent = state.results[0]!;
  assert.equal(agent.status, 'success');
  assert.equal(agent.check?.status, 'passed', 'the check ran again over the follow-up');
  assert.deepEqual(agent.diff_stats && agent.diff_stats.files, 2);
  assert.ok(agent.cost_usd > first.results[0]!.cost_usd, 'the follow-up adds to what the agent spent');
  assert.ok(agent.num_turns > first.results[0]!.num_turns);
  assert.equal(state.recommended_agent_id, 1, 'ranked again: agent 1 now passes its check');
  assert.deepEqual(state.followups.map((followUp) => [followUp.agent_id, followUp.prompt]), [[1, 'Now also handle time zones.']]);

  const log = gitIn(directory, 'log', '--format=%s', 'agent-1').split('\n');
  assert.equal(log[0], 'Agent 1: follow-up, add agent-1-followup.md');
  assert.equal(log[1], 'Agent 1: add agent-1.md');
  const written = gitIn(directory, 'show', 'agent-1:agent-1-followup.md');
  assert.match(written, /Follow-up: Now also handle time zones\./);
  // The resumed request carried the first session: its task and its messages.
  assert.match(written, /Earlier task: Write a clock\./);
  assert.ok(Number(/Earlier messages: (\d+)/.exec(written)?.[1]) >= 5, written);
  assert.equal(gitIn(directory, 'rev-parse', 'agent-2'), agent2Tip, 'the other branch is untouched');
  assert.equal(gitIn(directory, 'rev-parse', 'main'), mainTip, 'main is untouched');

  // A late client reads the whole story: the run, then the follow-up, to the last run_finished.
  const whole = await eventsAfter(runId);
  assert.deepEqual(whole.filter((event) => event.type === 'run_finished').length, 2);
  assert.equal(whole.at(-1)?.type, 'run_finished');
  assert.ok(whole.some((event) => event.type === 'agent_followup'));

  const listed = (await (await harness.app.request('/runs?limit=5')).json()) as { runs: Array<{ run_id: string; followups: unknown[] }> };
  assert.equal(listed.runs.find((run) => run.run_id === runId)?.followups.length, 1, 'the history lists the follow-up under its run');
});

test('continue answers 409 while the run or the agent is busy, 404 for a missing agent or run, 400 for a bad prompt', async () => {
  const runId = await startRun({ prompt: 'Work slowly. [[slow ms=1500]]', agent_count: 1 });
  assert.equal((await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'More.' })).status, 409);
  const lastId = Number((await eventsAfter(runId)).at(-1)!.id);
  assert.equal((await harness.post(`/runs/${runId}/agents/7/continue`, { prompt: 'More.' })).status, 404);
  assert.equal((await harness.post(`/runs/${runId}/agents/x/continue`, { prompt: 'More.' })).status, 404);
  assert.equal((await harness.post('/runs/20990101_000000_deadbeef/agents/1/continue', { prompt: 'More.' })).status, 404);
  for (const [body, error] of [
    [{}, 'prompt is required'],
    [{ prompt: '   ' }, 'prompt must not be blank'],
    [{ prompt: 7 }, 'prompt must be a string'],
  ] as const) {
    const response = await harness.post(`/runs/${runId}/agents/1/continue`, body);
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error, field: 'prompt' });
  }
  assert.equal((await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'x'.repeat(100_001) })).status, 413);
  // One follow-up at a time: a second while the first runs is refused, and changes nothing.
  const accepted = await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'Slowly again. [[slow ms=1500]]' });
  assert.equal(accepted.status, 202);
  const busy = await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'And more.' });
  assert.equal(busy.status, 409);
  assert.match(((await busy.json()) as { error: string }).error, /busy/);
  await eventsAfter(runId, lastId);
  const state = await getRun(runId);
  assert.equal(state.followups.length, 1);
  assert.equal(state.status, 'completed');
});

test('a follow-up respects the run’s budget: an agent that spent its share cannot continue', async () => {
  const runId = await startRun({ prompt: 'Spend a lot.', agent_count: 1, budget_usd: 0.0001 });
  await eventsAfter(runId);
  const state = await getRun(runId);
  assert.equal(state.budget_usd, 0.0001);
  assert.ok(state.results[0]!.cost_usd >= 0.0001, `spent ${state.results[0]!.cost_usd}`);
  const response = await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'Spend more.' });
  assert.equal(response.status, 409);
  assert.match(((await response.json()) as { error: string }).error, /spent its share of the run's budget/);
  assert.equal((await getRun(runId)).followups.length, 0);
});
