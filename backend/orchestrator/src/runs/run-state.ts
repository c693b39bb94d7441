// Pure functions over run state: summaries, terminal states, interruption, and the /orchestrate view of a run.
import type { AgentState, AgentStatus, OrchestrateResponse, RunState } from '@multiclaude/contract';
import { rankAgents, recommendedAgent } from './ranking.ts';

export function isTerminal(status: AgentStatus): boolean {
  return status === 'success' || status === 'error' || status === 'cancelled';
}

/** A run that will emit no more events. */
export function isTerminalRun(status: RunState['status'] | undefined): boolean {
  return status === 'completed' || status === 'cancelled' || status === 'interrupted';
}

export function summarize(results: AgentState[]): RunState['summary'] {
  return {
    total_agents: results.length,
    successful: results.filter((result) => result.status === 'success').length,
    failed: results.filter((result) => result.status === 'error').length,
    cancelled: results.filter((result) => result.status === 'cancelled').length,
  };
}

export const INTERRUPTED_ERROR = 'interrupted: the orchestrator running this agent stopped; its commits are kept';

/** Sets every agent's rank, reasons and the recommended attempt, in place: by the judge's verdict when it ranked, else by the rules. */
export function applyRanking(state: RunState): void {
  const judge = state.judge?.status === 'ranked' ? state.judge : undefined;
  state.ranked_by = judge ? 'judge' : 'rules';
  const { agentId: recommended, reason } = recommendedAgent(state.results, state.check_command, judge);
  for (const ranking of rankAgents(state.results, judge)) {
    const agent = state.results.find((result) => result.agent_id === ranking.agentId)!;
    agent.rank = ranking.rank;
    agent.rank_reasons = ranking.reasons;
    agent.recommended = ranking.agentId === recommended;
  }
  state.recommended_agent_id = recommended;
  state.no_recommendation_reason = reason;
}

/** The state of a run whose owner died: unfinished agents end in error, the run in `interrupted`. */
export function interruptState(state: RunState, now: string): RunState {
  const results = state.results.map((result) =>
    isTerminal(result.status) ? result : { ...result, status: 'error' as const, error: INTERRUPTED_ERROR, finished_at: now },
  );
  return { ...state, status: 'interrupted', queue_position: null, finished_at: now, results, summary: summarize(results) };
}

/**
 * The design's synchronous response for a finished run. Its status has only success and error, so an
 * agent cancelled by a user reads as an error named "cancelled"; `failed` counts both.
 */
export function toOrchestrateResponse(state: RunState): OrchestrateResponse {
  const results = state.results.map((result) => ({
    agent_id: result.agent_id,
    status: result.status === 'success' ? ('success' as const) : ('error' as const),
    output: result.output,
    ...(result.status !== 'success' ? { error: result.error ?? result.status } : {}),
    workspace: result.workspace,
    messages: result.messages,
  }));
  const successful = results.filter((result) => result.status === 'success').length;
  return {
    status: 'completed',
    run_info: state.run_info,
    summary: { total_agents: results.length, successful, failed: results.length - successful },
    results,
  };
}
