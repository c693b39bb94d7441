// Unit tests of the page's run state: the reducer over run snapshots and events, and the text formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentStateSchema, RunStateSchema, type AgentState, type RunEvent, type RunEventInput, type RunState } from '@multiclaude/contract';
import { agentElapsedMs, applyEvent, applyMerge, applySnapshot, canFollowUp, canMerge, moreEventsExpected, isRunActive, mergeOf, newRun, runTotals, type RunView } from '../src/client/state.ts';
import { diffStatsText, formatCost, formatDuration, formatTokens, promptTitle } from '../src/client/format.ts';

const RUN_ID = '20260204_123456_abc12345';

function events(...inputs: RunEventInput[]): RunEvent[] {
  return inputs.map((input, index) => ({ ...input, id: index + 1, at: `2026-02-04T12:00:0${index % 10}.000Z`, run_id: RUN_ID }) as RunEvent);
}

// Parsed, so fields the contract defaults (review, check) are filled in as the API would send them.
function agentState(agentId: number, change: Partial<AgentState> = {}): AgentState {
  return AgentStateSchema.parse({
    agent_id: agentId,
    status: 'success',
    output: `agent ${agentId} done`,
    workspace: { worktree_path: `runs/run_${RUN_ID}/worktrees/agent-${agentId}`, branch_name: `agent-${agentId}` },
    messages: [],
    usage: { input_tokens: 100 * agentId, output_tokens: 10 * agentId },
    cost_usd: 0.001 * agentId,
    duration_ms: 1500,
    num_turns: 3,
    started_at: '2026-02-04T12:00:01.000Z',
    finished_at: '2026-02-04T12:00:02.500Z',
    ...change,
  });
}

function runState(change: Partial<RunState> = {}): RunState {
  return RunStateSchema.parse({
    status: 'running',
    queue_position: null,
    prompt: 'Build a clock',
    agent_count: 2,
    created_at: '2026-02-04T12:00:00.000Z',
    started_at: '2026-02-04T12:00:00.500Z',
    finished_at: null,
    run_info: { run_id: RUN_ID, run_dir: `runs/run_${RUN_ID}`, git_initialized: true },
    summary: { total_agents: 2, successful: 0, failed: 0, cancelled: 0 },
    results: [
      agentState(1, { status: 'running', duration_ms: null, finished_at: null }),
      agentState(2, { status: 'pending', duration_ms: null, started_at: null, finished_at: null }),
    ],
    ...change,
  });
}

function replay(view: RunView, list: RunEvent[]): RunView {
  return list.reduce(applyEvent, view);
}

test('a new run has one pending agent per requested agent and counts as active', () => {
  const view = newRun(RUN_ID, 3, 'hello');
  assert.deepEqual(view.agents.map((agent) => [agent.agent_id, agent.status]), [[1, 'pending'], [2, 'pending'], [3, 'pending']]);
  assert.equal(view.prompt, 'hello');
  assert.equal(isRunActive(view), true);
});

test('a snapshot names the run directory, the prompt and each agent branch', () => {
  const view = applySnapshot(newRun(RUN_ID, 2), runState());
  assert.equal(view.run_dir, `runs/run_${RUN_ID}`);
  assert.equal(view.prompt, 'Build a clock');
  assert.deepEqual(view.agents.map((agent) => agent.branch), ['agent-1', 'agent-2']);
  assert.deepEqual(view.agents.map((agent) => agent.status), ['running', 'pending']);
});

test('streamed text and tool calls build each agent timeline in order, and a tool result answers its call', () => {
  const view = replay(
    newRun(RUN_ID, 2),
    events(
      { type: 'run_status', status: 'running', queue_position: null },
      { type: 'agent_status', agent_id: 1, status: 'running' },
      { type: 'agent_text', agent_id: 1, text: 'I will write the file.' },
      { type: 'agent_tool_call', agent_id: 1, tool: 'Write', input_summary: 'agent-1.md' },
      { type: 'agent_tool_call', agent_id: 2, tool: 'Bash', input_summary: 'git status' },
      { type: 'agent_tool_result', agent_id: 1, text: 'File created', is_error: false },
      { type: 'agent_text', agent_id: 1, text: 'Done.' },
    ),
  );
  const [first, second] = view.agents;
  assert.deepEqual(first?.timeline, [
    { kind: 'text', text: 'I will write the file.' },
    { kind: 'tool', tool: 'Write', input_summary: 'agent-1.md', result: { text: 'File created', is_error: false } },
    { kind: 'text', text: 'Done.' },
  ]);
  assert.deepEqual(second?.timeline, [{ kind: 'tool', tool: 'Bash', input_summary: 'git status', result: null }]);
  assert.equal(first?.status, 'running');
  assert.equal(first?.started_at, '2026-02-04T12:00:01.000Z');
  assert.equal(view.status, 'running');
  assert.equal(view.last_event_id, 7);
});

test('a repeated event (a reconnect replaying what was seen) is applied only once', () => {
  const list = events({ type: 'agent_text', agent_id: 1, text: 'once' });
  const view = replay(replay(newRun(RUN_ID, 1), list), list);
  assert.equal(view.agents[0]?.timeline.length, 1);
});

test('an event of another run leaves the view as it is', () => {
  const view = newRun(RUN_ID, 1);
  const other = { ...events({ type: 'agent_text', agent_id: 1, text: 'elsewhere' })[0]!, run_id: 'another' } as RunEvent;
  assert.equal(applyEvent(view, other), view);
});

test('an agent result brings the final status, branch, tokens, cost and duration', () => {
  const view = replay(newRun(RUN_ID, 2), events({ type: 'agent_result', agent_id: 2, result: agentState(2) }));
  const agent = view.agents[1]!;
  assert.equal(agent.status, 'success');
  assert.equal(agent.branch, 'agent-2');
  assert.deepEqual(agent.usage, { input_tokens: 200, output_tokens: 20 });
  assert.equal(agent.cost_usd, 0.002);
  assert.equal(agent.duration_ms, 1500);
  assert.equal(agent.output, 'agent 2 done');
});

test('an agent error is kept with its status', () => {
  const view = replay(newRun(RUN_ID, 2), events({ type: 'agent_status', agent_id: 2, status: 'error', error: 'model said 400' }));
  assert.equal(view.agents[1]?.status, 'error');
  assert.equal(view.agents[1]?.error, 'model said 400');
  assert.equal(view.agents[1]?.finished_at, '2026-02-04T12:00:00.000Z');
});

test('run_finished ends the run with its final state and totals add every agent up', () => {
  const finalState = runState({
    status: 'completed',
    finished_at: '2026-02-04T12:00:03.000Z',
    results: [agentState(1), agentState(2, { status: 'error', error: 'boom' })],
  });
  const view = replay(newRun(RUN_ID, 2), events({ type: 'run_finished', run: finalState }));
  assert.equal(view.finished, true);
  assert.equal(view.status, 'completed');
  assert.equal(isRunActive(view), false);
  assert.equal(view.run_dir, `runs/run_${RUN_ID}`);
  const totals = runTotals(view);
  assert.deepEqual(totals.by_status, { pending: 0, running: 0, success: 1, error: 1, cancelled: 0 });
  assert.equal(totals.input_tokens, 300);
  assert.equal(totals.output_tokens, 30);
  assert.ok(Math.abs(totals.cost_usd - 0.003) < 1e-12);
});

test('a snapshot taken after events were applied names branches but does not move progress backwards', () => {
  const advanced = replay(newRun(RUN_ID, 2), events({ type: 'agent_result', agent_id: 1, result: agentState(1) }));
  const view = applySnapshot(advanced, runState());
  assert.equal(view.agents[0]?.status, 'success');
  assert.equal(view.agents[1]?.branch, 'agent-2');
});

test('events for an agent the view did not expect add its panel in agent order', () => {
  const view = replay(newRun(RUN_ID, 0), events({ type: 'agent_text', agent_id: 2, text: 'b' }, { type: 'agent_text', agent_id: 1, text: 'a' }));
  assert.deepEqual(view.agents.map((agent) => agent.agent_id), [1, 2]);
  assert.equal(view.agent_count, 2);
});

test('an agent’s time is the wall clock: counting up from its start while it runs, start to end once it ends, whatever the model’s own time', () => {
  const running = replay(newRun(RUN_ID, 1), events({ type: 'agent_status', agent_id: 1, status: 'running' })).agents[0]!;
  assert.equal(agentElapsedMs(running, Date.parse('2026-02-04T12:00:05.000Z')), 5000);
  const ended = { ...running, duration_ms: 1234, finished_at: '2026-02-04T12:00:17.500Z' };
  assert.equal(agentElapsedMs(ended, Date.now()), 17_500, 'the model’s 1.2 s does not replace the 17.5 s it ran');
  assert.equal(agentElapsedMs(newRun(RUN_ID, 1).agents[0]!, Date.now()), null);
});

test('usage is unknown until the first model turn, then follows each agent_usage event; the run total moves with it', () => {
  let view = applySnapshot(newRun(RUN_ID, 2), runState({ results: [agentState(1, { status: 'running', usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0, num_turns: 0 }), agentState(2, { status: 'pending', usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0, num_turns: 0 })] }));
  assert.equal(view.agents[0]!.usage, null, 'a 0 before any turn is not a count');
  assert.equal(view.agents[0]!.cost_usd, null);
  view = replay(view, events(
    { type: 'agent_usage', agent_id: 1, usage: { input_tokens: 500, output_tokens: 20 }, cost_usd: 0.0018, num_turns: 1 },
    { type: 'agent_usage', agent_id: 1, usage: { input_tokens: 1200, output_tokens: 60 }, cost_usd: 0.0045, num_turns: 2 },
  ));
  assert.deepEqual([view.agents[0]!.usage, view.agents[0]!.cost_usd, view.agents[0]!.num_turns], [{ input_tokens: 1200, output_tokens: 60 }, 0.0045, 2]);
  assert.equal(runTotals(view).cost_usd, 0.0045);
});

test('a follow-up runs an ended run again: the agent goes back to pending without its old error or check, and the run is active until its next run_finished', () => {
  let view = applySnapshot(newRun(RUN_ID, 1), runState({ status: 'completed', agent_count: 1, results: [agentState(1, { status: 'error', error: 'boom', session_id: 'session-1' })] }));
  assert.equal(isRunActive(view), false);
  assert.equal(canFollowUp(view, view.agents[0]!), true);
  view = replay(view, events(
    { type: 'run_status', status: 'running', queue_position: null },
    { type: 'agent_followup', agent_id: 1, prompt: 'Now also time zones' },
    { type: 'agent_status', agent_id: 1, status: 'running', detail: 'starting its sandbox' },
  ));
  assert.equal(isRunActive(view), true);
  const agent = view.agents[0]!;
  assert.deepEqual([agent.status, agent.error, agent.check, agent.status_detail], ['running', null, null, 'starting its sandbox']);
  assert.deepEqual(agent.timeline.at(-1), { kind: 'followup', text: 'Now also time zones' });
  assert.deepEqual(view.followups.map((followUp) => followUp.prompt), ['Now also time zones']);
  assert.equal(moreEventsExpected(view), false);
  const reopened = applySnapshot(newRun(RUN_ID, 1), runState({ status: 'completed', agent_count: 1, followups: [{ agent_id: 1, prompt: 'Now also time zones', requested_at: '2026-02-04T12:01:00.000Z' }] }));
  assert.equal(moreEventsExpected(reopened), true, 'a reopened run with a follow-up reads on past its first run_finished');
  assert.equal(canFollowUp(view, agent), false);
});

test('durations, tokens, costs and prompt titles read well', () => {
  assert.equal(formatDuration(450), '450 ms');
  assert.equal(formatDuration(12_345), '12.3 s');
  assert.equal(formatDuration(125_000), '2 min 5 s');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatTokens(1234, 56), '1,234 in / 56 out');
  assert.equal(formatCost(0.0012), '$0.0012');
  assert.equal(formatCost(1.5), '$1.50');
  assert.equal(promptTitle('  first line\nsecond'), 'first line');
  assert.equal(promptTitle('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
});

test('a finished run brings each agent check, diff stats and rank, and names the recommended agent', () => {
  const finalState = runState({
    status: 'completed',
    check_command: 'npm test',
    recommended_agent_id: 2,
    results: [
      agentState(1, { check: { status: 'failed', exit_code: 1, duration_ms: 900, output_tail: '1 failing' }, rank: 2, rank_reasons: ['check failed'] }),
      agentState(2, { check: { status: 'passed', exit_code: 0, duration_ms: 800, output_tail: 'ok' }, diff_stats: { files: 1, insertions: 3, deletions: 0 }, rank: 1, recommended: true }),
    ],
  });
  const view = replay(applySnapshot(newRun(RUN_ID, 2), runState({ check_command: 'npm test' })), events({ type: 'run_finished', run: finalState }));
  assert.equal(view.check_command, 'npm test');
  assert.equal(view.recommended_agent_id, 2);
  assert.equal(view.agents[0]?.check?.status, 'failed');
  assert.deepEqual(view.agents[0]?.rank_reasons, ['check failed']);
  assert.equal(view.agents[1]?.recommended, true);
  assert.equal(diffStatsText(view.agents[1]!.diff_stats), '1 file, +3 −0');
  assert.equal(diffStatsText({ files: 0, insertions: 0, deletions: 0 }), 'no changes');
});

test('an agent can be merged only once the run has ended, when it succeeded with changes, and a merge is remembered', () => {
  const running = applySnapshot(newRun(RUN_ID, 2), runState());
  const succeeded = { ...running.agents[0]!, status: 'success' as const, diff_stats: { files: 1, insertions: 1, deletions: 0 } };
  assert.equal(canMerge(running, succeeded), false, 'not while the run is running');
  const ended = replay(running, events({ type: 'run_finished', run: runState({ status: 'completed', results: [agentState(1), agentState(2, { status: 'error' })] }) }));
  assert.equal(canMerge(ended, ended.agents[0]!), true);
  assert.equal(canMerge(ended, ended.agents[1]!), false, 'not a failed agent');
  assert.equal(canMerge(ended, { ...ended.agents[0]!, diff_stats: { files: 0, insertions: 0, deletions: 0 } }), false, 'not an agent that changed nothing');
  const merged = applyMerge(ended, { agent_id: 1, commit: 'abc123', fast_forward: true, merged_at: '2026-02-04T12:01:00.000Z' });
  assert.equal(mergeOf(merged, 1)?.commit, 'abc123');
  assert.equal(mergeOf(merged, 2), null);
});

test('merges already made come from the snapshot, since the event stream does not carry them', () => {
  const merge = { agent_id: 2, commit: 'def456', fast_forward: false, merged_at: '2026-02-04T12:02:00.000Z' };
  const view = applySnapshot(newRun(RUN_ID, 2), runState({ status: 'completed', merges: [merge] }));
  assert.deepEqual(mergeOf(view, 2), merge);
});

test('the judge’s verdict and the run’s spending arrive by event; the end brings the savings and the fallback note', () => {
  const totals = { attempts_started: 2, input_tokens: 300, output_tokens: 30, cost_usd: 0.005, judge_cost_usd: 0.002, duration_ms: 4000, first_pass_ms: 1500 };
  const judge = { status: 'failed' as const, candidates: [1, 2], ranking: [], reasons: [], summary: '', usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0.002, duration_ms: 9, error: 'its answer holds no JSON ranking' };
  const note = 'the judge failed (its answer holds no JSON ranking): ranked by the check and diff rules instead';
  const savings = { agents_stopped: 1, agents_not_started: 0, estimated_cost_usd: 0.001, basis: 'mean cost' };
  let view = newRun(RUN_ID, 2);
  for (const event of events(
    { type: 'agent_result', agent_id: 1, result: agentState(1), totals: { ...totals, cost_usd: 0.001, judge_cost_usd: 0 } },
    { type: 'judge_result', judge, totals },
    { type: 'run_finished', run: runState({ status: 'completed', judge, totals, savings, ranking_note: note, results: [agentState(1), agentState(2)] }) },
  )) {
    view = applyEvent(view, event);
    if (event.type === 'agent_result') assert.equal(view.spending?.cost_usd, 0.001);
    if (event.type === 'judge_result') assert.deepEqual([view.judge?.status, view.spending?.judge_cost_usd], ['failed', 0.002]);
  }
  assert.equal(view.ranking_note, note);
  assert.deepEqual(view.savings, savings);
  assert.equal(view.ranked_by, 'rules');
});

test('the run’s source comes from its snapshot, and the setup’s outcome from its setup_result event', () => {
  const source = { repo: '/srv/git/project.git', ref: 'main', commit: 'a'.repeat(40) };
  let view = applySnapshot(newRun(RUN_ID, 2), runState({ run_info: { run_id: RUN_ID, run_dir: `runs/run_${RUN_ID}`, git_initialized: true, source }, setup_command: 'npm ci' }));
  assert.deepEqual(view.source, source);
  assert.equal(view.setup_command, 'npm ci');
  assert.equal(view.setup, null);
  const result = { status: 'passed' as const, exit_code: 0, duration_ms: 1200, output_tail: 'added 3 packages', copied_paths: ['node_modules'], copy_ms: 40 };
  view = replay(view, events({ type: 'setup_result', result }));
  assert.deepEqual(view.setup, result);
  view = applySnapshot(view, runState());
  assert.deepEqual(view.setup, result, 'an older snapshot does not take the setup’s outcome back');
});
