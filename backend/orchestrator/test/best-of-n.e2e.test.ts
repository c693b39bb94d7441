// Best-of-N end to end, through the real SDK, claude binary and git against the offline model: early stop, and the judge session ranking candidates or failing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RunStateSchema, type RunEvent, type RunState } from '@multiclaude/contract';
import { startHarness, type Harness } from './support/harness.ts';
import { readEvents } from './support/sse.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

async function runToEnd(body: Record<string, unknown>): Promise<{ state: RunState; events: RunEvent[] }> {
  const response = await harness.post('/runs', body);
  assert.equal(response.status, 202, await response.clone().text());
  const { run_id: runId } = (await response.json()) as { run_id: string };
  const events = (await readEvents(await harness.app.request(`/runs/${runId}/events`))).map((event) => event.data);
  return { state: RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json()), events };
}

test('early stop: agent 2 passes `test -f agent-2.md` first, the slow agents 1 and 3 are cancelled with the reason, and the savings are reported', async () => {
  const { state } = await runToEnd({
    prompt: 'Write notes. [[slow ms=10000 agent=1,3]]',
    agent_count: 3,
    check_command: 'test -f agent-2.md',
    stop_when: 'first_pass',
  });
  assert.equal(state.status, 'completed');
  assert.deepEqual(state.results.map((agent) => agent.status), ['cancelled', 'success', 'cancelled'], JSON.stringify(state.results.map((agent) => agent.error)));
  assert.equal(state.results[0]?.error, 'stopped: agent 2 passed the check first');
  assert.equal(state.results[1]?.check?.status, 'passed');
  assert.equal(state.savings?.agents_stopped, 2);
  assert.ok((state.savings?.estimated_cost_usd ?? 0) > 0, JSON.stringify(state.savings));
  assert.equal(state.recommended_agent_id, 2);
  assert.ok((state.totals?.cost_usd ?? 0) > 0);
  assert.equal(state.totals?.attempts_started, 3);
});

test('a judge session ranks three passing candidates; its verdict, reasons and cost reach the API and the events', async () => {
  const { state, events } = await runToEnd({
    prompt: 'Write notes. [[judge order=3,1,2]]',
    agent_count: 3,
    check_command: 'true',
    select: 'check+judge',
  });
  assert.equal(state.judge?.status, 'ranked', JSON.stringify([state.judge, state.results.map((agent) => agent.error)]));
  assert.deepEqual(state.judge?.ranking, [3, 1, 2]);
  assert.match(state.judge?.reasons[0]?.reason ?? '', /agent 3's change reads best/);
  assert.ok((state.judge?.cost_usd ?? 0) > 0, 'the judge’s session is paid for and counted');
  assert.equal(state.totals?.judge_cost_usd, state.judge?.cost_usd);
  assert.equal(state.ranked_by, 'judge');
  assert.equal(state.recommended_agent_id, 3);
  assert.match(state.results[2]?.rank_reasons[0] ?? '', /^judge: agent 3's change reads best/);
  assert.ok(events.some((event) => event.type === 'judge_result' && event.judge.ranking.join() === '3,1,2'));
  // The judge saw the candidates' diffs through its prompt only; the host kept a copy of what it gave it.
  const materials = harness.machinery.layout.run(state.run_info.run_id).judgeDirectory;
  assert.match(await readFile(path.join(materials, 'agent-2.diff'), 'utf8'), /\+\+\+ b\/agent-2\.md/);
});

test('a judge that fails falls back to the design’s ranking with a visible note; without a check nothing then tells the attempts apart, so none is recommended', async () => {
  const { state } = await runToEnd({ prompt: 'Write notes. [[judge fail]]', agent_count: 2, select: 'judge' });
  assert.equal(state.judge?.status, 'failed');
  assert.equal(state.ranked_by, 'rules');
  assert.equal(state.ranking_note, 'the judge failed (its answer holds no JSON ranking): ranked by the check and diff rules instead');
  assert.equal(state.recommended_agent_id, null);
  assert.match(state.no_recommendation_reason ?? '', /^no check command/);
  assert.deepEqual(state.results.map((agent) => agent.rank), [1, 2]);
});
