// One agent's panel: status, branch, duration, tokens, cost, its streamed text and tool calls, its cancel button and its review.
import type { MergeRecord } from '@multiclaude/contract';
import { agentElapsedMs, isAgentActive, type AgentView, type TimelineItem } from './state.ts';
import { AgentReview, type ReviewActions } from './review.ts';
import { el, setText, showMessage } from './dom.ts';
import { formatCost, formatDuration, formatTokens } from './format.ts';

const MAX_RESULT_CHARS = 4000;

function clip(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}\n… (${text.length - MAX_RESULT_CHARS} more characters)` : text;
}

function renderItem(item: TimelineItem): HTMLLIElement {
  if (item.kind === 'text') return el('li', { className: 'say' }, [el('p', { text: item.text })]);
  const state = item.result === null ? 'running' : item.result.is_error ? 'failed' : 'done';
  const head = el('div', { className: 'tool-head' }, [
    el('span', { className: 'tool-name', text: item.tool }),
    el('code', { className: 'tool-input', text: item.input_summary }),
    el('span', { className: `tool-state ${state}`, text: state }),
  ]);
  const children: Node[] = [head];
  if (item.result !== null && item.result.text !== '') {
    children.push(el('details', {}, [el('summary', { text: item.result.is_error ? 'error' : 'output' }), el('pre', { text: clip(item.result.text) })]));
  }
  return el('li', { className: `tool ${state}` }, children);
}

export interface PanelContext {
  runActive: boolean;
  nowMs: number;
  mergeable: boolean;
  merge: MergeRecord | null;
  /** The run has a source the agent's branch can be pushed to. */
  pushable: boolean;
}

export class AgentPanel {
  readonly element: HTMLElement;
  readonly agentId: number;
  readonly #status: HTMLElement;
  readonly #branch: HTMLElement;
  readonly #duration: HTMLElement;
  readonly #tokens: HTMLElement;
  readonly #cost: HTMLElement;
  readonly #turns: HTMLElement;
  readonly #error: HTMLElement;
  readonly #timeline: HTMLOListElement;
  readonly #empty: HTMLElement;
  readonly #result: HTMLElement;
  readonly #resultText: HTMLElement;
  readonly #cancel: HTMLButtonElement;
  readonly #review: AgentReview;
  #rendered: TimelineItem[] = [];

  constructor(agentId: number, onCancel: (agentId: number) => void, review: ReviewActions) {
    this.agentId = agentId;
    const titleId = `agent-${agentId}-title`;
    this.#status = el('span', { className: 'badge' });
    this.#cancel = el('button', { className: 'danger small', text: 'Cancel', attrs: { type: 'button', 'aria-label': `Cancel agent ${agentId}` } });
    this.#cancel.addEventListener('click', () => onCancel(agentId));
    const meta = (label: string) => {
      const value = el('dd', { text: '—', attrs: { 'data-field': label.toLowerCase() } });
      return { value, row: el('div', {}, [el('dt', { text: label }), value]) };
    };
    const branch = meta('Branch');
    const duration = meta('Time');
    const tokens = meta('Tokens');
    const cost = meta('Cost');
    const turns = meta('Turns');
    this.#branch = branch.value;
    this.#duration = duration.value;
    this.#tokens = tokens.value;
    this.#cost = cost.value;
    this.#turns = turns.value;
    this.#error = el('p', { className: 'error', attrs: { role: 'alert' } });
    this.#error.hidden = true;
    this.#timeline = el('ol', { className: 'timeline', attrs: { 'aria-label': `Agent ${agentId} activity`, tabindex: '0' } });
    this.#empty = el('p', { className: 'hint', text: 'Waiting for the agent to start…' });
    this.#resultText = el('pre');
    this.#result = el('div', { className: 'result' }, [el('h4', { text: 'Result' }), this.#resultText]);
    this.#result.hidden = true;
    this.#review = new AgentReview(agentId, review);
    this.element = el('section', { className: 'agent card', attrs: { 'aria-labelledby': titleId, 'data-agent': String(agentId) } }, [
      el('div', { className: 'agent-head' }, [el('h3', { text: `Agent ${agentId}`, attrs: { id: titleId } }), this.#status, this.#cancel]),
      el('dl', { className: 'agent-meta' }, [branch.row, duration.row, tokens.row, cost.row, turns.row]),
      this.#error,
      this.#empty,
      this.#timeline,
      this.#result,
      this.#review.element,
    ]);
  }

  update(agent: AgentView, context: PanelContext): void {
    const { runActive, nowMs } = context;
    this.element.dataset['status'] = agent.status;
    setText(this.#status, agent.status);
    this.#status.className = `badge ${agent.status}`;
    setText(this.#branch, agent.branch ?? '—');
    setText(this.#duration, formatDuration(agentElapsedMs(agent, nowMs)));
    setText(this.#tokens, formatTokens(agent.usage?.input_tokens, agent.usage?.output_tokens));
    setText(this.#cost, formatCost(agent.cost_usd));
    setText(this.#turns, agent.num_turns === null ? '—' : String(agent.num_turns));
    showMessage(this.#error, agent.error && agent.status !== 'success' ? agent.error : null);
    this.#cancel.hidden = !(runActive && isAgentActive(agent.status));
    this.#updateTimeline(agent.timeline);
    this.#empty.hidden = agent.timeline.length > 0 || agent.status !== 'pending';
    const lastText = [...agent.timeline].reverse().find((item) => item.kind === 'text');
    // The result usually repeats the agent's last words; show it only when it adds something.
    const showResult = !isAgentActive(agent.status) && agent.output.trim() !== '' && (lastText?.kind !== 'text' || lastText.text.trim() !== agent.output.trim());
    this.#result.hidden = !showResult;
    if (showResult) setText(this.#resultText, clip(agent.output));
    this.#review.update(agent, { mergeable: context.mergeable, merge: context.merge, runEnded: !runActive, pushable: context.pushable });
    this.element.classList.toggle('recommended', agent.recommended);
  }

  /** Appends new items and replaces changed ones (a tool call that got its result), keeping the rest of the list as it is. */
  #updateTimeline(timeline: TimelineItem[]): void {
    const list = this.#timeline;
    const stuckToBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    let changed = false;
    for (let index = 0; index < timeline.length; index += 1) {
      const item = timeline[index]!;
      if (this.#rendered[index] === item) continue;
      const node = renderItem(item);
      const existing = list.children[index];
      if (existing) existing.replaceWith(node);
      else list.append(node);
      changed = true;
    }
    while (list.children.length > timeline.length) list.lastElementChild?.remove();
    this.#rendered = timeline.slice();
    list.hidden = timeline.length === 0;
    if (changed && stuckToBottom) list.scrollTop = list.scrollHeight;
  }
}
