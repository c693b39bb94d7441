// Compare two agents of a run: pick them, then read agent B's branch against agent A's (the API's compare), unified or side by side.
import type { DiffResponse } from '@multiclaude/contract';
import type { RunView } from './state.ts';
import { el, showMessage } from './dom.ts';
import { renderPatch, renderSideBySide } from './patch.ts';

export class ComparePanel {
  readonly element: HTMLElement;
  readonly #first: HTMLSelectElement;
  readonly #second: HTMLSelectElement;
  readonly #button: HTMLButtonElement;
  readonly #layout: HTMLSelectElement;
  readonly #output: HTMLElement;
  readonly #error: HTMLElement;
  readonly #load: (a: number, b: number) => Promise<DiffResponse>;
  #agentCount = 0;
  #diff: DiffResponse | null = null;
  #label = '';

  constructor(load: (a: number, b: number) => Promise<DiffResponse>) {
    this.#load = load;
    this.#first = el('select', { attrs: { id: 'compare-a' } });
    this.#second = el('select', { attrs: { id: 'compare-b' } });
    this.#layout = el('select', { attrs: { id: 'compare-layout' } }, [
      el('option', { text: 'Unified', attrs: { value: 'unified' } }),
      el('option', { text: 'Side by side', attrs: { value: 'split' } }),
    ]);
    this.#button = el('button', { className: 'small', text: 'Compare', attrs: { type: 'button' } });
    this.#button.addEventListener('click', () => void this.#compare());
    this.#layout.addEventListener('change', () => this.#show());
    this.#error = el('p', { className: 'error', attrs: { role: 'alert' } });
    this.#error.hidden = true;
    this.#output = el('div', { className: 'compare-output', attrs: { 'aria-live': 'polite' } });
    this.element = el('details', { className: 'compare card', attrs: { id: 'compare' } }, [
      el('summary', { text: 'Compare two agents' }),
      el('div', { className: 'compare-form' }, [
        el('label', { text: 'Agent A', attrs: { for: 'compare-a' } }),
        this.#first,
        el('label', { text: 'Agent B', attrs: { for: 'compare-b' } }),
        this.#second,
        el('label', { text: 'View', attrs: { for: 'compare-layout' } }),
        this.#layout,
        this.#button,
      ]),
      this.#error,
      this.#output,
    ]);
  }

  /** Offers the run's agents; a new run clears what was compared. */
  render(view: RunView, runChanged: boolean): void {
    if (runChanged) {
      this.#diff = null;
      this.#output.replaceChildren();
      showMessage(this.#error, null);
    }
    this.element.hidden = view.agents.length < 2;
    if (view.agents.length === this.#agentCount) return;
    this.#agentCount = view.agents.length;
    for (const [select, preset] of [[this.#first, 1], [this.#second, 2]] as const) {
      const chosen = Number(select.value) || preset;
      select.replaceChildren(...view.agents.map((agent) => el('option', { text: `Agent ${agent.agent_id}`, attrs: { value: String(agent.agent_id) } })));
      select.value = String(Math.min(chosen, view.agents.length));
    }
  }

  async #compare(): Promise<void> {
    const a = Number(this.#first.value);
    const b = Number(this.#second.value);
    showMessage(this.#error, null);
    if (a === b) {
      showMessage(this.#error, 'Pick two different agents to compare.');
      return;
    }
    this.#output.replaceChildren(el('p', { className: 'hint', text: `Comparing agent ${a} with agent ${b}…` }));
    try {
      this.#diff = await this.#load(a, b);
      this.#label = `Agent ${b} against agent ${a}`;
      this.#show();
    } catch (error) {
      this.#output.replaceChildren();
      showMessage(this.#error, `Could not compare: ${(error as Error).message}`);
    }
  }

  #show(): void {
    const diff = this.#diff;
    if (!diff) return;
    const summary = el('p', {
      className: 'hint compare-summary',
      text: diff.files.length === 0 ? `${this.#label}: no differences.` : `${this.#label}: ${diff.stats.files} file${diff.stats.files === 1 ? '' : 's'}, +${diff.stats.insertions} −${diff.stats.deletions} (− is only in A, + only in B).`,
    });
    if (diff.files.length === 0) {
      this.#output.replaceChildren(summary);
      return;
    }
    const body = this.#layout.value === 'split' ? renderSideBySide(diff.patch, 'Agent A', 'Agent B') : renderPatch(diff.patch);
    this.#output.replaceChildren(summary, body);
  }
}
