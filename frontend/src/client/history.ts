// The run history list (GET /runs, newest first, paged by `before`): each run is a button that reopens it, with its follow-ups listed under it.
import type { RunListItem } from '@multiclaude/contract';
import { listRuns } from './api.ts';
import { byId, el, showMessage } from './dom.ts';
import { formatTime, promptTitle } from './format.ts';

export class HistoryList {
  readonly #list = byId<HTMLUListElement>('history-list');
  readonly #more = byId<HTMLButtonElement>('history-more');
  readonly #error = byId<HTMLElement>('history-error');
  readonly #onOpen: (runId: string) => void;
  #runs: RunListItem[] = [];
  #nextBefore: string | null = null;
  #currentRunId: string | null = null;
  /** The open run's live status: newer than what a page of the list (fetched earlier) says. */
  #followed: { runId: string; status: RunListItem['status'] } | null = null;

  constructor(onOpen: (runId: string) => void) {
    this.#onOpen = onOpen;
    byId<HTMLButtonElement>('history-refresh').addEventListener('click', () => void this.refresh());
    this.#more.addEventListener('click', () => void this.#loadOlder());
  }

  /** Reloads the newest page (older pages come back with "Older runs"). */
  async refresh(): Promise<void> {
    try {
      const page = await listRuns();
      this.#runs = page.runs;
      this.#nextBefore = page.next_before;
      showMessage(this.#error, null);
      this.#render();
    } catch (error) {
      showMessage(this.#error, `Could not load the runs: ${(error as Error).message}`);
    }
  }

  /** Shows the open run's status as it changes, so its entry follows it live instead of keeping the listed one. */
  follow(runId: string, status: RunListItem['status']): void {
    if (this.#followed?.runId === runId && this.#followed.status === status) return;
    this.#followed = { runId, status };
    this.#render();
  }

  setCurrent(runId: string | null): void {
    this.#currentRunId = runId;
    this.#render();
  }

  async #loadOlder(): Promise<void> {
    if (!this.#nextBefore) return;
    try {
      const page = await listRuns(this.#nextBefore);
      this.#runs = [...this.#runs, ...page.runs];
      this.#nextBefore = page.next_before;
      this.#render();
    } catch (error) {
      showMessage(this.#error, `Could not load older runs: ${(error as Error).message}`);
    }
  }

  #render(): void {
    const focusedRunId = document.activeElement instanceof HTMLElement ? document.activeElement.dataset['runId'] : undefined;
    const items = this.#runs.map((listed) => {
      const run = this.#followed?.runId === listed.run_id ? { ...listed, status: this.#followed.status } : listed;
      const button = el('button', { className: 'history-item', attrs: { type: 'button', 'data-run-id': run.run_id } }, [
        el('span', { className: 'history-prompt', text: promptTitle(run.prompt) || '(empty prompt)' }),
        el('span', { className: 'history-meta' }, [
          el('span', { className: `badge ${run.status}`, text: run.status }),
          ` ${run.agent_count} agent${run.agent_count === 1 ? '' : 's'} · ${formatTime(run.created_at)}`,
        ]),
        ...(run.source ? [el('span', { className: 'history-source', text: `${run.source.repo} @ ${run.source.ref}` })] : []),
      ]);
      if (run.run_id === this.#currentRunId) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => this.#onOpen(run.run_id));
      // Follow-ups belong to their run: listed under it, not as runs of their own.
      const followUps = (run.followups ?? []).map((followUp) =>
        el('li', { text: `↳ Agent ${followUp.agent_id}: ${promptTitle(followUp.prompt, 70)}` }),
      );
      return el('li', {}, followUps.length > 0 ? [button, el('ul', { className: 'history-followups', attrs: { 'aria-label': 'Follow-ups' } }, followUps)] : [button]);
    });
    if (items.length === 0) items.push(el('li', { className: 'hint', text: 'No runs yet.' }));
    this.#list.replaceChildren(...items);
    this.#more.hidden = this.#nextBefore === null;
    // Re-rendering replaces the buttons; keep keyboard focus where it was.
    if (focusedRunId) this.#list.querySelector<HTMLElement>(`[data-run-id="${CSS.escape(focusedRunId)}"]`)?.focus();
  }
}
