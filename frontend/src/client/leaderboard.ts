// The leaderboard of a best-of-N run, under the overview: every attempt by rank with its check, tokens, cost and time and why it stands there; the winner and why, the judge's verdict or why there is none, what stopping early saved, and the run's totals.
import { agentElapsedMs, type AgentView, type RunView } from './state.ts';
import { byId, el, showMessage } from './dom.ts';
import { formatCost, formatDuration, formatTokens } from './format.ts';

function checkCell(agent: AgentView): string {
  if (!agent.check) return '—';
  return agent.check.status.replace('_', ' ');
}

/** Why the attempt stands where it does: its rank reasons, else why it ended (a stop, a cancel, an error). */
function whyCell(agent: AgentView): string {
  if (agent.status === 'cancelled' || agent.status === 'error') return agent.error ?? agent.status;
  if (agent.rank_reasons.length) return agent.rank_reasons.join('; ');
  return agent.status === 'success' ? 'finished' : agent.status;
}

function byRank(a: AgentView, b: AgentView): number {
  return (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER) || a.agent_id - b.agent_id;
}

function winnerText(view: RunView): string | null {
  if (!view.finished) return null;
  const winner = view.agents.find((agent) => agent.agent_id === view.recommended_agent_id);
  if (!winner) return `No attempt to recommend: ${view.no_recommendation_reason ?? 'none succeeded with a change that passed its check'}.`;
  const why = view.ranked_by === 'judge' ? (view.judge?.summary || winner.rank_reasons[0] || 'ranked first by the judge') : winner.rank_reasons.join('; ');
  return `Agent ${winner.agent_id} wins${view.ranked_by === 'judge' ? ' (chosen by the judge)' : ''}: ${why}`;
}

function judgeText(view: RunView): string | null {
  const judge = view.judge;
  if (!judge) return null;
  if (judge.status === 'ranked') {
    return `Judge ranked agents ${judge.ranking.join(', ')} (${formatTokens(judge.usage.input_tokens, judge.usage.output_tokens)}, ${formatCost(judge.cost_usd)}, ${formatDuration(judge.duration_ms)}).`;
  }
  return null;
}

function savingsText(view: RunView): string | null {
  const savings = view.savings;
  if (!savings) return null;
  const parts = [
    savings.agents_stopped ? `${savings.agents_stopped} stopped` : '',
    savings.agents_not_started ? `${savings.agents_not_started} not started` : '',
  ].filter(Boolean);
  return `Saved about ${formatCost(savings.estimated_cost_usd)} (${parts.join(', ')}): ${savings.basis}.`;
}

function totalsText(view: RunView): string | null {
  const spending = view.spending;
  if (!spending) return null;
  const parts = [
    `${spending.attempts_started} of ${view.agent_count} attempts started`,
    formatTokens(spending.input_tokens, spending.output_tokens),
    `${formatCost(spending.cost_usd)}${spending.judge_cost_usd ? ` (judge ${formatCost(spending.judge_cost_usd)})` : ''}`,
    formatDuration(spending.duration_ms),
  ];
  if (spending.first_pass_ms !== null) parts.push(`first pass after ${formatDuration(spending.first_pass_ms)}`);
  return `Run: ${parts.join(' · ')}`;
}

/** A run that asked for more than the design's plain run: a judge, early stop or adaptive attempts. */
function isBestOfN(view: RunView): boolean {
  const strategy = view.strategy;
  return strategy !== null && (strategy.select !== 'check' || strategy.stop_when !== null || strategy.start_with !== null || strategy.learn_from_failures);
}

export class Leaderboard {
  readonly #section = byId<HTMLElement>('leaderboard');
  readonly #winner = byId<HTMLElement>('leaderboard-winner');
  readonly #note = byId<HTMLElement>('leaderboard-note');
  readonly #judge = byId<HTMLElement>('leaderboard-judge');
  readonly #savings = byId<HTMLElement>('leaderboard-savings');
  readonly #totals = byId<HTMLElement>('leaderboard-totals');
  readonly #rows = byId<HTMLTableSectionElement>('leaderboard-rows');

  render(view: RunView, nowMs: number): void {
    // Nothing to compare until an attempt has ended; a run without best-of-N options has the overview alone.
    const ended = view.agents.filter((agent) => agent.status !== 'pending' && agent.status !== 'running');
    this.#section.hidden = ended.length === 0 || !isBestOfN(view);
    if (this.#section.hidden) return;
    showMessage(this.#winner, winnerText(view));
    showMessage(this.#note, view.ranking_note);
    showMessage(this.#judge, judgeText(view));
    showMessage(this.#savings, savingsText(view));
    showMessage(this.#totals, totalsText(view));
    const rows = [...view.agents].sort(byRank).map((agent) =>
      el('tr', { className: agent.recommended ? 'winner' : '', attrs: { 'data-agent': String(agent.agent_id) } }, [
        el('td', { text: agent.rank === null ? '—' : String(agent.rank) }),
        el('th', { text: `Agent ${agent.agent_id}`, attrs: { scope: 'row' } }),
        el('td', { text: agent.status }),
        el('td', { text: checkCell(agent) }),
        el('td', { text: agent.usage ? formatTokens(agent.usage.input_tokens, agent.usage.output_tokens) : '—' }),
        el('td', { text: formatCost(agent.cost_usd) }),
        el('td', { text: formatDuration(agentElapsedMs(agent, nowMs)) }),
        el('td', { className: 'why', text: whyCell(agent) }),
      ]),
    );
    this.#rows.replaceChildren(...rows);
  }
}
