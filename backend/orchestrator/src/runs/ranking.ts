// Ranks a run's attempts, best first, with the reasons: check passed, then fewer failing check lines, then a smaller diff, then lower cost; a judge's order, when there is one, goes before these rules.
import type { AgentState } from '@multiclaude/contract';

const FAILURE_LINE = /\b(fail(ed|ing|ure|s)?|error|errors|not ok)\b|✖|✗/i;

/** Lines of the check's output that read as failures (test runners' "✖", "not ok", "FAIL"...). */
export function failingLines(output: string): number {
  return output.split('\n').filter((line) => FAILURE_LINE.test(line)).length;
}

function outcomeClass(agent: AgentState): number {
  if (agent.status === 'cancelled') return 5;
  if (agent.status !== 'success') return 4;
  if (!agent.diff_stats || agent.diff_stats.files === 0) return 3;
  if (!agent.check) return 1;
  return agent.check.status === 'passed' ? 0 : 2;
}

function diffSize(agent: AgentState): number {
  return (agent.diff_stats?.insertions ?? 0) + (agent.diff_stats?.deletions ?? 0);
}

function reasons(agent: AgentState): string[] {
  const list: string[] = [];
  if (agent.status !== 'success') list.push(`agent ended with ${agent.status}`);
  if (agent.check) {
    const failing = failingLines(agent.check.output_tail);
    list.push(agent.check.status === 'passed' ? 'check passed' : `check ${agent.check.status.replace('_', ' ')}`);
    if (failing > 0) list.push(`${failing} failing line${failing === 1 ? '' : 's'} in check output`);
  }
  if (!agent.diff_stats || agent.diff_stats.files === 0) list.push('no changes committed');
  else {
    const { files, insertions, deletions } = agent.diff_stats;
    list.push(`diff +${insertions} −${deletions} in ${files} file${files === 1 ? '' : 's'}`);
  }
  list.push(`cost $${agent.cost_usd.toFixed(4)}`);
  return list;
}

export interface Ranking {
  agentId: number;
  rank: number;
  reasons: string[];
}

/** A judge's order over some of the agents, best first, with its reason for each. */
export interface JudgeOrder {
  ranking: number[];
  reasons: Array<{ agent_id: number; reason: string }>;
}

/**
 * Best first. With a judge's order, the agents it ranked come first in its order (its reason leading
 * theirs); the rest follow by the design's rules.
 */
export function rankAgents(agents: AgentState[], judge?: JudgeOrder): Ranking[] {
  const byRules = rankByRules(agents);
  if (!judge || judge.ranking.length === 0) return byRules;
  const judged = judge.ranking.flatMap((agentId) => byRules.filter((ranking) => ranking.agentId === agentId));
  const rest = byRules.filter((ranking) => !judge.ranking.includes(ranking.agentId));
  return [...judged, ...rest].map((ranking, index) => {
    const reason = judge.reasons.find((entry) => entry.agent_id === ranking.agentId)?.reason;
    return { ...ranking, rank: index + 1, reasons: reason ? [`judge: ${reason}`, ...ranking.reasons] : ranking.reasons };
  });
}

function rankByRules(agents: AgentState[]): Ranking[] {
  const ordered = [...agents].sort(
    (a, b) =>
      outcomeClass(a) - outcomeClass(b) ||
      failingLines(a.check?.output_tail ?? '') - failingLines(b.check?.output_tail ?? '') ||
      diffSize(a) - diffSize(b) ||
      a.cost_usd - b.cost_usd ||
      a.agent_id - b.agent_id,
  );
  return ordered.map((agent, index) => ({ agentId: agent.agent_id, rank: index + 1, reasons: reasons(agent) }));
}

export interface Recommendation {
  agentId: number | null;
  /** Why there is none, when there is none. */
  reason: string | null;
}

/**
 * The attempt to recommend: the best ranked one, if it succeeded with changes and did not fail its check.
 * Without a check command nothing tells the attempts apart but diff size and cost, so none is recommended,
 * unless a judge has compared them.
 */
export function recommendedAgent(agents: AgentState[], checkCommand: string | null, judge?: JudgeOrder): Recommendation {
  if (!checkCommand && !judge?.ranking.length) {
    return { agentId: null, reason: 'no check command: nothing tested the attempts, so none is recommended; compare their diffs' };
  }
  const best = rankAgents(agents, judge)[0];
  const agent = agents.find((candidate) => candidate.agent_id === best?.agentId);
  if (agent && outcomeClass(agent) <= 1) return { agentId: agent.agent_id, reason: null };
  return { agentId: null, reason: 'no attempt succeeded with committed changes and a check that did not fail' };
}
