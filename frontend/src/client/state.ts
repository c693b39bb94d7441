// What the page knows about one run, as a pure reducer over the run's snapshot (GET /runs/:id) and its event stream.
import type { AgentState, AgentStatus, CheckResult, DiffStats, FollowUp, JudgeVerdict, MergeRecord, RunEvent, RunSource, RunState, RunStatus, RunStrategy, RunTotals as RunSpending, Savings, SetupResult, Usage } from '@multiclaude/contract';

export type TimelineItem =
  | { kind: 'text'; text: string }
  | { kind: 'followup'; text: string }
  | { kind: 'tool'; tool: string; input_summary: string; result: { text: string; is_error: boolean } | null };

export interface AgentView {
  agent_id: number;
  status: AgentStatus;
  branch: string | null;
  worktree: string | null;
  /** What the agent said and did, in order, as it streamed. */
  timeline: TimelineItem[];
  output: string;
  error: string | null;
  /** What the agent is doing within its status: waiting for a slot, starting its sandbox. */
  status_detail: string | null;
  /** Its SDK session, which a follow-up resumes; null when it never started one. */
  session_id: string | null;
  /** null until its first model turn: never a false 0. */
  usage: Usage | null;
  cost_usd: number | null;
  /** The model's own time (the SDK's session time), not the wall clock. */
  duration_ms: number | null;
  num_turns: number | null;
  started_at: string | null;
  finished_at: string | null;
  /** Review: the run's check in this agent's sandbox, its diff against the base, and its rank once the run ends. */
  check: CheckResult | null;
  diff_stats: DiffStats | null;
  rank: number | null;
  rank_reasons: string[];
  recommended: boolean;
}

export interface RunView {
  run_id: string;
  status: RunStatus;
  queue_position: number | null;
  prompt: string | null;
  agent_count: number;
  run_dir: string | null;
  /** The run repository's absolute path on the orchestrator's machine. */
  run_path: string | null;
  budget_usd: number | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  agents: AgentView[];
  check_command: string | null;
  recommended_agent_id: number | null;
  no_recommendation_reason: string | null;
  merges: MergeRecord[];
  /** Best-of-N: how the run spends its attempts, what it spent and saved, and the judge's verdict. */
  strategy: RunStrategy | null;
  spending: RunSpending | null;
  savings: Savings | null;
  judge: JudgeVerdict | null;
  ranked_by: 'rules' | 'judge';
  ranking_note: string | null;
  followups: FollowUp[];
  /** Follow-ups the last snapshot knew of: when the event stream has shown fewer, more events are to come. */
  known_followups: number;
  /** Where the run started (a source repository and ref), if not a fresh repository. */
  source: RunSource | null;
  setup_command: string | null;
  /** The setup_command's outcome, once it has run. */
  setup: SetupResult | null;
  /** The id of the last event applied; events at or below it are repeats and are ignored. */
  last_event_id: number;
  /** Set by `run_finished`, the stream's last event. */
  finished: boolean;
}

const ACTIVE_AGENT: ReadonlySet<AgentStatus> = new Set(['pending', 'running']);
const ACTIVE_RUN: ReadonlySet<RunStatus> = new Set(['queued', 'running']);

export function isAgentActive(status: AgentStatus): boolean {
  return ACTIVE_AGENT.has(status);
}

export function isRunActive(view: RunView): boolean {
  return !view.finished && ACTIVE_RUN.has(view.status);
}

function newAgent(agentId: number): AgentView {
  return {
    agent_id: agentId,
    status: 'pending',
    branch: null,
    worktree: null,
    timeline: [],
    output: '',
    error: null,
    status_detail: null,
    session_id: null,
    usage: null,
    cost_usd: null,
    duration_ms: null,
    num_turns: null,
    started_at: null,
    finished_at: null,
    check: null,
    diff_stats: null,
    rank: null,
    rank_reasons: [],
    recommended: false,
  };
}

/** A run the page has only just heard of, e.g. from POST /submit's answer. */
export function newRun(runId: string, agentCount: number, prompt: string | null = null): RunView {
  return {
    run_id: runId,
    status: 'queued',
    queue_position: null,
    prompt,
    agent_count: agentCount,
    run_dir: null,
    run_path: null,
    budget_usd: null,
    created_at: null,
    started_at: null,
    finished_at: null,
    agents: Array.from({ length: agentCount }, (_, index) => newAgent(index + 1)),
    check_command: null,
    recommended_agent_id: null,
    no_recommendation_reason: null,
    merges: [],
    strategy: null,
    spending: null,
    savings: null,
    judge: null,
    ranked_by: 'rules',
    ranking_note: null,
    followups: [],
    known_followups: 0,
    source: null,
    setup_command: null,
    setup: null,
    last_event_id: 0,
    finished: false,
  };
}

function updateAgent(view: RunView, agentId: number, change: (agent: AgentView) => AgentView): RunView {
  const existing = view.agents.find((agent) => agent.agent_id === agentId);
  const updated = change(existing ?? newAgent(agentId));
  const agents = existing
    ? view.agents.map((agent) => (agent === existing ? updated : agent))
    : [...view.agents, updated].sort((a, b) => a.agent_id - b.agent_id);
  return { ...view, agents, agent_count: Math.max(view.agent_count, agents.length) };
}

function mergeAgentState(agent: AgentView, state: AgentState, includeProgress: boolean): AgentView {
  const merged: AgentView = { ...agent, branch: state.workspace.branch_name, worktree: state.workspace.worktree_path };
  if (!includeProgress) return merged;
  return {
    ...merged,
    status: state.status,
    output: state.output,
    error: state.error ?? null,
    status_detail: state.status_detail ?? null,
    session_id: state.session_id ?? null,
    // A 0 before the first model turn is "nothing yet", not a count.
    usage: state.num_turns > 0 || state.cost_usd > 0 ? state.usage : null,
    cost_usd: state.num_turns > 0 || state.cost_usd > 0 ? state.cost_usd : null,
    duration_ms: state.duration_ms,
    num_turns: state.num_turns,
    started_at: state.started_at,
    finished_at: state.finished_at,
    check: state.check ?? null,
    diff_stats: state.diff_stats ?? null,
    rank: state.rank ?? null,
    rank_reasons: state.rank_reasons ?? [],
    recommended: state.recommended ?? false,
  };
}

/** The setup's outcome: the snapshot's, unless an event already brought it. */
function setupOf(view: RunView, state: RunState): SetupResult | null {
  return view.setup ?? state.setup ?? null;
}

/**
 * Takes what GET /runs/:id says. Names (prompt, run dir, branches) always; progress only before any event,
 * because the snapshot may be older than events already applied and must not move the run backwards.
 */
export function applySnapshot(view: RunView, state: RunState): RunView {
  const includeProgress = view.last_event_id === 0;
  let next: RunView = {
    ...view,
    prompt: state.prompt,
    agent_count: state.agent_count,
    run_dir: state.run_info.run_dir,
    run_path: state.run_info.run_path ?? null,
    budget_usd: state.budget_usd ?? null,
    created_at: state.created_at,
    check_command: state.check_command ?? null,
    known_followups: (state.followups ?? []).length,
    source: state.run_info.source ?? null,
    setup_command: state.setup_command ?? null,
    setup: setupOf(view, state),
    // Merges happen after the run, outside the event stream: the snapshot is their only source.
    merges: state.merges ?? [],
    strategy: state.strategy ?? null,
  };
  if (includeProgress) {
    next = {
      ...next,
      status: state.status,
      queue_position: state.queue_position,
      started_at: state.started_at,
      finished_at: state.finished_at,
      recommended_agent_id: state.recommended_agent_id ?? null,
      no_recommendation_reason: state.no_recommendation_reason ?? null,
      finished: state.status !== 'queued' && state.status !== 'running',
      ...selectionOf(state),
    };
  }
  for (const result of state.results) {
    next = updateAgent(next, result.agent_id, (agent) => mergeAgentState(agent, result, includeProgress));
  }
  return next;
}

/** The run's spending, savings and verdict as a state carries them (older runs have none). */
function selectionOf(state: RunState): Pick<RunView, 'spending' | 'savings' | 'judge' | 'ranked_by' | 'ranking_note'> {
  return {
    spending: state.totals ?? null,
    savings: state.savings ?? null,
    judge: state.judge ?? null,
    ranked_by: state.ranked_by ?? 'rules',
    ranking_note: state.ranking_note ?? null,
  };
}

/** The last tool call of the timeline that has no result yet, which a tool result answers. */
function attachToolResult(timeline: TimelineItem[], result: { text: string; is_error: boolean }): TimelineItem[] {
  for (let index = timeline.length - 1; index >= 0; index -= 1) {
    const item = timeline[index];
    if (item?.kind === 'tool' && item.result === null) {
      return [...timeline.slice(0, index), { ...item, result }, ...timeline.slice(index + 1)];
    }
  }
  // A result with no call to hang on (should not happen): keep it visible rather than drop it.
  return [...timeline, { kind: 'tool', tool: '?', input_summary: '', result }];
}

/** Applies one event of the run's stream. Events of another run, and repeats, leave the view as it is. */
export function applyEvent(view: RunView, event: RunEvent): RunView {
  if (event.run_id !== view.run_id || event.id <= view.last_event_id) return view;
  const next = { ...view, last_event_id: event.id };
  switch (event.type) {
    case 'run_status': {
      const active = ACTIVE_RUN.has(event.status);
      return {
        ...next,
        status: event.status,
        queue_position: event.queue_position,
        started_at: event.status === 'running' ? (next.started_at ?? event.at) : next.started_at,
        // A follow-up runs an ended run again, until its next run_finished.
        finished: active ? false : next.finished,
        finished_at: active ? null : next.finished_at,
      };
    }
    case 'setup_result':
      return { ...next, setup: event.result };
    case 'agent_followup':
      return updateAgent(
        { ...next, followups: [...next.followups, { agent_id: event.agent_id, prompt: event.prompt, requested_at: event.at }], finished: false },
        event.agent_id,
        (agent) => ({ ...agent, status: 'pending', error: null, check: null, started_at: null, finished_at: null, timeline: [...agent.timeline, { kind: 'followup', text: event.prompt }] }),
      );
    case 'agent_status':
      return updateAgent(next, event.agent_id, (agent) => {
        const starting = event.status === 'running' && agent.status !== 'running';
        return {
          ...agent,
          status: event.status,
          status_detail: event.detail ?? null,
          error: isAgentActive(event.status) ? null : (event.error ?? agent.error),
          started_at: starting ? event.at : agent.started_at,
          finished_at: isAgentActive(event.status) ? null : (agent.finished_at ?? event.at),
        };
      });
    case 'agent_usage':
      return updateAgent(next, event.agent_id, (agent) => ({ ...agent, usage: event.usage, cost_usd: event.cost_usd, num_turns: event.num_turns }));
    case 'agent_text':
      return updateAgent(next, event.agent_id, (agent) => ({ ...agent, timeline: [...agent.timeline, { kind: 'text', text: event.text }] }));
    case 'agent_tool_call':
      return updateAgent(next, event.agent_id, (agent) => ({
        ...agent,
        timeline: [...agent.timeline, { kind: 'tool', tool: event.tool, input_summary: event.input_summary, result: null }],
      }));
    case 'agent_tool_result':
      return updateAgent(next, event.agent_id, (agent) => ({
        ...agent,
        timeline: attachToolResult(agent.timeline, { text: event.text, is_error: event.is_error }),
      }));
    case 'agent_result':
      return updateAgent({ ...next, spending: event.totals ?? next.spending }, event.agent_id, (agent) => mergeAgentState(agent, event.result, true));
    case 'judge_result':
      return { ...next, judge: event.judge, spending: event.totals };
    case 'run_finished': {
      let finished: RunView = {
        ...next,
        status: event.run.status,
        queue_position: null,
        prompt: event.run.prompt,
        run_dir: event.run.run_info.run_dir,
        run_path: event.run.run_info.run_path ?? null,
        setup: next.setup ?? event.run.setup ?? null,
        started_at: event.run.started_at,
        finished_at: event.run.finished_at,
        recommended_agent_id: event.run.recommended_agent_id ?? null,
        no_recommendation_reason: event.run.no_recommendation_reason ?? null,
        known_followups: Math.max(next.known_followups, (event.run.followups ?? []).length),
        strategy: event.run.strategy ?? null,
        ...selectionOf(event.run),
        finished: true,
      };
      for (const result of event.run.results) {
        finished = updateAgent(finished, result.agent_id, (agent) => mergeAgentState(agent, result, true));
      }
      return finished;
    }
  }
}

/** Records a merge the page just made, so its panel shows it without reloading the run. */
export function applyMerge(view: RunView, merge: MergeRecord): RunView {
  return { ...view, merges: [...view.merges.filter((existing) => existing.commit !== merge.commit), merge] };
}

/** The agent's latest merge into main, if any. */
export function mergeOf(view: RunView, agentId: number): MergeRecord | null {
  return view.merges.filter((merge) => merge.agent_id === agentId).at(-1) ?? null;
}

/** A finished agent that committed work can be merged once the whole run has ended. */
export function canMerge(view: RunView, agent: AgentView): boolean {
  return !isRunActive(view) && agent.status === 'success' && (agent.diff_stats === null || agent.diff_stats.files > 0);
}

/** Wall-clock time from the agent's start to its end (or to now while it works); the model's own time is `duration_ms`. */
export function agentElapsedMs(agent: AgentView, nowMs: number): number | null {
  if (agent.started_at === null) return null;
  const end = agent.finished_at === null ? nowMs : Date.parse(agent.finished_at);
  return Math.max(0, end - Date.parse(agent.started_at));
}

export interface RunTotals {
  by_status: Record<AgentStatus, number>;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export function runTotals(view: RunView): RunTotals {
  const totals: RunTotals = {
    by_status: { pending: 0, running: 0, success: 0, error: 0, cancelled: 0 },
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
  };
  for (const agent of view.agents) {
    totals.by_status[agent.status] += 1;
    totals.input_tokens += agent.usage?.input_tokens ?? 0;
    totals.output_tokens += agent.usage?.output_tokens ?? 0;
    totals.cost_usd += agent.cost_usd ?? 0;
  }
  return totals;
}

/** A finished agent with a session can take a follow-up once its run has ended. */
export function canFollowUp(view: RunView, agent: AgentView): boolean {
  return !isRunActive(view) && !isAgentActive(agent.status) && agent.session_id !== null;
}

/** After a run_finished: whether the run's events go on (a follow-up the snapshot knows of has not been replayed yet). */
export function moreEventsExpected(view: RunView): boolean {
  return view.followups.length < view.known_followups;
}
