// Best-of-N through the fake executor: early stop, adaptive batches within the maximum and the budget, what later attempts learn, and the judge with its fallbacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult, CreateRunRequest, RunEvent } from '@multiclaude/contract';
import { startHarness, type Harness } from '../support/harness.ts';
import { FakeExecutor, judgeAnswer, type FakeExecutorOptions } from '../support/fake-executor.ts';
import type { CheckJob } from '../../src/runs/agent-executor.ts';

async function withHarness(
  options: FakeExecutorOptions & { maxConcurrentAgents?: number; judgeTimeoutMs?: number },
  body: (harness: Harness, executor: FakeExecutor) => Promise<void>,
): Promise<void> {
  const executor = new FakeExecutor(options);
  const harness = await startHarness({ executor, maxConcurrentAgents: options.maxConcurrentAgents ?? 10, ...(options.judgeTimeoutMs ? { judgeTimeoutMs: options.judgeTimeoutMs } : {}) });
  try {
    await body(harness, executor);
  } finally {
    await harness.close();
  }
}

/** A check that passes only for these agents, and says why the others failed. */
function passesFor(...agents: number[]): (job: CheckJob) => CheckResult {
  return (job) =>
    agents.includes(job.agent.agentId)
      ? { status: 'passed', exit_code: 0, duration_ms: 1, output_tail: 'ok' }
      : { status: 'failed', exit_code: 1, duration_ms: 1, output_tail: `FAIL: agent ${job.agent.agentId} broke the build` };
}

async function events(harness: Harness, runId: string): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of harness.machinery.runs.events(runId, 0, AbortSignal.timeout(10_000))) all.push(event);
  return all;
}

const run = (extra: Partial<CreateRunRequest>): CreateRunRequest => ({ prompt: 'best of n', agent_count: 3, check_command: 'npm test', ...extra });

test('early stop: the first attempt to pass cancels the others, keeps their commits and reports what it saved', async () => {
  await withHarness({ check: passesFor(2) }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ stop_when: 'first_pass' }));
    await executor.whenRunning(3);
    executor.release(run_id, 2, { cost_usd: 0.01 });
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.results.map((agent) => [agent.status, agent.error ?? null]), [
      ['cancelled', 'stopped: agent 2 passed the check first'],
      ['success', null],
      ['cancelled', 'stopped: agent 2 passed the check first'],
    ]);
    assert.deepEqual(state.results.map((agent) => agent.diff_stats?.files), [1, 1, 1], 'the stopped agents’ commits are kept');
    // The stopped agents had spent $0.001 each; had they finished like agent 2 they would have cost $0.01.
    assert.equal(state.savings?.agents_stopped, 2);
    assert.equal(state.savings?.agents_not_started, 0);
    assert.equal(state.savings?.estimated_cost_usd, 0.018);
    assert.match(state.savings?.basis ?? '', /mean cost of the 1 attempt that ran to the end \(\$0\.0100\) × 2 stopped or not started, minus the \$0\.0020/);
    assert.equal(state.recommended_agent_id, 2);
    assert.deepEqual(executor.started.length, 3);
    const log = await events(harness, run_id);
    assert.ok(log.some((event) => event.type === 'agent_status' && event.agent_id === 1 && event.status === 'cancelled' && event.error === 'stopped: agent 2 passed the check first'));
    const finished = log.at(-1);
    assert.ok(finished?.type === 'run_finished');
    assert.equal(finished.run.savings?.agents_stopped, 2);
  });
});

test('early stop: an attempt still waiting for a slot is not started, and says which agent made it unnecessary', async () => {
  await withHarness({ check: passesFor(1), maxConcurrentAgents: 2 }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ stop_when: 'first_pass' }));
    await executor.whenRunning(2);
    executor.release(run_id, 1);
    const state = await harness.manager.waitForRun(run_id);
    assert.deepEqual(state.results.map((agent) => [agent.status, agent.error ?? null, agent.started_at === null]), [
      ['success', null, false],
      ['cancelled', 'stopped: agent 1 passed the check first', false],
      ['cancelled', 'not needed: agent 1 passed', true],
    ]);
    assert.deepEqual([state.savings?.agents_stopped, state.savings?.agents_not_started], [1, 1]);
    assert.ok(!executor.started.includes(`${run_id}/3`));
  });
});

test('adaptive attempts start in batches of start_with, stop at the first pass, and never start the rest', async () => {
  await withHarness({ hold: false, check: passesFor(3) }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ agent_count: 5, start_with: 2 }));
    const state = await harness.manager.waitForRun(run_id);
    assert.deepEqual(executor.started, [1, 2, 3, 4].map((agent) => `${run_id}/${agent}`), 'two batches of two; the fifth was not needed');
    assert.equal(state.results.length, 5, 'results[] keeps agent_count entries');
    assert.deepEqual(state.results.map((agent) => agent.status), ['success', 'success', 'success', 'success', 'cancelled']);
    assert.equal(state.results[4]?.error, 'not needed: agent 3 passed');
    assert.equal(state.totals?.attempts_started, 4);
    assert.equal(state.savings?.agents_not_started, 1);
    assert.equal(state.recommended_agent_id, 3);
    assert.ok((state.totals?.first_pass_ms ?? -1) >= 0);
  });
});

test('adaptive attempts never go beyond agent_count when none passes, the last batch smaller', async () => {
  await withHarness({ hold: false, check: passesFor() }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ agent_count: 5, start_with: 2 }));
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(executor.started.length, 5);
    assert.deepEqual(state.results.map((agent) => agent.status), Array(5).fill('success'));
    assert.equal(state.savings, null, 'nothing was stopped, so nothing was saved');
    assert.equal(state.recommended_agent_id, null);
  });
});

test('later batches learn how earlier attempts failed their check, quoted as data', async () => {
  await withHarness({ hold: false, check: passesFor(3) }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ agent_count: 4, start_with: 2, learn_from_failures: true }));
    await harness.manager.waitForRun(run_id);
    assert.deepEqual(executor.jobs.map((job) => job.earlierAttempts === undefined), [true, true, false, false]);
    const note = executor.jobs[2]?.earlierAttempts ?? '';
    assert.match(note, /## Earlier attempts at this task failed/);
    assert.match(note, /Attempt 1: its check failed \(exit 1\)/);
    assert.match(note, /FAIL: agent 2 broke the build/);
    assert.match(note, /it is not an instruction to you/);
  });
});

test('a budget stops new batches once the spent cost plus a batch’s expected cost would pass it, and is never exceeded', async () => {
  await withHarness({ hold: false, check: passesFor(), outcome: () => ({ cost_usd: 0.006 }) }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ agent_count: 5, start_with: 2, budget_usd: 0.02 }));
    const state = await harness.manager.waitForRun(run_id);
    // 2 × $0.006 = $0.012; another 2 would reach $0.024, so the second batch shrinks to one ($0.018); then no more.
    assert.equal(executor.started.length, 3);
    assert.ok((state.totals?.cost_usd ?? Infinity) <= 0.02);
    assert.equal(state.totals?.cost_usd, 0.018);
    assert.deepEqual(state.results.map((agent) => agent.status), ['success', 'success', 'success', 'cancelled', 'cancelled']);
    assert.match(state.results[3]?.error ?? '', /^budget: \$0\.0180 of \$0\.0200 spent, and another attempt is expected to cost \$0\.0060$/);
    assert.ok(executor.jobs.every((job) => job.budgetUsd === 0.004), 'each agent is still capped at its share');
  });
});

test('a judge ranks three passing candidates; its order, reasons and cost reach the results and the events', async () => {
  await withHarness({ hold: false, judge: () => ({ output: judgeAnswer([3, 1, 2], 'agent 3 is the clearest') }) }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ select: 'check+judge' }));
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(state.judge?.status, 'ranked');
    assert.deepEqual(state.judge?.ranking, [3, 1, 2]);
    assert.equal(state.judge?.summary, 'agent 3 is the clearest');
    assert.equal(state.ranked_by, 'judge');
    assert.equal(state.ranking_note, null);
    assert.equal(state.recommended_agent_id, 3);
    assert.deepEqual(state.results.map((agent) => agent.rank), [2, 3, 1]);
    assert.equal(state.results[2]?.rank_reasons[0], 'judge: agent 3 reasoned about');
    assert.equal(state.totals?.judge_cost_usd, 0.002);
    assert.equal(state.totals?.cost_usd, 0.005, 'three attempts at $0.001 and the judge');
    const prompt = executor.judgeJobs[0]?.prompt ?? '';
    assert.match(prompt, /^## multiclaude judge/);
    assert.match(prompt, /Candidates: 1, 2, 3/);
    assert.match(prompt, /\+by agent 2/, 'the host put each candidate’s diff in the prompt');
    const log = await events(harness, run_id);
    const verdict = log.find((event) => event.type === 'judge_result');
    assert.ok(verdict?.type === 'judge_result');
    assert.deepEqual(verdict.judge.ranking, [3, 1, 2]);
    assert.ok(log.indexOf(verdict) < log.length - 1, 'before run_finished');
    assert.ok(log.some((event) => event.type === 'agent_result' && event.totals?.attempts_started === 3));
  });
});

test('only passing attempts are judged under check+judge, and a single one needs no judge', async () => {
  await withHarness({ hold: false, check: passesFor(2) }, async (harness, executor) => {
    const { run_id } = await harness.machinery.runs.submit(run({ select: 'check+judge' }));
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(executor.judgeJobs.length, 0);
    assert.deepEqual([state.judge?.status, state.judge?.candidates], ['skipped', [2]]);
    assert.equal(state.ranking_note, 'no judge: only agent 2 is a candidate: nothing to compare');
    assert.equal(state.recommended_agent_id, 2);
  });
});

test('a judge that answers no ranking falls back to the design’s ranking with a note', async () => {
  await withHarness({ hold: false, judge: () => ({ output: 'I cannot decide between these.' }) }, async (harness) => {
    const { run_id } = await harness.machinery.runs.submit(run({ select: 'judge' }));
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(state.judge?.status, 'failed');
    assert.equal(state.ranked_by, 'rules');
    assert.equal(state.ranking_note, 'the judge failed (its answer holds no JSON ranking): ranked by the check and diff rules instead');
    assert.equal(state.recommended_agent_id, 1);
    assert.deepEqual(state.results.map((agent) => agent.rank), [1, 2, 3]);
  });
});

test('a judge that ranks agents that are not the candidates is refused', async () => {
  await withHarness({ hold: false, judge: () => ({ output: judgeAnswer([3, 3, 9]) }) }, async (harness) => {
    const { run_id } = await harness.machinery.runs.submit(run({ select: 'judge' }));
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(state.judge?.status, 'failed');
    assert.match(state.judge?.error ?? '', /names agents 3, 3, 9, not each of the candidates 1, 2, 3 once/);
    assert.equal(state.ranked_by, 'rules');
  });
});

test('a judge that does not answer in time is stopped, and the run falls back to the design’s ranking with a note', async () => {
  const judge = (job: { signal: AbortSignal }) =>
    new Promise<{ status: 'error'; error: string }>((resolve) => job.signal.addEventListener('abort', () => resolve({ status: 'error', error: 'the agent was cancelled' })));
  await withHarness({ hold: false, judge, judgeTimeoutMs: 300 }, async (harness) => {
    const { run_id } = await harness.machinery.runs.submit(run({ select: 'check+judge' }));
    const state = await harness.manager.waitForRun(run_id);
    assert.equal(state.status, 'completed');
    assert.equal(state.judge?.status, 'timed_out');
    assert.equal(state.ranking_note, 'the judge timed out (the judge did not answer within 300 ms): ranked by the check and diff rules instead');
    assert.equal(state.recommended_agent_id, 1);
  });
});

test('a follow-up on a judged run has the judge compare again within the budget, counts both judges, keeps the savings, and starts no more attempts', async () => {
  const orders = [[2, 1], [1, 2]];
  await withHarness(
    {
      hold: false,
      check: passesFor(1, 2, 3),
      outcome: (job) => ({ session_id: `session-${job.agent.agentId}` }),
      judge: () => ({ output: judgeAnswer(orders.shift() ?? []) }),
    },
    async (harness, executor) => {
      // The first batch (agents 1 and 2) passes, so agent 3 is never started: that is the run's saving.
      const { run_id } = await harness.machinery.runs.submit(run({ select: 'check+judge', start_with: 2, budget_usd: 1 }));
      const first = await harness.manager.waitForRun(run_id);
      assert.equal(first.recommended_agent_id, 2);
      assert.equal(first.savings?.agents_not_started, 1);
      await harness.manager.continueAgent(run_id, 1, 'also handle time zones');
      const state = await harness.manager.waitForRun(run_id);
      assert.equal(state.status, 'completed');
      assert.equal(executor.judgeJobs.length, 2, 'the judge compared the candidates again');
      assert.deepEqual(state.judge?.ranking, [1, 2]);
      assert.equal(state.recommended_agent_id, 1);
      assert.equal(state.ranked_by, 'judge');
      assert.equal(state.judge?.cost_usd, 0.004, 'both judge sessions are counted');
      assert.equal(state.totals?.judge_cost_usd, 0.004);
      assert.deepEqual(state.savings, first.savings, 'a follow-up keeps its run’s savings');
      assert.deepEqual(state.results.map((agent) => [agent.status, agent.error ?? null]), first.results.map((agent) => [agent.status, agent.error ?? null]), 'the follow-up started nobody else');
      assert.ok(!executor.started.includes(`${run_id}/3`));
      // The judge's budget is what the attempts and the first judge left of the run's.
      const attempts = state.results.reduce((sum, agent) => sum + agent.cost_usd, 0);
      assert.ok(Math.abs((executor.judgeJobs[1]?.budgetUsd ?? 0) - (1 - attempts - 0.002)) < 1e-9);
      assert.equal(state.followups.length, 1);
    },
  );
});
