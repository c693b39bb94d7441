import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentState } from '@multiclaude/contract';
import { rankAgents, recommendedAgent, failingLines } from '../../src/runs/ranking.ts';

function agent(agentId: number, change: Partial<AgentState>): AgentState {
  return {
    agent_id: agentId,
    status: 'success',
    output: '',
    workspace: { worktree_path: '', branch_name: `agent-${agentId}` },
    messages: [],
    usage: { input_tokens: 0, output_tokens: 0 },
    cost_usd: 0.01,
    duration_ms: 1,
    num_turns: 1,
    started_at: null,
    finished_at: null,
    check: null,
    diff_stats: { files: 1, insertions: 10, deletions: 0 },
    rank: null,
    rank_reasons: [],
    recommended: false,
    session_id: null,
    status_detail: null,
    ...change,
  };
}

const passed = { status: 'passed' as const, exit_code: 0, duration_ms: 1, output_tail: 'ok' };
const failed = (output: string) => ({ status: 'failed' as const, exit_code: 1, duration_ms: 1, output_tail: output });

test('failing lines count test-runner failure markers', () => {
  assert.equal(failingLines('✔ a\n✖ b\nnot ok 3 - c\nFAIL src/x.test.ts\nall fine'), 3);
});

test('a passed check beats a failed one whatever the diff size or cost', () => {
  const ranking = rankAgents([agent(1, { check: failed('✖ x'), cost_usd: 0 }), agent(2, { check: passed, diff_stats: { files: 9, insertions: 900, deletions: 9 } })]);
  assert.deepEqual(ranking.map((entry) => entry.agentId), [2, 1]);
});

test('among failed checks, fewer failing lines rank first; then smaller diff; then lower cost', () => {
  const ranking = rankAgents([
    agent(1, { check: failed('✖ a\n✖ b') }),
    agent(2, { check: failed('✖ a') }),
    agent(3, { check: failed('✖ a'), diff_stats: { files: 1, insertions: 2, deletions: 0 } }),
    agent(4, { check: failed('✖ a'), diff_stats: { files: 1, insertions: 2, deletions: 0 }, cost_usd: 0.001 }),
  ]);
  assert.deepEqual(ranking.map((entry) => entry.agentId), [4, 3, 2, 1]);
});

test('failed and cancelled agents, and agents that changed nothing, rank last and are not recommended', () => {
  const agents = [
    agent(1, { status: 'error' }),
    agent(2, { status: 'cancelled' }),
    agent(3, { diff_stats: { files: 0, insertions: 0, deletions: 0 } }),
  ];
  assert.deepEqual(rankAgents(agents).map((entry) => entry.agentId), [3, 1, 2]);
  assert.deepEqual(recommendedAgent(agents, 'npm test'), {
    agentId: null,
    reason: 'no attempt succeeded with committed changes and a check that did not fail',
  });
  assert.deepEqual(recommendedAgent([...agents, agent(4, { check: passed })], 'npm test'), { agentId: 4, reason: null });
});

test('without a check command no agent is recommended by tie-break, and the reason says so; the ranks stay', () => {
  const agents = [agent(1, {}), agent(2, {})];
  const recommendation = recommendedAgent(agents, null);
  assert.equal(recommendation.agentId, null);
  assert.match(recommendation.reason ?? '', /^no check command/);
  assert.deepEqual(rankAgents(agents).map((entry) => entry.agentId), [1, 2]);
});

test('without a check command a judge’s ranking still recommends its first choice, its reason leading', () => {
  const agents = [agent(1, {}), agent(2, {})];
  const judge = { ranking: [2, 1], reasons: [{ agent_id: 2, reason: 'clearer' }, { agent_id: 1, reason: 'longer' }] };
  assert.deepEqual(recommendedAgent(agents, null, judge), { agentId: 2, reason: null });
  assert.equal(rankAgents(agents, judge)[0]?.reasons[0], 'judge: clearer');
});

test('reasons say why', () => {
  const [entry] = rankAgents([agent(1, { check: passed })]);
  assert.deepEqual(entry?.reasons, ['check passed', 'diff +10 −0 in 1 file', 'cost $0.0100']);
});
