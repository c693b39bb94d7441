// The overview of a run's agents above their cards: one sortable row each (status, time, turns, tokens, cost, check, changes, rank), the recommendation and its reasons, and a jump to each card.
import { agentElapsedMs, type AgentView, type RunView } from './state.ts';
import { el, setText } from './dom.ts';
import { diffStatsText, formatCost, formatDuration, formatTokensShort } from './format.ts';

type SortKey = 'agent' | 'status' | 'time' | 'turns' | 'tokens' | 'cost' | 'check' | 'changes' | 'rank';

interface Column {
  key: SortKey;
  label: string;
  cell: (agent: AgentView, nowMs: number) => string;
  /** The value rows are sorted by; null sorts last. */
  value: (agent: AgentView, nowMs: number) => number | string | null;
}

const STATUS_ORDER = { running: 0, pending: 1, success: 2, error: 3, cancelled: 4 } as const;
const CHECK_ORDER = { passed: 0, failed: 1, timed_out: 2, error: 3 } as const;

function statusText(agent: AgentView): string {
  return agent.status_detail ? `${agent.status} · ${agent.status_detail}` : agent.status;
}

const COLUMNS: Column[] = [
  { key: 'agent', label: 'Agent', cell: (agent) => `Agent ${agent.agent_id}`, value: (agent) => agent.agent_id },
  { key: 'status', label: 'Status', cell: statusText, value: (agent) => STATUS_ORDER[agent.status] },
  { key: 'time', label: 'Time', cell: (agent, now) => formatDuration(agentElapsedMs(agent, now)), value: (agent, now) => agentElapsedMs(agent, now) },
  { key: 'turns', label: 'Turns', cell: (agent) => (agent.num_turns === null || agent.usage === null ? '—' : String(agent.num_turns)), value: (agent) => (agent.usage === null ? null : agent.num_turns) },
  {
    key: 'tokens',
    label: 'Tokens in / out',
    cell: (agent) => formatTokensShort(agent.usage?.input_tokens, agent.usage?.output_tokens),
    value: (agent) => (agent.usage ? agent.usage.input_tokens + agent.usage.output_tokens : null),
  },
  { key: 'cost', label: 'Cost', cell: (agent) => formatCost(agent.cost_usd), value: (agent) => agent.cost_usd },
  { key: 'check', label: 'Check', cell: (agent) => agent.check?.status.replace('_', ' ') ?? '—', value: (agent) => (agent.check ? CHECK_ORDER[agent.check.status] : null) },
  {
    key: 'changes',
    label: 'Changes',
    cell: (agent) => (agent.diff_stats && agent.diff_stats.files > 0 ? `+${agent.diff_stats.insertions} −${agent.diff_stats.deletions} (${agent.diff_stats.files})` : diffStatsText(agent.diff_stats)),
    value: (agent) => (agent.diff_stats ? agent.diff_stats.insertions + agent.diff_stats.deletions : null),
  },
  { key: 'rank', label: 'Rank', cell: (agent) => (agent.rank === null ? '—' : `${agent.rank}${agent.recommended ? ' ★' : ''}`), value: (agent) => agent.rank },
];

function compareValues(a: number | string | null, b: number | string | null): number {
  if (a === null && b === null) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Overview {
  readonly element: HTMLElement;
  readonly #recommendation: HTMLElement;
  readonly #body: HTMLTableSectionElement;
  readonly #headers = new Map<SortKey, { th: HTMLTableCellElement; button: HTMLButtonElement }>();
  readonly #onJump: (agentId: number) => void;
  #sort: { key: SortKey; descending: boolean } = { key: 'agent', descending: false };
  #last: { view: RunView; nowMs: number } | null = null;

  constructor(onJump: (agentId: number) => void) {
    this.#onJump = onJump;
    this.#recommendation = el('p', { className: 'recommendation', attrs: { id: 'run-recommendation' } });
    const headRow = el('tr', {}, COLUMNS.map((column) => {
      const button = el('button', { className: 'sort', text: column.label, attrs: { type: 'button' } });
      button.addEventListener('click', () => this.#sortBy(column.key));
      const th = el('th', { attrs: { scope: 'col', 'data-column': column.key } }, [button]);
      this.#headers.set(column.key, { th, button });
      return th;
    }));
    this.#body = el('tbody');
    const table = el('table', { className: 'overview-table' }, [
      el('caption', { className: 'visually-hidden', text: 'Every agent of the run; the column buttons sort it' }),
      el('thead', {}, [headRow]),
      this.#body,
    ]);
    this.element = el('section', { className: 'overview', attrs: { 'aria-label': 'Agents overview', id: 'overview' } }, [
      this.#recommendation,
      el('div', { className: 'table-scroll', attrs: { tabindex: '0', role: 'region', 'aria-label': 'Agents overview table' } }, [table]),
    ]);
  }

  #sortBy(key: SortKey): void {
    this.#sort = { key, descending: this.#sort.key === key ? !this.#sort.descending : false };
    if (this.#last) this.render(this.#last.view, this.#last.nowMs);
    this.#headers.get(key)?.button.focus();
  }

  render(view: RunView, nowMs: number): void {
    this.#last = { view, nowMs };
    const recommended = view.agents.find((agent) => agent.recommended);
    if (recommended) {
      setText(this.#recommendation, `Recommended: Agent ${recommended.agent_id} — ${recommended.rank_reasons.join('; ')}`);
    } else if (view.no_recommendation_reason && view.finished) {
      setText(this.#recommendation, `No recommendation: ${view.no_recommendation_reason}.`);
    } else {
      setText(this.#recommendation, '');
    }
    this.#recommendation.hidden = this.#recommendation.textContent === '';
    this.#recommendation.classList.toggle('recommended', recommended !== undefined);
    const column = COLUMNS.find((candidate) => candidate.key === this.#sort.key)!;
    const direction = this.#sort.descending ? -1 : 1;
    const rows = [...view.agents].sort(
      (a, b) => direction * compareValues(column.value(a, nowMs), column.value(b, nowMs)) || a.agent_id - b.agent_id,
    );
    for (const [key, { th }] of this.#headers) {
      th.setAttribute('aria-sort', key === this.#sort.key ? (this.#sort.descending ? 'descending' : 'ascending') : 'none');
    }
    // Rows are rebuilt each tick; keep keyboard focus on the same agent's button.
    const focused = document.activeElement instanceof HTMLElement && this.#body.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset['agent'] : undefined;
    this.#body.replaceChildren(...rows.map((agent) => this.#row(agent, nowMs)));
    if (focused) this.#body.querySelector<HTMLElement>(`tr[data-agent="${focused}"] .jump`)?.focus();
  }

  #row(agent: AgentView, nowMs: number): HTMLTableRowElement {
    const cells = COLUMNS.map((column) => {
      if (column.key === 'agent') {
        const jump = el('button', { className: 'jump', text: `Agent ${agent.agent_id}`, attrs: { type: 'button', 'aria-label': `Go to agent ${agent.agent_id}` } });
        jump.addEventListener('click', () => this.#onJump(agent.agent_id));
        return el('th', { attrs: { scope: 'row', 'data-column': 'agent' } }, [jump]);
      }
      const td = el('td', { text: column.cell(agent, nowMs), attrs: { 'data-column': column.key } });
      if (column.key === 'status') td.className = `status ${agent.status}`;
      if (column.key === 'check' && agent.check) td.className = `check ${agent.check.status}`;
      return td;
    });
    const row = el('tr', { attrs: { 'data-agent': String(agent.agent_id), 'data-status': agent.status } }, cells);
    if (agent.recommended) {
      row.classList.add('recommended');
      row.title = `Recommended: ${agent.rank_reasons.join('; ')}`;
    }
    return row;
  }
}
