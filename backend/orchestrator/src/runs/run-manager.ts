// Runs as durable jobs on this process: admits them, queues their agents for slots, runs each through the agent executor, records progress through the event log, cancels them, and keeps their leases.
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { AgentMessage, AgentState, AgentStatus, CreateRunRequest, RunState, RunStatus } from '@multiclaude/contract';
import { addTotals, type UsageTotals } from '../agents/usage.ts';
import { createRunRepository, type RunRepository } from '../git/run-repository.ts';
import { createRunId } from '../workspace/run-id.ts';
import type { AgentPaths, WorkspaceLayout } from '../workspace/layout.ts';
import type { RunStore, CancelTarget, EventListener } from './run-store.ts';
import type { Leases } from './lease.ts';
import type { AgentSlots } from './agent-slots.ts';
import type { AgentExecutor } from './agent-executor.ts';
import { RunEventLog } from './event-log.ts';
import { initialRunState } from './initial-state.ts';
import { summarize, isTerminal, isTerminalRun, applyRanking, INTERRUPTED_ERROR } from './run-state.ts';
import { measureDiff } from './agent-review.ts';
import { sweepInterruptedRuns } from './recovery.ts';
import { ServiceError, isOutOfSpace, runNotFound } from './errors.ts';
import { formatBytes, freeSpace } from '../workspace/disk.ts';

export interface RunManagerOptions {
  layout: WorkspaceLayout;
  store: RunStore;
  leases: Leases;
  slots: AgentSlots;
  executor: AgentExecutor;
  maxQueuedRuns: number;
  /** New runs are refused below this much free space on the workspace's file system (MIN_FREE_DISK). */
  minFreeDiskBytes: number;
  logger: Logger;
  heartbeatMs?: number;
  sweepMs?: number;
  now?: () => Date;
  /** Told how many agents a run accepted now will need, before its repository is made: spare sessions start meanwhile (agents/warm-pool.ts). */
  warmStarts?: { prepare(agents: number): void };
}

/** Why agents are cancelled when the orchestrator stops; it becomes their error. */
export const SHUTDOWN_REASON = 'the orchestrator was shut down';
const MAX_KEPT_MESSAGES = 1_000;

interface ActiveRun {
  state: RunState;
  repository: RunRepository;
  cancelRequested: boolean;
  /** The status the run ends with when not cancelled: `completed`, or what it was before a follow-up. */
  endStatus: RunStatus;
  /** Agents stopped by this process's shutdown: they end `error` (interrupted), the run `interrupted`. */
  interruptedAgents?: Set<number>;
  agentControllers: Map<number, AbortController>;
  log: RunEventLog;
  finished: Promise<RunState>;
  resolveFinished: (state: RunState) => void;
  logger: Logger;
}

export class RunManager {
  readonly #options: RunManagerOptions;
  readonly #active = new Map<string, ActiveRun>();
  /** Runs a follow-up is being set up for: a second one is refused at once. */
  readonly #continuing = new Set<string>();
  /** Finished runs whose end is not recorded yet (a full disk): served from memory while the writes are retried. */
  readonly #unrecorded = new Map<string, ActiveRun>();
  /** Runs accepted but still being set up (their repository): counted against the queue from the moment of acceptance. */
  #admitting = 0;
  #timers: NodeJS.Timeout[] = [];

  constructor(options: RunManagerOptions) {
    this.#options = options;
  }

  #now(): string {
    return (this.#options.now?.() ?? new Date()).toISOString();
  }

  get runsInFlight(): number {
    return this.#active.size;
  }

  #queuedRuns(): ActiveRun[] {
    return [...this.#active.values()].filter((run) => run.state.status === 'queued');
  }

  /** Starts heartbeats for owned runs and the sweep that marks orphaned runs interrupted. */
  async start(): Promise<void> {
    await this.sweepInterrupted();
    const heartbeat = setInterval(() => void this.#heartbeat(), this.#options.heartbeatMs ?? 2_000);
    const sweep = setInterval(() => void this.sweepInterrupted(), this.#options.sweepMs ?? 30_000);
    heartbeat.unref();
    sweep.unref();
    this.#timers = [heartbeat, sweep];
  }

  /** Stops timers and cancels every run this process owns; for shutdown. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    const runs = [...this.#active.values()];
    // Not the user's cancel: the orchestrator stopped (a pod deleted, a rollout), so the run is interrupted.
    for (const run of runs) {
      run.interruptedAgents = new Set(run.state.results.filter((result) => !isTerminal(result.status)).map((result) => result.agent_id));
      this.#cancel(run, SHUTDOWN_REASON);
    }
    await Promise.allSettled(runs.map((run) => run.finished));
    for (const run of this.#unrecorded.values()) run.log.close();
  }

  /** Refuses a run when the workspace's file system is below MIN_FREE_DISK: the run could not keep its records. */
  async #checkSpace(): Promise<void> {
    const { layout, minFreeDiskBytes } = this.#options;
    let free: number;
    try {
      free = (await freeSpace(layout.root)).freeBytes;
    } catch {
      return; // an unreadable workspace: the run's setup says why, in its own words
    }
    if (free < minFreeDiskBytes) {
      throw new ServiceError(
        'insufficient_storage',
        `only ${formatBytes(free)} free on the workspace's file system, below MIN_FREE_DISK (${formatBytes(minFreeDiskBytes)}): free some space, then try again`,
      );
    }
  }

  /**
   * Admission is one synchronous step (check and count together), so concurrent requests can never
   * exceed MAX_QUEUED_RUNS; the repository is made after, and the count released if that fails.
   */
  async submit(request: CreateRunRequest): Promise<RunState> {
    await this.#checkSpace();
    const waiting = this.#queuedRuns().length + this.#admitting;
    if (waiting >= this.#options.maxQueuedRuns) {
      // A rough wait: the agents ahead of this run, over the slots, a minute each.
      throw new ServiceError('queue_full', `the run queue is full (${this.#options.maxQueuedRuns} runs waiting); try again later`, {
        retryAfterSeconds: Math.max(5, Math.min(300, waiting * 30)),
      });
    }
    this.#admitting++;
    let counted = true;
    // Once the run is in #active it counts as queued there; until then (or if setup fails) it counts here.
    const uncount = (): void => {
      if (counted) this.#admitting--;
      counted = false;
    };
    try {
      return await this.#admit(request, waiting + 1, uncount);
    } catch (error) {
      if (isOutOfSpace(error)) {
        throw new ServiceError('insufficient_storage', `the workspace's file system is full: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    } finally {
      uncount();
    }
  }

  async #admit(request: CreateRunRequest, queuePosition: number, uncount: () => void): Promise<RunState> {
    const createdAt = this.#options.now?.() ?? new Date();
    const paths = this.#options.layout.run(createRunId(createdAt));
    const logger = this.#options.logger.child({ run_id: paths.runId });
    this.#options.warmStarts?.prepare(request.agent_count);
    const repository = await createRunRepository({ paths, prompt: request.prompt, agentCount: request.agent_count, createdAt });
    let resolveFinished!: (state: RunState) => void;
    const run: ActiveRun = {
      state: initialRunState(request, repository, createdAt, queuePosition),
      repository,
      cancelRequested: false,
      endStatus: 'completed',
      agentControllers: new Map(repository.agents.map((agent) => [agent.agentId, new AbortController()])),
      log: new RunEventLog({ runId: paths.runId, store: this.#options.store, logger, now: () => this.#now() }),
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      resolveFinished,
      logger,
    };
    this.#active.set(paths.runId, run);
    uncount();
    try {
      await this.#options.leases.renew(paths.runId);
    } catch (error) {
      // Not started, so nothing of it may stay behind as if it were.
      this.#active.delete(paths.runId);
      await rm(paths.directory, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
    run.log.emit({ type: 'run_status', status: 'queued', queue_position: run.state.queue_position });
    run.log.persist(this.#snapshot(run));
    await run.log.flushed();
    logger.info({ agent_count: request.agent_count, queue_position: run.state.queue_position }, 'run accepted');
    void this.#execute(run, repository.agents);
    return this.#snapshot(run);
  }

  /**
   * Sends a follow-up to one agent of an ended run: the run runs again with that agent alone, resuming its
   * SDK session on its branch, then checks and ranks as at the end of a run. Conflict while the run or the
   * agent is busy, when the agent has no session, or when it has spent its share of the run's budget.
   */
  async continueAgent(runId: string, agentId: number, prompt: string): Promise<RunState> {
    const active = this.#active.get(runId);
    const busy = () => new ServiceError('conflict', `run ${runId} is busy; follow up once it has ended`);
    if (this.#continuing.has(runId) || (active && (active.state.status === 'queued' || active.state.status === 'running'))) throw busy();
    this.#continuing.add(runId);
    try {
      // A run that has just ended is still writing its last records: the follow-up starts after them.
      if (active) await active.finished;
      // A run whose end is not recorded yet (a full disk) waits for that before anything new starts.
      if (this.#active.has(runId) || this.#unrecorded.has(runId)) throw busy();
      const state = await this.#options.store.readState(runId);
      if (!state) throw runNotFound(runId);
      const agent = Number.isInteger(agentId) ? state.results.find((result) => result.agent_id === agentId) : undefined;
      if (!agent) throw new ServiceError('not_found', `run ${runId} has no agent ${agentId}`);
      if (state.status === 'queued' || state.status === 'running') {
        throw new ServiceError('conflict', `run ${runId} is still ${state.status}; follow up once it has ended`);
      }
      if (!agent.session_id) throw new ServiceError('conflict', `agent ${agentId} has no session to continue (it never started)`);
      const left = this.#budgetLeft(state, agentId);
      if (left !== null && left <= 0) {
        throw new ServiceError('conflict', `agent ${agentId} has spent its share of the run's budget ($${agent.cost_usd.toFixed(4)} of $${(state.budget_usd! / state.agent_count).toFixed(4)})`);
      }
      return await this.#startFollowUp(state, agentId, prompt, agent.session_id);
    } finally {
      this.#continuing.delete(runId);
    }
  }

  async #startFollowUp(state: RunState, agentId: number, prompt: string, sessionId: string): Promise<RunState> {
    const paths = this.#options.layout.run(state.run_info.run_id);
    const logger = this.#options.logger.child({ run_id: paths.runId });
    const history = await this.#options.store.readEvents(paths.runId);
    const agentPaths = paths.agent(agentId);
    let resolveFinished!: (state: RunState) => void;
    const run: ActiveRun = {
      state: structuredClone(state),
      repository: { paths, baseCommit: state.base_commit, agents: state.results.map((result) => paths.agent(result.agent_id)) },
      cancelRequested: false,
      endStatus: state.status,
      agentControllers: new Map([[agentId, new AbortController()]]),
      log: new RunEventLog({ runId: paths.runId, store: this.#options.store, logger, now: () => this.#now(), history }),
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      resolveFinished,
      logger,
    };
    run.state.status = 'running';
    run.state.finished_at = null;
    run.state.followups.push({ agent_id: agentId, prompt, requested_at: this.#now() });
    const agent = this.#setAgent(run, agentId, { status: 'pending', check: null, finished_at: null, status_detail: null });
    delete agent.error;
    this.#active.set(paths.runId, run);
    await this.#options.leases.renew(paths.runId);
    run.log.emit({ type: 'run_status', status: 'running', queue_position: null });
    run.log.emit({ type: 'agent_followup', agent_id: agentId, prompt });
    run.log.emit({ type: 'agent_status', agent_id: agentId, status: 'pending' });
    // The record is of an ended run, which the owner's snapshots never write over (a replica that lost its
    // lease must not revive a run): reopening it for the follow-up is one explicit change.
    const reopened = this.#snapshot(run);
    await this.#options.store.updateState(paths.runId, (stored) => void Object.assign(stored, reopened));
    await run.log.flushed();
    logger.info({ agent_id: agentId, prompt_length: prompt.length }, 'follow-up accepted');
    void this.#execute(run, [agentPaths], { prompt, sessionId });
    return this.#snapshot(run);
  }

  /** Finished runs whose end this process has not managed to record yet. */
  get unrecordedRunIds(): string[] {
    return [...this.#unrecorded.keys()];
  }

  /** Whether this process runs the run now. */
  owns(runId: string): boolean {
    return this.#active.has(runId);
  }

  /** Resolves with the final state once every agent of the run has ended. */
  async waitForRun(runId: string): Promise<RunState> {
    const run = this.#active.get(runId) ?? this.#unrecorded.get(runId);
    if (run) return run.finished;
    const state = await this.#options.store.readState(runId);
    if (!state) throw runNotFound(runId);
    return state;
  }

  async get(runId: string): Promise<RunState | undefined> {
    const run = this.#active.get(runId) ?? this.#unrecorded.get(runId);
    return run ? this.#snapshot(run) : this.#options.store.readState(runId);
  }

  #snapshot(run: ActiveRun): RunState {
    const state = structuredClone(run.state);
    state.queue_position = state.status === 'queued' ? this.#queuedRuns().indexOf(run) + 1 : null;
    return state;
  }

  /** Cancels a run this process owns; false when the run is not running here. */
  cancelRun(runId: string): boolean {
    const run = this.#active.get(runId);
    // A run that has just ended is still here while its last records are written: nothing to cancel.
    if (!run || isTerminalRun(run.state.status)) return false;
    this.#cancel(run);
    return true;
  }

  #cancel(run: ActiveRun, reason?: string): void {
    run.cancelRequested = true;
    for (const controller of run.agentControllers.values()) controller.abort(new CancelReason(reason));
  }

  /** Cancels one agent; 'not_found' when the run is not owned here or has no such agent. */
  cancelAgent(runId: string, agentId: number): 'cancelled' | 'already_finished' | 'not_found' {
    const run = this.#active.get(runId);
    const agent = run?.state.results.find((result) => result.agent_id === agentId);
    if (!run || !agent) return 'not_found';
    if (isTerminal(agent.status)) return 'already_finished';
    run.agentControllers.get(agentId)?.abort(new CancelReason());
    return 'cancelled';
  }

  /**
   * Replays the run's events after `afterId`, then follows it live. Returns undefined when the run is
   * not owned by this process (the caller follows the store instead).
   */
  subscribe(runId: string, afterId: number, listener: EventListener): (() => void) | undefined {
    return (this.#active.get(runId) ?? this.#unrecorded.get(runId))?.log.subscribe(afterId, listener);
  }

  #persist(run: ActiveRun): void {
    run.log.persist(this.#snapshot(run));
  }

  #setAgent(run: ActiveRun, agentId: number, change: Partial<AgentState>): AgentState {
    const agent = run.state.results.find((result) => result.agent_id === agentId)!;
    Object.assign(agent, change);
    run.state.summary = summarize(run.state.results);
    return agent;
  }

  async #execute(run: ActiveRun, agents: AgentPaths[], followUp?: FollowUpJob): Promise<void> {
    // The run's agents ask for their slots as one group, so they start together (agent-slots.ts).
    const slots = this.#options.slots.acquireGroup(
      agents.map((agent) => ({
        signal: run.agentControllers.get(agent.agentId)!.signal,
        onWaiting: (ahead: number) => this.#setDetail(run, agent.agentId, 'pending', `waiting for a free slot (${ahead} ahead)`),
      })),
    );
    await Promise.all(agents.map((agent, index) => this.#runOneAgent(run, agent, slots[index]!, followUp)));
    run.state.status = run.interruptedAgents ? 'interrupted' : run.cancelRequested ? 'cancelled' : run.endStatus;
    for (const result of run.state.results) {
      if (run.interruptedAgents?.has(result.agent_id) && result.status === 'cancelled') Object.assign(result, { status: 'error', error: INTERRUPTED_ERROR });
    }
    run.state.finished_at = this.#now();
    run.state.summary = summarize(run.state.results);
    applyRanking(run.state);
    this.#persist(run);
    run.log.emit({ type: 'run_finished', run: this.#snapshot(run) });
    await run.log.flushed();
    const runId = run.state.run_info.run_id;
    this.#active.delete(runId);
    const unrecorded = run.log.unrecordedBecause;
    if (unrecorded) {
      // The run has ended; only its record has not. Serve it from memory until the retries get through.
      run.state.error = `the run's end could not be recorded (${unrecorded.message}); the orchestrator keeps retrying`;
      this.#unrecorded.set(runId, run);
      void run.log.recorded().then(() => {
        this.#unrecorded.delete(runId);
        run.logger.info('run’s end recorded after all');
      });
    }
    run.logger.info({ status: run.state.status, ...run.state.summary, ...(unrecorded ? { unrecorded: unrecorded.message } : {}) }, 'run finished');
    run.resolveFinished(this.#snapshot(run));
  }

  #diff(run: ActiveRun, agent: AgentPaths, logger: Logger) {
    return measureDiff(run.repository.paths.gitDirectory, run.repository.baseCommit, agent.branchName, logger);
  }

  async #runOneAgent(run: ActiveRun, agent: AgentPaths, slot: Promise<() => void>, followUp?: FollowUpJob): Promise<void> {
    const agentId = agent.agentId;
    const controller = run.agentControllers.get(agentId)!;
    const logger = run.logger.child({ agent_id: agentId, ...(followUp ? { follow_up: true } : {}) });
    let release: () => void;
    try {
      release = await slot;
    } catch {
      const reason = cancelText(controller.signal);
      this.#finishAgent(run, agentId, 'cancelled', {
        error: reason === 'cancelled' ? 'cancelled before it started' : `${reason} before it started`,
        diff_stats: await this.#diff(run, agent, logger),
      });
      return;
    }
    const before = this.#totalsOf(run, agentId);
    try {
      if (run.state.status === 'queued') {
        run.state.status = 'running';
        run.state.started_at = this.#now();
        run.log.emit({ type: 'run_status', status: 'running', queue_position: null });
      }
      this.#setAgent(run, agentId, { status: 'running', started_at: this.#now(), finished_at: null });
      this.#setDetail(run, agentId, 'running', 'starting its sandbox');
      this.#persist(run);
      const budgetUsd = this.#budgetLeft(run.state, agentId);
      const outcome = await this.#options.executor.runAgent({
        run: run.repository.paths,
        agent,
        userPrompt: followUp?.prompt ?? run.state.prompt,
        ...(followUp ? { resumeSessionId: followUp.sessionId } : {}),
        ...(budgetUsd !== null ? { budgetUsd } : {}),
        logger,
        signal: controller.signal,
        onMessage: (message) => this.#onAgentMessage(run, agentId, message),
        onSandboxReady: () => this.#setDetail(run, agentId, 'running', null),
        onUsage: (session) => {
          const totals = addTotals(before, session);
          this.#setAgent(run, agentId, { usage: totals.usage, cost_usd: totals.cost_usd, num_turns: totals.num_turns });
          run.log.emit({ type: 'agent_usage', agent_id: agentId, ...totals });
        },
      });
      const status: AgentStatus = controller.signal.aborted ? 'cancelled' : outcome.status;
      const command = run.state.check_command;
      // A cancelled agent is not judged; the others are checked in their own sandbox before the slot is freed.
      const check =
        status !== 'cancelled' && command
          ? await this.#options.executor.runCheck({ run: run.repository.paths, agent, command, logger, signal: controller.signal })
          : null;
      // A follow-up adds to what the agent's earlier sessions spent and said.
      const totals = addTotals(before, { usage: outcome.usage, cost_usd: outcome.cost_usd, num_turns: outcome.num_turns });
      const earlier = followUp ? (this.#agent(run, agentId).messages ?? []) : [];
      this.#finishAgent(run, agentId, status, {
        check,
        diff_stats: await this.#diff(run, agent, logger),
        output: outcome.output,
        ...(status === 'cancelled' ? { error: cancelText(controller.signal) } : outcome.error ? { error: outcome.error } : {}),
        messages: [...earlier, ...outcome.messages].slice(-MAX_KEPT_MESSAGES),
        usage: totals.usage,
        cost_usd: totals.cost_usd,
        duration_ms: (followUp ? (this.#agent(run, agentId).duration_ms ?? 0) : 0) + outcome.duration_ms,
        num_turns: totals.num_turns,
        // A follow-up resumes the session it continued (the SDK may give the resumed one a new id).
        session_id: outcome.session_id ?? followUp?.sessionId ?? null,
      });
    } finally {
      release();
    }
  }

  #agent(run: ActiveRun, agentId: number): AgentState {
    return run.state.results.find((result) => result.agent_id === agentId)!;
  }

  /** What the agent has spent before the session about to start: nothing, or its earlier sessions for a follow-up. */
  #totalsOf(run: ActiveRun, agentId: number): UsageTotals {
    const agent = this.#agent(run, agentId);
    return { usage: { ...agent.usage }, cost_usd: agent.cost_usd, num_turns: agent.num_turns };
  }

  /** The agent's share of the run's budget not yet spent; null when the run has no budget. */
  #budgetLeft(state: RunState, agentId: number): number | null {
    if (state.budget_usd === null) return null;
    const agent = state.results.find((result) => result.agent_id === agentId)!;
    return state.budget_usd / state.agent_count - agent.cost_usd;
  }

  /** Says what the agent is doing within its status (or clears it with null), as an agent_status event. */
  #setDetail(run: ActiveRun, agentId: number, status: AgentStatus, detail: string | null): void {
    this.#setAgent(run, agentId, { status, status_detail: detail });
    run.log.emit({ type: 'agent_status', agent_id: agentId, status, ...(detail ? { detail } : {}) });
  }

  #finishAgent(run: ActiveRun, agentId: number, status: AgentStatus, change: Partial<AgentState>): void {
    const agent = this.#setAgent(run, agentId, { ...change, status, status_detail: null, finished_at: this.#now() });
    run.log.emit({ type: 'agent_status', agent_id: agentId, status, ...(agent.error ? { error: agent.error } : {}) });
    run.log.emit({ type: 'agent_result', agent_id: agentId, result: structuredClone(agent) });
    this.#persist(run);
  }

  #onAgentMessage(run: ActiveRun, agentId: number, message: AgentMessage): void {
    if (message.type === 'text' && message.text) run.log.emit({ type: 'agent_text', agent_id: agentId, text: message.text });
    else if (message.type === 'tool_use') {
      run.log.emit({ type: 'agent_tool_call', agent_id: agentId, tool: message.tool ?? '?', input_summary: message.input_summary ?? '' });
    } else if (message.type === 'tool_result' || message.type === 'tool_error') {
      run.log.emit({ type: 'agent_tool_result', agent_id: agentId, text: message.text ?? '', is_error: message.type === 'tool_error' });
    }
  }

  #applyCancelRequest(run: ActiveRun, target: CancelTarget): void {
    if (target === 'all') this.#cancel(run);
    else for (const agentId of target) this.cancelAgent(run.state.run_info.run_id, agentId);
  }

  async #heartbeat(): Promise<void> {
    for (const [runId, run] of [...this.#active, ...this.#unrecorded]) {
      await this.#options.leases
        .renew(runId)
        .catch((error: unknown) => this.#options.logger.warn({ err: error, run_id: runId }, 'could not renew run lease'));
      // Another replica may have been asked to cancel this run; it leaves the request in the store.
      const target = await this.#options.store.takeCancelRequest(runId);
      if (target) this.#applyCancelRequest(run, target);
    }
  }

  /** Marks runs left queued or running by a dead owner as interrupted; returns their ids. */
  async sweepInterrupted(): Promise<string[]> {
    const { store, leases, logger } = this.#options;
    const isActive = (runId: string): boolean => this.#active.has(runId) || this.#unrecorded.has(runId);
    return sweepInterruptedRuns({ store, leases, logger, isActive, now: () => this.#now() });
  }
}

/** The reason an agent's controller is aborted with: a user's cancel, or the orchestrator stopping. */
class CancelReason extends Error {
  constructor(reason?: string) {
    super(reason ? `cancelled: ${reason}` : 'cancelled');
    this.name = 'CancelReason';
  }
}

/** The agent's error after a cancel: `cancelled`, or `cancelled: <why>`. */
function cancelText(signal: AbortSignal): string {
  return signal.reason instanceof CancelReason ? signal.reason.message : 'cancelled';
}

interface FollowUpJob {
  prompt: string;
  sessionId: string;
}
