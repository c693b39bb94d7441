// The open run's section: its id, status, run dir, totals and prompt, the cancel button, and one panel per agent.
import type { DiffResponse, PushResponse } from '@multiclaude/contract';
import { canMerge, isRunActive, mergeOf, runTotals, type RunView } from './state.ts';
import { AgentPanel } from './agent-panel.ts';
import { byId, setText, showMessage } from './dom.ts';
import { formatCost, formatDuration, formatTime, formatTokens } from './format.ts';

export interface RunSectionActions {
  cancelRun(runId: string): void;
  cancelAgent(runId: string, agentId: number): void;
  loadDiff(runId: string, agentId: number): Promise<DiffResponse>;
  merge(runId: string, agentId: number): Promise<void>;
  exportUrl(runId: string, agentId: number): string;
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
  return `${done} of ${view.agents.length} agents finished${counts ? ` (${counts})` : ''}; ${totals.by_status.running} working.`;
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
  readonly #prompt = byId<HTMLElement>('run-prompt');
  readonly #check = byId<HTMLElement>('run-check');
  readonly #source = byId<HTMLElement>('run-source');
  readonly #setup = byId<HTMLElement>('run-setup');
  readonly #recommended = byId<HTMLElement>('run-recommended');
  readonly #panels = byId<HTMLElement>('agent-panels');
  readonly #cancel = byId<HTMLButtonElement>('cancel-run');
  readonly #actions: RunSectionActions;
  #shownRunId: string | null = null;
  #agentPanels = new Map<number, AgentPanel>();

  constructor(actions: RunSectionActions) {
    this.#actions = actions;
    this.#cancel.addEventListener('click', () => {
      if (this.#shownRunId) this.#actions.cancelRun(this.#shownRunId);
    });
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
    if (view.run_id !== this.#shownRunId) this.#reset(view.run_id);
    this.#section.hidden = false;
    this.#section.dataset['status'] = view.status;
    setText(this.#status, view.status);
    this.#status.className = `badge ${view.status}`;
    setText(this.#progress, progressText(view));
    setText(this.#dir, view.run_dir ?? '—');
    setText(this.#created, formatTime(view.created_at));
    const totals = runTotals(view);
    const anyUsage = view.agents.some((agent) => agent.usage !== null);
    setText(this.#tokens, anyUsage ? formatTokens(totals.input_tokens, totals.output_tokens) : '—');
    setText(this.#cost, anyUsage ? formatCost(totals.cost_usd) : '—');
    setText(this.#prompt, view.prompt ?? '');
    setText(this.#check, view.check_command ?? '—');
    setText(this.#source, view.source ? `${view.source.repo} @ ${view.source.ref} (${view.source.commit.slice(0, 10)})` : '—');
    setText(this.#setup, setupText(view));
    setText(this.#recommended, view.recommended_agent_id === null ? '—' : `Agent ${view.recommended_agent_id}`);
    const active = isRunActive(view);
    this.#cancel.hidden = !active;
    for (const agent of view.agents) {
      let panel = this.#agentPanels.get(agent.agent_id);
      if (!panel) {
        const runId = view.run_id;
        panel = new AgentPanel(agent.agent_id, (agentId) => this.#actions.cancelAgent(runId, agentId), {
          loadDiff: (agentId) => this.#actions.loadDiff(runId, agentId),
          merge: (agentId) => this.#actions.merge(runId, agentId),
          exportUrl: (agentId) => this.#actions.exportUrl(runId, agentId),
          push: (agentId) => this.#actions.push(runId, agentId),
        });
        this.#agentPanels.set(agent.agent_id, panel);
        this.#panels.append(panel.element);
      }
      panel.update(agent, { runActive: active, nowMs, mergeable: canMerge(view, agent), merge: mergeOf(view, agent.agent_id), pushable: view.source !== null });
    }
  }

  #reset(runId: string): void {
    this.#shownRunId = runId;
    setText(this.#runId, runId);
    showMessage(this.#error, null);
    this.#panels.replaceChildren();
    this.#agentPanels = new Map();
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
