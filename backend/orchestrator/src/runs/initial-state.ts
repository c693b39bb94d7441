// The state of a run at the moment it is accepted: every agent pending on its own branch, nothing spent.
import type { AgentState, CreateRunRequest, RunState } from '@multiclaude/contract';
import type { RunRepository } from '../git/run-repository.ts';
import type { ResolvedSource } from '../git/source.ts';
import { summarize } from './run-state.ts';
import { strategyOf } from './selection.ts';

export function initialRunState(
  request: CreateRunRequest,
  repository: RunRepository,
  createdAt: Date,
  queuePosition: number,
  source?: ResolvedSource,
): RunState {
  const results: AgentState[] = repository.agents.map((agent) => ({
    agent_id: agent.agentId,
    status: 'pending',
    output: '',
    workspace: { worktree_path: agent.relativeWorktree, branch_name: agent.branchName },
    messages: [],
    usage: { input_tokens: 0, output_tokens: 0 },
    cost_usd: 0,
    duration_ms: null,
    num_turns: 0,
    started_at: null,
    finished_at: null,
    check: null,
    diff_stats: null,
    rank: null,
    rank_reasons: [],
    recommended: false,
    session_id: null,
    status_detail: null,
  }));
  return {
    status: 'queued',
    queue_position: queuePosition,
    prompt: request.prompt,
    agent_count: request.agent_count,
    created_at: createdAt.toISOString(),
    started_at: null,
    finished_at: null,
    run_info: {
      run_id: repository.paths.runId,
      run_dir: repository.paths.relativeDirectory,
      git_initialized: true,
      run_path: repository.paths.directory,
      ...(source ? { source: { repo: source.repo, ref: source.ref, commit: repository.baseCommit } } : {}),
    },
    summary: summarize(results),
    results,
    check_command: request.check_command ?? null,
    base_commit: repository.baseCommit,
    recommended_agent_id: null,
    no_recommendation_reason: null,
    merges: [],
    strategy: strategyOf(request),
    totals: null,
    savings: null,
    judge: null,
    ranked_by: 'rules',
    ranking_note: null,
    budget_usd: request.budget_usd ?? null,
    followups: [],
    setup_command: request.setup_command ?? null,
    setup: null,
    pushes: [],
  };
}
