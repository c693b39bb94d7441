// The open run's section: its id, status, run dir, source, setup, totals and prompt, the cancel button, the agents' overview, compare, next steps after a merge, and one card per agent.
import type { DiffResponse, MergeCheckResponse, PushResponse } from '@multiclaude/contract';
import { canFollowUp, canMerge, isRunActive, mergeOf, runTotals, type RunView } from './state.ts';
import { AgentPanel } from './agent-panel.ts';
import { Leaderboard } from './leaderboard.ts';
import { Overview } from './overview.ts';
import { ComparePanel } from './compare.ts';
import { NextSteps } from './next-steps.ts';
import { ConfirmButton } from './confirm.ts';
import { byId, setText, showMessage } from './dom.ts';
import { formatCost, formatDuration, formatTime, formatTokens } from './format.ts';

/** More agents than this and their cards start folded to their summary line; the overview shows them all. */
const EXPANDED_AGENTS = 3;

export interface RunSectionActions {
  cancelRun(runId: string): void;
  cancelAgent(runId: string, agentId: number): void;
  loadDiff(runId: string, agentId: number): Promise<DiffResponse>;
  compare(runId: string, a: number, b: number): Promise<DiffResponse>;
  mergeCheck(runId: string, agentId: number): Promise<MergeCheckResponse>;
  merge(runId: string, agentId: number): Promise<void>;
  followUp(runId: string, agentId: number, prompt: string): Promise<void>;
  exportUrl(runId: string, agentId: number): string;
  exportMainUrl(runId: string, format: 'bundle' | 'zip' | 'tar'): string;
  push(runId: string, agentId: number): Promise<PushResponse>;
}

function progressText(view: RunView): string {
  const totals = runTotals(view);
  const done = totals.by_status.success + totals.by_status.error + totals.by_status.cancelled;
  if (view.status === 'queued') {
    return view.queue_position ? `Queued: position ${view.queue_position}.` : 'Queued: waiting for free agent slots.';
  }
  const counts = (['success', 'error', 'cancelled'] as const)
    .filter((status) => totals.by_status[status] > 0)
    .map((status) => `${totals.by_status[status]} ${status}`)
    .join(', ');
  if (view.finished || !isRunActive(view)) return `Run ${view.status}: ${counts || 'no agent finished'}.`;
  const waiting = totals.by_status.pending > 0 ? `, ${totals.by_status.pending} waiting` : '';
  return `${done} of ${view.agents.length} agents finished${counts ? ` (${counts})` : ''}; ${totals.by_status.running} working${waiting}.`;
}

export class RunSection {
  readonly #section = byId<HTMLElement>('run');
  readonly #runId = byId<HTMLElement>('run-id');
  readonly #status = byId<HTMLElement>('run-status');
  readonly #progress = byId<HTMLElement>('run-progress');
  readonly #error = byId<HTMLElement>('run-error');
  readonly #dir = byId<HTMLElement>('run-dir');
  readonly #created = byId<HTMLElement>('run-created');
  readonly #tokens = byId<HTMLElement>('run-tokens');
  readonly #cost = byId<HTMLElement>('run-cost');
  readonly #budget = byId<HTMLElement>('run-budget');
  readonly #prompt = byId<HTMLElement>('run-prompt');
  readonly #check = byId<HTMLElement>('run-check');
  readonly #source = byId<HTMLElement>('run-source');
  readonly #setup = byId<HTMLElement>('run-setup');
  readonly #recommended = byId<HTMLElement>('run-recommended');
  readonly #panels = byId<HTMLElement>('agent-panels');
  readonly #cancel: ConfirmButton;
  readonly #overview: Overview;
  readonly #compare: ComparePanel;
  readonly #nextSteps: NextSteps;
  readonly #actions: RunSectionActions;
  readonly #leaderboard = new Leaderboard();
  #shownRunId: string | null = null;
  #agentPanels = new Map<number, AgentPanel>();
  /** Merge checks for the run as it was after its last merge: agent id → conflicting files. */
  #conflicts = new Map<number, string[]>();
  #checkedFor = '';
  #rerender: () => void = () => {};

  constructor(actions: RunSectionActions) {
    this.#actions = actions;
    this.#cancel = new ConfirmButton({
      text: 'Cancel run',
      label: 'Cancel run',
      question: 'Stop every agent of this run?',
      yes: 'Yes, cancel the run',
      no: 'Keep running',
      className: 'danger',
      onConfirm: () => {
        if (this.#shownRunId) this.#actions.cancelRun(this.#shownRunId);
      },
    });
    byId<HTMLElement>('cancel-run-slot').replaceChildren(this.#cancel.element);
    this.#overview = new Overview((agentId) => this.#agentPanels.get(agentId)?.reveal());
    this.#compare = new ComparePanel((a, b) => (this.#shownRunId ? this.#actions.compare(this.#shownRunId, a, b) : Promise.reject(new Error('no run is open'))));
    this.#nextSteps = new NextSteps({ exportMainUrl: (runId, format) => this.#actions.exportMainUrl(runId, format) });
    byId<HTMLElement>('run-overview').replaceChildren(this.#overview.element, this.#nextSteps.element, this.#compare.element);
  }

  /** How to draw again when an answer arrives outside the event stream (merge checks). */
  onChange(rerender: () => void): void {
    this.#rerender = rerender;
  }

  /** Shows a run that could not be loaded at all. */
  showFailure(runId: string, message: string): void {
    this.#reset(runId);
    this.#section.hidden = false;
    setText(this.#status, 'unknown');
    this.#status.className = 'badge';
    setText(this.#progress, '');
    this.#cancel.hidden = true;
    showMessage(this.#error, message);
  }

  setError(message: string | null): void {
    showMessage(this.#error, message);
  }

  render(view: RunView, nowMs: number): void {
    const runChanged = view.run_id !== this.#shownRunId;
    if (runChanged) this.#reset(view.run_id);
    this.#section.hidden = false;
    this.#section.dataset['status'] = view.status;
    setText(this.#status, view.status);
    this.#status.className = `badge ${view.status}`;
    setText(this.#progress, progressText(view));
    setText(this.#dir, view.run_dir ?? '—');
    setText(this.#created, formatTime(view.created_at));
    const totals = runTotals(view);
    // Before any agent's first model turn nothing is known: a dash, never a false 0.
    const anyUsage = view.agents.some((agent) => agent.usage !== null);
    // The agents' live sum, and the judge's session once it has answered.
    const judge = view.judge;
    setText(this.#tokens, anyUsage ? formatTokens(totals.input_tokens + (judge?.usage.input_tokens ?? 0), totals.output_tokens + (judge?.usage.output_tokens ?? 0)) : '—');
    setText(this.#cost, anyUsage ? formatCost(totals.cost_usd + (judge?.cost_usd ?? 0)) : '—');
    setText(this.#budget, view.budget_usd === null ? 'none' : formatCost(view.budget_usd));
    setText(this.#prompt, view.prompt ?? '');
    setText(this.#check, view.check_command ?? '—');
    setText(this.#source, view.source ? `${view.source.repo} @ ${view.source.ref} (${view.source.commit.slice(0, 10)})` : '—');
    setText(this.#setup, setupText(view));
    const active = isRunActive(view);
    setText(
      this.#recommended,
      view.recommended_agent_id !== null ? `Agent ${view.recommended_agent_id}` : !active && view.no_recommendation_reason ? `none (${view.no_recommendation_reason})` : '—',
    );
    this.#cancel.hidden = !active;
    this.#leaderboard.render(view, nowMs);
    this.#overview.render(view, nowMs);
    this.#compare.render(view, runChanged);
    this.#nextSteps.render(view);
    this.#checkMerges(view);
    const collapseByDefault = view.agents.length > EXPANDED_AGENTS;
    for (const agent of view.agents) {
      let panel = this.#agentPanels.get(agent.agent_id);
      if (!panel) {
        const runId = view.run_id;
        panel = new AgentPanel(agent.agent_id, {
          cancel: (agentId) => this.#actions.cancelAgent(runId, agentId),
          followUp: (agentId, prompt) => this.#actions.followUp(runId, agentId, prompt),
          loadDiff: (agentId) => this.#actions.loadDiff(runId, agentId),
          merge: (agentId) => this.#actions.merge(runId, agentId),
          exportUrl: (agentId) => this.#actions.exportUrl(runId, agentId),
          push: (agentId) => this.#actions.push(runId, agentId),
        });
        this.#agentPanels.set(agent.agent_id, panel);
        this.#panels.append(panel.element);
      }
      panel.update(agent, {
        runActive: active,
        nowMs,
        mergeable: canMerge(view, agent),
        merge: mergeOf(view, agent.agent_id),
        conflicts: this.#conflicts.get(agent.agent_id) ?? null,
        canFollowUp: canFollowUp(view, agent),
        collapseByDefault,
        pushable: view.source !== null,
      });
    }
  }

  /**
   * Once main has moved (a merge), asks which of the other mergeable agents would now conflict, so their
   * Merge buttons say so before they are pressed. Asked again after each merge.
   */
  #checkMerges(view: RunView): void {
    if (isRunActive(view) || view.merges.length === 0) return;
    const key = `${view.run_id}:${view.merges.map((merge) => merge.commit).join(',')}`;
    if (key === this.#checkedFor) return;
    this.#checkedFor = key;
    this.#conflicts = new Map();
    const candidates = view.agents.filter((agent) => canMerge(view, agent) && mergeOf(view, agent.agent_id) === null);
    for (const agent of candidates) {
      this.#actions
        .mergeCheck(view.run_id, agent.agent_id)
        .then((check) => {
          if (this.#checkedFor !== key) return;
          if (!check.clean) this.#conflicts.set(agent.agent_id, check.conflicting_files);
          this.#rerender();
        })
        .catch(() => {
          // Unknown is shown as no warning; the merge itself still refuses a conflict and says why.
        });
    }
  }

  #reset(runId: string): void {
    this.#shownRunId = runId;
    setText(this.#runId, runId);
    showMessage(this.#error, null);
    this.#panels.replaceChildren();
    this.#agentPanels = new Map();
    this.#conflicts = new Map();
    this.#checkedFor = '';
  }
}

/** The setup step in a few words: its command's outcome, its time and what it gave the agents. */
function setupText(view: RunView): string {
  if (!view.setup_command) return '—';
  const setup = view.setup;
  if (!setup) return `${view.setup_command} (waiting)`;
  const exit = setup.exit_code === null ? '' : `, exit ${setup.exit_code}`;
  const copied = setup.copied_paths.length ? `; gave every agent ${setup.copied_paths.join(', ')} in ${formatDuration(setup.copy_ms)}` : '';
  return `${setup.status.replace('_', ' ')}${exit}, ${formatDuration(setup.duration_ms)}${copied}`;
}
