// The page's controller: the run form, the open run's live event stream, the run history and the model banner.
import './styles.css';
import { MAX_PROMPT_LENGTH, type RunEvent, type RunEventType } from '@multiclaude/contract';
import { ApiError, cancelAgent, cancelRun, continueAgent, eventsUrl, exportMainUrl, exportUrl, getCompare, getDiff, getMergeCheck, getReady, getRun, mergeAgent, pushAgent, submitRun, type RunOptions } from './api.ts';
import { byId, setText, showMessage } from './dom.ts';
import { HistoryList } from './history.ts';
import { RunSection } from './run-view.ts';
import { applyEvent, applyMerge, applySnapshot, isRunActive, moreEventsExpected, newRun, type RunView } from './state.ts';

const EVENT_TYPES: RunEventType[] = [
  'run_status',
  'agent_status',
  'agent_text',
  'agent_tool_call',
  'agent_tool_result',
  'agent_usage',
  'agent_followup',
  'agent_result',
  'judge_result',
  'setup_result',
  'run_finished',
];
/** From here on the prompt box counts its characters, so the limit is never a surprise. */
const COUNTER_FROM = Math.floor(MAX_PROMPT_LENGTH * 0.9);
const STREAM_RETRY_MS = 3000;
const READY_POLL_MS = 15_000;

const form = byId<HTMLFormElement>('run-form');
const promptBox = byId<HTMLTextAreaElement>('prompt');
const checkBox = byId<HTMLInputElement>('check-command');
const budgetBox = byId<HTMLInputElement>('budget');
const promptCount = byId<HTMLElement>('prompt-count');
const selectMode = byId<HTMLSelectElement>('select-mode');
const stopFirstPass = byId<HTMLInputElement>('stop-first-pass');
const startWith = byId<HTMLInputElement>('start-with');
const learnFromFailures = byId<HTMLInputElement>('learn-from-failures');
const sourceRepoBox = byId<HTMLInputElement>('source-repo');
const sourceRefBox = byId<HTMLInputElement>('source-ref');
const setupBox = byId<HTMLInputElement>('setup-command');
const slider = byId<HTMLInputElement>('agents');
const sliderValue = byId<HTMLOutputElement>('agents-value');
const runButton = byId<HTMLButtonElement>('run-button');
const formError = byId<HTMLElement>('form-error');
const banner = byId<HTMLElement>('banner');
const modelLine = byId<HTMLElement>('model');

let current: RunView | null = null;
let stream: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let tickTimer: ReturnType<typeof setInterval> | undefined;
let renderPending = false;
let submitting = false;
// Each openRun bumps it, so answers that arrive for a run the user already left are dropped.
let openGeneration = 0;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const runSection = new RunSection({
  cancelRun: (runId) => {
    cancelRun(runId).catch((error: unknown) => runSection.setError(`Could not cancel the run: ${describe(error)}`));
  },
  cancelAgent: (runId, agentId) => {
    cancelAgent(runId, agentId).catch((error: unknown) => runSection.setError(`Could not cancel agent ${agentId}: ${describe(error)}`));
  },
  loadDiff: getDiff,
  compare: getCompare,
  mergeCheck: getMergeCheck,
  followUp: async (runId, agentId, prompt) => {
    await continueAgent(runId, agentId, prompt);
    // The stream closed at the run's end; the follow-up's events come after it.
    if (current?.run_id === runId && stream === null) openStream(openGeneration);
    void historyList.refresh();
  },
  exportMainUrl,
  merge: async (runId, agentId) => {
    const merged = await mergeAgent(runId, agentId);
    if (current?.run_id !== runId) return;
    current = applyMerge(current, { agent_id: agentId, commit: merged.commit, fast_forward: merged.fast_forward, merged_at: new Date().toISOString() });
    scheduleRender();
  },
  exportUrl: (runId, agentId) => exportUrl(runId, agentId, 'zip'),
  push: (runId, agentId) => pushAgent(runId, agentId),
});
runSection.onChange(() => scheduleRender());
const historyList = new HistoryList((runId) => void openRun(runId));

function render(): void {
  renderPending = false;
  if (!current) return;
  runSection.render(current, Date.now());
  // Running agents' times count up; nothing else changes between events.
  const active = isRunActive(current);
  if (active && tickTimer === undefined) tickTimer = setInterval(render, 1000);
  if (!active && tickTimer !== undefined) {
    clearInterval(tickTimer);
    tickTimer = undefined;
  }
}

/** Coalesces a burst of events (a replayed history) into one render. */
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  setTimeout(render, 16);
}

function closeStream(): void {
  stream?.close();
  stream = null;
  clearTimeout(retryTimer);
}

function openStream(generation: number): void {
  if (!current || generation !== openGeneration) return;
  // `after` resumes where this view is; EventSource's own reconnects send Last-Event-ID instead.
  const source = new EventSource(eventsUrl(current.run_id, current.last_event_id));
  stream = source;
  const onEvent = (message: MessageEvent<string>) => {
    if (generation !== openGeneration || !current) return;
    let event: RunEvent;
    try {
      event = JSON.parse(message.data) as RunEvent;
    } catch {
      return;
    }
    current = applyEvent(current, event);
    historyList.follow(current.run_id, current.status);
    scheduleRender();
    if (event.type === 'run_finished') {
      closeStream();
      // A replayed run with follow-ups has more events after this run_finished: read on from here.
      if (moreEventsExpected(current)) openStream(generation);
      else void historyList.refresh();
    }
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
  source.onopen = () => runSection.setError(null);
  source.onerror = () => {
    if (generation !== openGeneration) return;
    if (source.readyState === EventSource.CLOSED) {
      // The proxy answered with an error (orchestrator down): EventSource gives up on those, so retry here.
      runSection.setError('Lost the live updates: the orchestrator is not answering. Retrying…');
      closeStream();
      retryTimer = setTimeout(() => openStream(generation), STREAM_RETRY_MS);
    } else {
      runSection.setError('Live updates interrupted; reconnecting…');
    }
  };
}

function runIdFromHash(): string | null {
  return /^#run=([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1] ?? null;
}

async function openRun(runId: string, known?: { prompt: string; agentCount: number }): Promise<void> {
  closeStream();
  const generation = ++openGeneration;
  current = newRun(runId, known?.agentCount ?? 0, known?.prompt ?? null);
  if (runIdFromHash() !== runId) location.hash = `run=${runId}`;
  historyList.setCurrent(runId);
  scheduleRender();
  try {
    const snapshot = await getRun(runId);
    if (generation !== openGeneration || !current) return;
    current = applySnapshot(current, snapshot);
    historyList.follow(current.run_id, current.status);
    scheduleRender();
  } catch (error) {
    if (generation !== openGeneration) return;
    if (error instanceof ApiError && error.status === 404) {
      current = null;
      runSection.showFailure(runId, `There is no run ${runId} on this orchestrator.`);
      return;
    }
    runSection.setError(`Could not load the run: ${describe(error)}`);
  }
  openStream(generation);
}

function showFormError(message: string | null): void {
  showMessage(formError, message);
  promptBox.setAttribute('aria-invalid', String(message !== null && formError.dataset['field'] === 'prompt'));
  budgetBox.setAttribute('aria-invalid', String(message !== null && formError.dataset['field'] === 'budget_usd'));
}

/** The form's optional fields (the budget read already); a start_with the browser cannot read is sent as typed, so the orchestrator names the field. */
function runOptions(budget: number | null): RunOptions {
  const options: Record<string, unknown> = {};
  const check = checkBox.value.trim();
  if (check) options['check_command'] = check;
  if (budget !== null) options['budget_usd'] = budget;
  if (selectMode.value) options['select'] = selectMode.value;
  if (stopFirstPass.checked) options['stop_when'] = 'first_pass';
  if (startWith.value.trim() !== '') options['start_with'] = Number(startWith.value);
  if (learnFromFailures.checked) options['learn_from_failures'] = true;
  const repo = sourceRepoBox.value.trim();
  const ref = sourceRefBox.value.trim();
  if (repo) options['source'] = { repo, ...(ref ? { ref } : {}) };
  const setup = setupBox.value.trim();
  if (setup) options['setup_command'] = setup;
  return options as RunOptions;
}

function updateSliderValue(): void {
  const count = Number(slider.value);
  setText(sliderValue, slider.value);
  slider.setAttribute('aria-valuetext', `${count} agent${count === 1 ? '' : 's'}`);
}

function updatePromptCount(): void {
  const length = promptBox.value.length;
  const over = length > MAX_PROMPT_LENGTH;
  promptCount.hidden = length < COUNTER_FROM;
  setText(promptCount, `${length.toLocaleString('en-US')} / ${MAX_PROMPT_LENGTH.toLocaleString('en-US')} characters${over ? ` — ${(length - MAX_PROMPT_LENGTH).toLocaleString('en-US')} over the limit` : ''}`);
  promptCount.classList.toggle('over', over);
  if (!over && formError.dataset['field'] === 'prompt' && formError.textContent?.includes('limit')) showFormError(null);
}

/** The budget box as a number: null when empty; a message when it is not a positive amount. */
function readBudget(): number | null | string {
  const text = budgetBox.value.trim().replace(/^\$/, '');
  if (text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? value : 'The budget must be a positive amount in US dollars, e.g. 2.50, or empty for none.';
}

function refuse(field: string, message: string, box: HTMLElement): void {
  formError.dataset['field'] = field;
  showFormError(message);
  box.focus();
}

async function submit(): Promise<void> {
  if (submitting) return;
  const prompt = promptBox.value;
  const agentCount = Number(slider.value);
  formError.dataset['field'] = '';
  if (prompt.trim() === '') return refuse('prompt', 'Type a prompt first: it is what every agent will work on.', promptBox);
  // Nothing is cut silently: a prompt over the limit is refused whole, with its size.
  if (prompt.length > MAX_PROMPT_LENGTH) {
    return refuse(
      'prompt',
      `The prompt is ${prompt.length.toLocaleString('en-US')} characters; the limit is ${MAX_PROMPT_LENGTH.toLocaleString('en-US')}. Shorten it by ${(prompt.length - MAX_PROMPT_LENGTH).toLocaleString('en-US')}.`,
      promptBox,
    );
  }
  const budget = readBudget();
  if (typeof budget === 'string') return refuse('budget_usd', budget, budgetBox);
  submitting = true;
  runButton.setAttribute('aria-disabled', 'true');
  setText(runButton, 'Starting…');
  form.setAttribute('aria-busy', 'true');
  try {
    const accepted = await submitRun(prompt, agentCount, runOptions(budget));
    showFormError(null);
    void historyList.refresh();
    await openRun(accepted.run_id, { prompt, agentCount });
    // Bring the new run into view: its overview is what the user watches next.
    byId<HTMLElement>('run').scrollIntoView({ block: 'start' });
  } catch (error) {
    // The prompt stays in the box: the user fixes the problem and presses Run again.
    formError.dataset['field'] = error instanceof ApiError ? (error.field ?? '') : '';
    showFormError(`Could not start the run: ${describe(error)}`);
  } finally {
    submitting = false;
    runButton.removeAttribute('aria-disabled');
    setText(runButton, 'Run');
    form.removeAttribute('aria-busy');
  }
}

let orchestratorReachable = true;

async function checkReady(): Promise<void> {
  try {
    const ready = await getReady();
    // Back after an outage: the history shown is the error, so load it again.
    if (!orchestratorReachable) void historyList.refresh();
    orchestratorReachable = true;
    const demo = /offline|demo/i.test(ready.model);
    setText(modelLine, `${demo ? 'Demo model' : ready.model} · ${ready.runtime} sandbox`);
    modelLine.title = ready.model;
    if (ready.status !== 'ready') {
      const failing = Object.values(ready.checks).filter((check) => !check.ok).map((check) => check.detail);
      showBanner('alert', `The orchestrator is not ready: ${failing.join('; ') || 'a check failed'}.`);
    } else if (demo) {
      showBanner('demo', 'Demo mode: agents talk to the offline scripted model, not Claude. Start the orchestrator with ANTHROPIC_API_KEY for real agents.');
    } else {
      showBanner(null, null);
    }
  } catch (error) {
    orchestratorReachable = false;
    setText(modelLine, '');
    showBanner('alert', `The orchestrator is not reachable (${describe(error)}). Runs cannot start until it is back.`);
  }
}

function showBanner(kind: 'alert' | 'demo' | null, message: string | null): void {
  banner.className = `banner ${kind ?? ''}`;
  banner.setAttribute('role', kind === 'alert' ? 'alert' : 'status');
  showMessage(banner, message);
}

slider.addEventListener('input', updateSliderValue);
promptBox.addEventListener('input', updatePromptCount);
// The skip link moves focus to the prompt without touching the address, which names the open run (#run=<id>).
document.querySelector<HTMLAnchorElement>('a.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  promptBox.focus();
  promptBox.scrollIntoView({ block: 'center' });
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  void submit();
});
promptBox.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    void submit();
  }
});
window.addEventListener('hashchange', () => {
  const runId = runIdFromHash();
  if (runId && runId !== current?.run_id) void openRun(runId);
});

updateSliderValue();
void checkReady();
setInterval(() => void checkReady(), READY_POLL_MS);
void historyList.refresh();
const initialRun = runIdFromHash();
if (initialRun) void openRun(initialRun);
