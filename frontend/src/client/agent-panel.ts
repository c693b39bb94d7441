// One agent's card: a head that opens or folds it (status, a one-line summary, cancel), then branch, wall and model time, tokens, cost, its streamed text and tool calls, its review and a follow-up box.
import type { MergeRecord } from '@multiclaude/contract';
import { agentElapsedMs, isAgentActive, type AgentView, type TimelineItem } from './state.ts';
import { AgentReview, type ReviewActions } from './review.ts';
import { ConfirmButton } from './confirm.ts';
import { el, setText, showMessage } from './dom.ts';
import { formatCost, formatDuration, formatTokens } from './format.ts';
import { MAX_PROMPT_LENGTH } from '@multiclaude/contract';

const MAX_RESULT_CHARS = 4000;

function clip(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}\n… (${text.length - MAX_RESULT_CHARS} more characters)` : text;
}

function renderItem(item: TimelineItem): HTMLLIElement {
  if (item.kind === 'text') return el('li', { className: 'say' }, [el('p', { text: item.text })]);
  if (item.kind === 'followup') return el('li', { className: 'followup' }, [el('p', {}, [el('strong', { text: 'Follow-up: ' }), item.text])]);
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
  /** Files a merge into main would now conflict on; null when unknown or clean. */
  conflicts: string[] | null;
  canFollowUp: boolean;
  /** The run has a source the agent's branch can be pushed to. */
  pushable: boolean;
}

export interface PanelActions extends ReviewActions {
  cancel(agentId: number): void;
  followUp(agentId: number, prompt: string): Promise<void>;
}

export class AgentPanel {
  readonly element: HTMLElement;
  readonly agentId: number;
  readonly #toggle: HTMLButtonElement;
  readonly #body: HTMLElement;
  readonly #summary: HTMLElement;
  readonly #status: HTMLElement;
  readonly #detail: HTMLElement;
  readonly #branch: HTMLElement;
  readonly #duration: HTMLElement;
  readonly #modelTime: HTMLElement;
  readonly #tokens: HTMLElement;
  readonly #cost: HTMLElement;
  readonly #turns: HTMLElement;
  readonly #error: HTMLElement;
  readonly #timeline: HTMLOListElement;
  readonly #empty: HTMLElement;
  readonly #result: HTMLElement;
  readonly #resultText: HTMLElement;
  readonly #cancel: ConfirmButton;
  readonly #review: AgentReview;
  readonly #followUp: HTMLFormElement;
  readonly #followUpBox: HTMLTextAreaElement;
  readonly #followUpButton: HTMLButtonElement;
  readonly #followUpError: HTMLElement;
  #rendered: TimelineItem[] = [];
  /** Set once the user opens or folds the card: from then on the default no longer applies. */
  #userChoice: boolean | null = null;
  #sending = false;

  constructor(agentId: number, actions: PanelActions) {
    this.agentId = agentId;
    const titleId = `agent-${agentId}-title`;
    const bodyId = `agent-${agentId}-body`;
    this.#status = el('span', { className: 'badge' });
    this.#summary = el('span', { className: 'agent-summary' });
    this.#toggle = el('button', { className: 'agent-toggle', attrs: { type: 'button', 'aria-expanded': 'true', 'aria-controls': bodyId } }, [
      el('span', { className: 'chevron', attrs: { 'aria-hidden': 'true' } }),
      el('h3', { text: `Agent ${agentId}`, attrs: { id: titleId } }),
    ]);
    this.#toggle.addEventListener('click', () => this.setExpanded(this.#toggle.getAttribute('aria-expanded') !== 'true', true));
    this.#cancel = new ConfirmButton({
      text: 'Cancel',
      label: `Cancel agent ${agentId}`,
      question: `Stop agent ${agentId}?`,
      yes: `Yes, cancel agent ${agentId}`,
      no: 'Keep it running',
      className: 'danger small',
      onConfirm: () => actions.cancel(agentId),
    });
    const meta = (label: string, field = label.toLowerCase()) => {
      const value = el('dd', { text: '—', attrs: { 'data-field': field } });
      return { value, row: el('div', {}, [el('dt', { text: label }), value]) };
    };
    const branch = meta('Branch');
    const duration = meta('Time');
    const modelTime = meta('Model time', 'model-time');
    const tokens = meta('Tokens');
    const cost = meta('Cost');
    const turns = meta('Turns');
    duration.row.title = 'Wall-clock time from the agent’s start to its end';
    modelTime.row.title = 'The model session’s own time, as the SDK reports it';
    this.#branch = branch.value;
    this.#duration = duration.value;
    this.#modelTime = modelTime.value;
    this.#tokens = tokens.value;
    this.#cost = cost.value;
    this.#turns = turns.value;
    this.#detail = el('p', { className: 'hint status-detail', attrs: { 'data-field': 'detail' } });
    this.#error = el('p', { className: 'error', attrs: { role: 'alert' } });
    this.#error.hidden = true;
    this.#timeline = el('ol', { className: 'timeline', attrs: { 'aria-label': `Agent ${agentId} activity`, tabindex: '0' } });
    this.#empty = el('p', { className: 'hint', text: 'Waiting for the agent to start…' });
    this.#resultText = el('pre');
    this.#result = el('div', { className: 'result' }, [el('h4', { text: 'Result' }), this.#resultText]);
    this.#result.hidden = true;
    this.#review = new AgentReview(agentId, actions);
    const boxId = `agent-${agentId}-followup`;
    this.#followUpBox = el('textarea', { attrs: { id: boxId, rows: '2', placeholder: 'Now also handle time zones.' } });
    this.#followUpButton = el('button', { className: 'small', text: 'Send follow-up', attrs: { type: 'submit' } });
    this.#followUpError = el('p', { className: 'error', attrs: { role: 'alert' } });
    this.#followUpError.hidden = true;
    this.#followUp = el('form', { className: 'followup-form', attrs: { novalidate: '' } }, [
      el('label', { text: `Follow-up to agent ${agentId}`, attrs: { for: boxId } }),
      el('p', { className: 'hint', text: 'Continues this agent’s own session on its branch; its check, the judge (if the run has one) and the ranking run again after it.' }),
      this.#followUpBox,
      this.#followUpButton,
      this.#followUpError,
    ]);
    this.#followUp.hidden = true;
    this.#followUp.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#sendFollowUp(actions);
    });
    this.#body = el('div', { className: 'agent-body', attrs: { id: bodyId } }, [
      el('dl', { className: 'agent-meta' }, [branch.row, duration.row, modelTime.row, tokens.row, cost.row, turns.row]),
      this.#detail,
      this.#error,
      this.#empty,
      this.#timeline,
      this.#result,
      this.#review.element,
      this.#followUp,
    ]);
    this.element = el('section', { className: 'agent card', attrs: { 'aria-labelledby': titleId, 'data-agent': String(agentId), id: `agent-${agentId}`, tabindex: '-1' } }, [
      el('div', { className: 'agent-head' }, [this.#toggle, this.#status, this.#summary, this.#cancel.element]),
      this.#body,
    ]);
  }

  /** Opens or folds the card; `byUser` keeps the choice over the default for many agents. */
  setExpanded(expanded: boolean, byUser = false): void {
    if (byUser) this.#userChoice = expanded;
    this.#toggle.setAttribute('aria-expanded', String(expanded));
    this.#body.hidden = !expanded;
    this.element.classList.toggle('collapsed', !expanded);
  }

  /** Opens the card and moves to it (from the overview). */
  reveal(): void {
    this.setExpanded(true, true);
    this.element.scrollIntoView({ block: 'start' });
    this.element.focus({ preventScroll: true });
  }

  update(agent: AgentView, context: PanelContext & { collapseByDefault: boolean }): void {
    const { runActive, nowMs } = context;
    if (this.#userChoice === null) this.setExpanded(!context.collapseByDefault);
    this.element.dataset['status'] = agent.status;
    setText(this.#status, agent.status);
    this.#status.className = `badge ${agent.status}`;
    setText(this.#branch, agent.branch ?? '—');
    const wall = formatDuration(agentElapsedMs(agent, nowMs));
    setText(this.#duration, wall);
    setText(this.#modelTime, formatDuration(agent.duration_ms));
    setText(this.#tokens, formatTokens(agent.usage?.input_tokens, agent.usage?.output_tokens));
    setText(this.#cost, formatCost(agent.cost_usd));
    setText(this.#turns, agent.num_turns === null || agent.usage === null ? '—' : String(agent.num_turns));
    const summary = [wall, formatCost(agent.cost_usd), agent.rank === null ? null : `rank ${agent.rank}${agent.recommended ? ' ★' : ''}`, agent.status_detail]
      .filter((part) => part !== null && part !== '—')
      .join(' · ');
    setText(this.#summary, summary);
    showMessage(this.#detail, agent.status_detail);
    const error = agent.error && agent.status !== 'success' ? agent.error : null;
    showMessage(this.#error, error);
    this.#cancel.hidden = !(runActive && isAgentActive(agent.status));
    // The error is shown once: not again as the agent's last words when it repeats them.
    const last = agent.timeline.at(-1);
    const repeated = error !== null && last?.kind === 'text' && last.text.trim() !== '' && error.includes(last.text.trim());
    const timeline = repeated ? agent.timeline.slice(0, -1) : agent.timeline;
    this.#updateTimeline(timeline);
    this.#empty.hidden = timeline.length > 0 || agent.status !== 'pending';
    const lastText = [...timeline].reverse().find((item) => item.kind === 'text');
    // The result usually repeats the agent's last words; show it only when it adds something.
    const showResult =
      !isAgentActive(agent.status) && agent.output.trim() !== '' && !error?.includes(agent.output.trim()) && (lastText?.kind !== 'text' || lastText.text.trim() !== agent.output.trim());
    this.#result.hidden = !showResult;
    if (showResult) setText(this.#resultText, clip(agent.output));
    this.#review.update(agent, { mergeable: context.mergeable, merge: context.merge, runEnded: !runActive, conflicts: context.conflicts, pushable: context.pushable });
    this.element.classList.toggle('recommended', agent.recommended);
    this.#followUp.hidden = !context.canFollowUp;
  }

  async #sendFollowUp(actions: PanelActions): Promise<void> {
    if (this.#sending) return;
    const prompt = this.#followUpBox.value;
    if (prompt.trim() === '') return this.#followUpFailed('Type what the agent should do next.');
    if (prompt.length > MAX_PROMPT_LENGTH) {
      return this.#followUpFailed(`The follow-up is ${prompt.length.toLocaleString('en-US')} characters; the limit is ${MAX_PROMPT_LENGTH.toLocaleString('en-US')}.`);
    }
    this.#sending = true;
    this.#followUpButton.setAttribute('aria-disabled', 'true');
    setText(this.#followUpButton, 'Sending…');
    showMessage(this.#followUpError, null);
    try {
      await actions.followUp(this.agentId, prompt);
      this.#followUpBox.value = '';
    } catch (error) {
      this.#followUpFailed(`Could not send the follow-up: ${(error as Error).message}`);
    } finally {
      this.#sending = false;
      this.#followUpButton.removeAttribute('aria-disabled');
      setText(this.#followUpButton, 'Send follow-up');
    }
  }

  #followUpFailed(message: string): void {
    showMessage(this.#followUpError, message);
    this.#followUpBox.setAttribute('aria-invalid', 'true');
    this.#followUpBox.focus();
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
