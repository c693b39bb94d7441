// An agent panel's review part: its check, diff stats, rank, the diff itself (loaded when asked for), merge into main, push to the run's source and download.
import type { DiffResponse, MergeRecord, PushResponse } from '@multiclaude/contract';
import type { AgentView } from './state.ts';
import { el, setText, showMessage } from './dom.ts';
import { diffStatsText, formatDuration } from './format.ts';
import { renderPatch } from './patch.ts';

export interface ReviewActions {
  loadDiff(agentId: number): Promise<DiffResponse>;
  merge(agentId: number): Promise<void>;
  exportUrl(agentId: number): string;
  push(agentId: number): Promise<PushResponse>;
}

function checkText(check: AgentView['check']): string {
  if (check === null) return '—';
  const exit = check.exit_code === null ? '' : `, exit ${check.exit_code}`;
  return `${check.status.replace('_', ' ')}${exit}, ${formatDuration(check.duration_ms)}`;
}

export class AgentReview {
  readonly element: HTMLElement;
  readonly #agentId: number;
  readonly #actions: ReviewActions;
  readonly #rank: HTMLElement;
  readonly #changes: HTMLElement;
  readonly #check: HTMLElement;
  readonly #checkRow: HTMLElement;
  readonly #checkOutput: HTMLElement;
  readonly #checkDetails: HTMLDetailsElement;
  readonly #diffButton: HTMLButtonElement;
  readonly #mergeButton: HTMLButtonElement;
  readonly #download: HTMLAnchorElement;
  readonly #merged: HTMLElement;
  readonly #pushButton: HTMLButtonElement;
  readonly #pushed: HTMLElement;
  readonly #conflictNote: HTMLElement;
  readonly #error: HTMLElement;
  readonly #diff: HTMLElement;
  #diffLoaded = false;
  #busy = false;

  constructor(agentId: number, actions: ReviewActions) {
    this.#agentId = agentId;
    this.#actions = actions;
    this.#rank = el('p', { className: 'rank' });
    this.#changes = el('dd', { text: '—', attrs: { 'data-field': 'changes' } });
    this.#check = el('dd', { text: '—', attrs: { 'data-field': 'check' } });
    this.#checkRow = el('div', {}, [el('dt', { text: 'Check' }), this.#check]);
    this.#checkOutput = el('pre');
    this.#checkDetails = el('details', { className: 'check-output' }, [el('summary', { text: 'Check output' }), this.#checkOutput]);
    this.#diffButton = el('button', { className: 'small', text: 'Show diff', attrs: { type: 'button', 'aria-expanded': 'false' } });
    this.#diffButton.addEventListener('click', () => void this.#toggleDiff());
    this.#mergeButton = el('button', { className: 'small primary-outline', text: 'Merge into main', attrs: { type: 'button' } });
    this.#mergeButton.addEventListener('click', () => void this.#merge());
    this.#download = el('a', { className: 'small-link', text: 'Download .zip', attrs: { href: actions.exportUrl(agentId), download: '' } });
    this.#merged = el('p', { className: 'merged', attrs: { role: 'status' } });
    this.#pushButton = el('button', { className: 'small', text: 'Push', attrs: { type: 'button', title: 'Push this branch to the source repository as a new branch' } });
    this.#pushButton.addEventListener('click', () => void this.#push());
    this.#pushed = el('p', { className: 'pushed', attrs: { role: 'status' } });
    this.#pushed.hidden = true;
    this.#conflictNote = el('p', { className: 'warning merge-conflict' });
    this.#conflictNote.hidden = true;
    this.#error = el('p', { className: 'error', attrs: { role: 'alert' } });
    this.#error.hidden = true;
    this.#diff = el('div', { className: 'diff', attrs: { id: `agent-${agentId}-diff` } });
    this.#diff.hidden = true;
    this.#diffButton.setAttribute('aria-controls', this.#diff.id);
    this.element = el('div', { className: 'review' }, [
      this.#rank,
      el('dl', { className: 'agent-meta' }, [el('div', {}, [el('dt', { text: 'Changes' }), this.#changes]), this.#checkRow]),
      this.#checkDetails,
      el('div', { className: 'review-actions' }, [this.#diffButton, this.#mergeButton, this.#pushButton, this.#download]),
      this.#conflictNote,
      this.#merged,
      this.#pushed,
      this.#error,
      this.#diff,
    ]);
  }

  update(agent: AgentView, options: { mergeable: boolean; merge: MergeRecord | null; runEnded: boolean; conflicts: string[] | null; pushable: boolean }): void {
    // Before the agent ends there is nothing to review yet.
    const ended = agent.status !== 'pending' && agent.status !== 'running';
    this.element.hidden = !ended;
    if (!ended) return;
    setText(this.#changes, diffStatsText(agent.diff_stats));
    this.#checkRow.hidden = agent.check === null;
    setText(this.#check, checkText(agent.check));
    this.#check.className = agent.check ? `check ${agent.check.status}` : '';
    this.#checkDetails.hidden = !agent.check?.output_tail;
    setText(this.#checkOutput, agent.check?.output_tail ?? '');
    const rankText = agent.rank === null ? '' : `${agent.recommended ? 'Recommended · ' : ''}rank ${agent.rank}${agent.rank_reasons.length ? `: ${agent.rank_reasons.join('; ')}` : ''}`;
    setText(this.#rank, rankText);
    this.#rank.hidden = rankText === '';
    this.#rank.classList.toggle('recommended', agent.recommended);
    this.#diffButton.hidden = agent.diff_stats !== null && agent.diff_stats.files === 0;
    this.#mergeButton.hidden = !options.mergeable || options.merge !== null;
    this.#mergeButton.toggleAttribute('aria-disabled', this.#busy);
    // Said before it is pressed: main has moved on (another merge) and this branch now conflicts with it.
    const conflicts = options.mergeable && options.merge === null && options.conflicts && options.conflicts.length > 0 ? options.conflicts : null;
    if (!this.#busy) setText(this.#mergeButton, conflicts ? 'Merge into main (would conflict)' : 'Merge into main');
    this.#mergeButton.classList.toggle('warn', conflicts !== null);
    showMessage(this.#conflictNote, conflicts ? `Merging now would conflict with main on ${conflicts.join(', ')}.` : null);
    this.#download.hidden = !options.runEnded;
    this.#pushButton.hidden = !options.pushable;
    const merge = options.merge;
    setText(this.#merged, merge ? `Merged into main${merge.fast_forward ? ' (fast-forward)' : ''} as ${merge.commit.slice(0, 10)}` : '');
    this.#merged.hidden = merge === null;
  }

  async #toggleDiff(): Promise<void> {
    const opening = this.#diff.hidden;
    this.#diff.hidden = !opening;
    this.#diffButton.setAttribute('aria-expanded', String(opening));
    setText(this.#diffButton, opening ? 'Hide diff' : 'Show diff');
    if (!opening || this.#diffLoaded) return;
    this.#diff.replaceChildren(el('p', { className: 'hint', text: 'Loading the diff…' }));
    try {
      const diff = await this.#actions.loadDiff(this.#agentId);
      this.#diffLoaded = true;
      const files = el(
        'ul',
        { className: 'diff-files' },
        diff.files.map((file) =>
          el('li', {}, [el('code', { text: file.path }), ` ${file.insertions === null ? 'binary' : `+${file.insertions} −${file.deletions ?? 0}`}`]),
        ),
      );
      const notes = diff.truncated ? [el('p', { className: 'hint', text: 'The patch is cut at the size limit; the file list is complete.' })] : [];
      this.#diff.replaceChildren(files, ...notes, renderPatch(diff.patch));
    } catch (error) {
      this.#diff.replaceChildren(el('p', { className: 'error', text: `Could not load the diff: ${(error as Error).message}` }));
    }
  }

  /** One action at a time from this panel: its button says what is happening, a failure is shown beside it. */
  async #act(button: HTMLButtonElement, labels: { idle: string; busy: string; failed: string }, action: () => Promise<void>): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    button.setAttribute('aria-disabled', 'true');
    setText(button, labels.busy);
    showMessage(this.#error, null);
    try {
      await action();
    } catch (error) {
      showMessage(this.#error, `${labels.failed}: ${(error as Error).message}`);
    } finally {
      this.#busy = false;
      button.removeAttribute('aria-disabled');
      setText(button, labels.idle);
    }
  }

  #push(): Promise<void> {
    return this.#act(this.#pushButton, { idle: 'Push', busy: 'Pushing…', failed: 'Could not push' }, async () => {
      const pushed = await this.#actions.push(this.#agentId);
      setText(this.#pushed, `Pushed to ${pushed.remote} as ${pushed.branch} (${pushed.commit.slice(0, 10)})`);
      this.#pushed.hidden = false;
    });
  }

  #merge(): Promise<void> {
    return this.#act(this.#mergeButton, { idle: 'Merge into main', busy: 'Merging…', failed: 'Could not merge' }, () => this.#actions.merge(this.#agentId));
  }
}
