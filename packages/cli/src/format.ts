// Turns run state into text for people: one progress line per agent, the ranking table, the run list, and the number formats they share.
import type { AgentState, RunEvent, RunListItem, RunState } from '@multiclaude/contract';

/** What the progress view knows about one agent, from the event stream. */
export interface AgentProgress {
  agent_id: number;
  status: string;
  /** Tool calls seen so far; the server reports turns, tokens and cost only when the agent ends. */
  tool_calls: number;
  last_tool: string | undefined;
  num_turns: number | undefined;
  tokens: number | undefined;
  cost_usd: number | undefined;
  check: string | undefined;
  error: string | undefined;
}

export interface RunProgress {
  run_id: string;
  status: string;
  queue_position: number | null;
  agents: Map<number, AgentProgress>;
}

export function emptyProgress(runId: string, agentCount: number): RunProgress {
  const agents = new Map<number, AgentProgress>();
  for (let id = 1; id <= agentCount; id += 1) agents.set(id, blankAgent(id));
  return { run_id: runId, status: 'queued', queue_position: null, agents };
}

function blankAgent(agentId: number): AgentProgress {
  return { agent_id: agentId, status: 'pending', tool_calls: 0, last_tool: undefined, num_turns: undefined, tokens: undefined, cost_usd: undefined, check: undefined, error: undefined };
}

/** Tools reach the agent through an MCP server, so their names carry its prefix (`mcp__sandbox__Write`); people know them as `Write`. */
export function toolName(tool: string): string {
  return tool.startsWith('mcp__') ? (tool.split('__').at(-1) ?? tool) : tool;
}

/** An agent's own worktree path says nothing new in its line; `.` is shorter. */
export function shortenPaths(text: string): string {
  // The host's path of the agent's repository, or where its sandbox shows it (/workspace in Docker,
  // /mnt/workspace in the local runtime's namespace).
  return text.replace(/(?:(?:\/[^\s'"/]+)*\/worktrees\/agent-\d+|(?<![^\s'"(])\/(?:mnt\/)?workspace)(?=[/'"\s]|$)/g, '.');
}

/** Applies one event; returns the agent whose line changed (undefined for run-level events). */
export function applyEvent(progress: RunProgress, event: RunEvent): number | undefined {
  switch (event.type) {
    case 'run_status':
      progress.status = event.status;
      progress.queue_position = event.queue_position;
      return undefined;
    case 'run_finished':
      progress.status = event.run.status;
      for (const result of event.run.results) fromState(agentOf(progress, result.agent_id), result);
      return undefined;
    case 'agent_status': {
      const agent = agentOf(progress, event.agent_id);
      agent.status = event.status;
      if (event.error) agent.error = event.error;
      return agent.agent_id;
    }
    case 'agent_tool_call': {
      const agent = agentOf(progress, event.agent_id);
      agent.tool_calls += 1;
      agent.last_tool = `${toolName(event.tool)} ${shortenPaths(event.input_summary)}`.trim();
      return agent.agent_id;
    }
    case 'agent_result':
      fromState(agentOf(progress, event.agent_id), event.result);
      return event.agent_id;
    default:
      return undefined;
  }
}

function agentOf(progress: RunProgress, agentId: number): AgentProgress {
  let agent = progress.agents.get(agentId);
  if (!agent) {
    agent = blankAgent(agentId);
    progress.agents.set(agentId, agent);
  }
  return agent;
}

function fromState(agent: AgentProgress, state: AgentState): void {
  agent.status = state.status;
  agent.num_turns = state.num_turns;
  agent.tokens = state.usage.input_tokens + state.usage.output_tokens;
  agent.cost_usd = state.cost_usd;
  agent.check = state.check?.status;
  if (state.error) agent.error = state.error;
}

export function formatTokens(tokens: number | undefined): string {
  if (tokens === undefined) return '-';
  if (tokens < 1_000) return String(tokens);
  if (tokens < 1_000_000) return `${(tokens / 1_000).toFixed(1)}k`;
  return `${(tokens / 1_000_000).toFixed(2)}M`;
}

export function formatCost(cost: number | undefined): string {
  return cost === undefined ? '-' : `$${cost.toFixed(4)}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `agent 2  running   turns -   tokens -      $-        tools 3  last: Write agent-2.md` */
export function agentLine(agent: AgentProgress, width = 120): string {
  const head = [
    `agent ${agent.agent_id}`.padEnd(9),
    agent.status.padEnd(9),
    `turns ${agent.num_turns ?? '-'}`.padEnd(9),
    `tokens ${formatTokens(agent.tokens)}`.padEnd(14),
    formatCost(agent.cost_usd).padEnd(9),
    `tools ${agent.tool_calls}`.padEnd(9),
  ].join(' ');
  const check = agent.check ? `check ${agent.check}  ` : '';
  const tail = agent.error ? `error: ${agent.error}` : agent.last_tool ? `last: ${agent.last_tool}` : '';
  return `${head} ${check}${oneLine(tail, Math.max(20, width - head.length - check.length - 1))}`.trimEnd();
}

export function runHeader(progress: RunProgress): string {
  const queue = progress.status === 'queued' && progress.queue_position !== null ? ` (position ${progress.queue_position} in the queue)` : '';
  return `run ${progress.run_id}: ${progress.status}${queue}`;
}

/** Aligns columns of plain text; the last column is left as long as it is. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function diffCell(agent: AgentState): string {
  if (!agent.diff_stats) return '-';
  const { files, insertions, deletions } = agent.diff_stats;
  return `${files} file${files === 1 ? '' : 's'} +${insertions} -${deletions}`;
}

/** The ranking: best first, agents without a rank last, with why each is where it is. */
export function rankingTable(run: RunState): string {
  const agents = [...run.results].sort((a, b) => (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER) || a.agent_id - b.agent_id);
  return table(
    ['rank', 'agent', 'status', 'check', 'diff', 'cost', 'reasons'],
    agents.map((agent) => [
      agent.rank === null ? '-' : String(agent.rank),
      `${agent.agent_id}${agent.recommended ? ' *' : ''}`,
      agent.status,
      agent.check?.status ?? (run.check_command ? 'none' : '-'),
      diffCell(agent),
      formatCost(agent.cost_usd),
      agent.error ? `error: ${oneLine(agent.error, 80)}` : agent.rank_reasons.join('; '),
    ]),
  );
}

/** Best of N: the judge's verdict or why the ranking is not its, and what stopping early saved; nothing for a plain run. */
export function selectionLines(run: RunState): string[] {
  const lines: string[] = [];
  const judge = run.judge;
  if (judge?.status === 'ranked') {
    lines.push(`judge: ${judge.ranking.map((agent) => `agent ${agent}`).join(' > ')} (${formatCost(judge.cost_usd)})${judge.summary ? `: ${oneLine(judge.summary, 200)}` : ''}`);
  } else if (run.ranking_note) {
    lines.push(`ranking: ${run.ranking_note}`);
  }
  const savings = run.savings;
  if (savings) {
    const parts = [savings.agents_stopped ? `${savings.agents_stopped} stopped` : '', savings.agents_not_started ? `${savings.agents_not_started} not started` : ''].filter(Boolean);
    lines.push(`saved: about ${formatCost(savings.estimated_cost_usd)} (${parts.join(', ')})`);
  }
  return lines;
}

/** The recommended attempt and how to take it, after what chose it (best of N). */
export function recommendation(run: RunState): string {
  const runId = run.run_info.run_id;
  const before = selectionLines(run).map((line) => `${line}\n`).join('');
  const best = run.results.find((agent) => agent.agent_id === run.recommended_agent_id);
  if (!best) return `${before}recommended: none (${run.no_recommendation_reason ?? 'no agent succeeded with a change'})`;
  const chosen = run.ranked_by === 'judge' ? ', chosen by the judge' : '';
  return `${before}recommended: agent ${best.agent_id} (branch ${best.workspace.branch_name}${chosen}): multiclaude diff ${runId} ${best.agent_id}; multiclaude merge ${runId} ${best.agent_id}`;
}

/** A run succeeded when at least one attempt did, and passed its check when the run has one. */
export function runSucceeded(run: RunState): boolean {
  return run.results.some((agent) => agent.status === 'success' && (!run.check_command || agent.check?.status === 'passed'));
}

export function runSummary(run: RunState): string {
  const agents = run.results.reduce(
    (sum, agent) => ({ tokens: sum.tokens + agent.usage.input_tokens + agent.usage.output_tokens, cost: sum.cost + agent.cost_usd }),
    { tokens: 0, cost: 0 },
  );
  // A judge's session counts too (best of N).
  const judge = run.judge;
  const totals = judge ? { tokens: agents.tokens + judge.usage.input_tokens + judge.usage.output_tokens, cost: agents.cost + judge.cost_usd } : agents;
  const { summary } = run;
  return `run ${run.run_info.run_id} ${run.status}: ${summary.successful} succeeded, ${summary.failed} failed, ${summary.cancelled} cancelled; tokens ${formatTokens(totals.tokens)}, cost ${formatCost(totals.cost)}; run directory ${run.run_info.run_dir}`;
}

export function runListTable(runs: RunListItem[]): string {
  return table(
    ['run', 'status', 'agents', 'ok', 'created', 'prompt'],
    runs.map((run) => [run.run_id, run.status, String(run.agent_count), String(run.summary.successful), run.created_at.replace(/\.\d+Z$/, 'Z'), oneLine(run.prompt, 60)]),
  );
}

/** One event as one line, for `multiclaude logs`: its id first, so a reader can resume with --after. */
export function eventLine(event: RunEvent): string {
  const prefix = `${event.id} ${event.at}`;
  switch (event.type) {
    case 'run_status':
      return `${prefix} run ${event.status}${event.queue_position !== null ? ` (queue position ${event.queue_position})` : ''}`;
    case 'agent_status':
      return `${prefix} agent ${event.agent_id} ${event.status}${event.error ? `: ${oneLine(event.error, 200)}` : ''}${event.detail ? ` (${event.detail})` : ''}`;
    case 'agent_usage':
      return `${prefix} agent ${event.agent_id} usage ${event.usage.input_tokens} in / ${event.usage.output_tokens} out, $${event.cost_usd.toFixed(4)}, ${event.num_turns} turns`;
    case 'agent_followup':
      return `${prefix} agent ${event.agent_id} follow-up: ${oneLine(event.prompt, 200)}`;
    case 'agent_text':
      return `${prefix} agent ${event.agent_id} says: ${oneLine(event.text, 200)}`;
    case 'agent_tool_call':
      return `${prefix} agent ${event.agent_id} tool ${toolName(event.tool)} ${oneLine(shortenPaths(event.input_summary), 160)}`;
    case 'agent_tool_result':
      return `${prefix} agent ${event.agent_id} tool ${event.is_error ? 'failed' : 'result'}: ${oneLine(event.text, 160)}`;
    case 'agent_result':
      return `${prefix} agent ${event.agent_id} finished ${event.result.status}: turns ${event.result.num_turns}, tokens ${formatTokens(event.result.usage.input_tokens + event.result.usage.output_tokens)}, ${formatCost(event.result.cost_usd)}`;
    case 'judge_result':
      return `${prefix} judge ${event.judge.status}${event.judge.ranking.length ? `: ${event.judge.ranking.map((agent) => `agent ${agent}`).join(' > ')}` : ''}${event.judge.error ? `: ${oneLine(event.judge.error, 200)}` : ''}, ${formatCost(event.judge.cost_usd)}`;
    case 'setup_result':
      return `${prefix} setup ${event.result.status}${event.result.exit_code !== null ? ` (exit ${event.result.exit_code})` : ''}${event.result.copied_paths.length ? `, gave every agent ${event.result.copied_paths.join(', ')}` : ''}`;
    case 'run_finished':
      return `${prefix} run finished ${event.run.status}`;
  }
}
