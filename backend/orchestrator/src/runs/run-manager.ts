// Runs as durable jobs on this process: admits them and their follow-ups, has their attempts run (run-attempts.ts), ends them with savings, totals and ranking, records progress through the event log, cancels them, and keeps their leases.
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CreateRunRequest, RunState } from '@multiclaude/contract';
import { createRunRepository } from '../git/run-repository.ts';
import type { ResolvedSource, SourceRepositories } from '../git/source.ts';
import { createRunId } from '../workspace/run-id.ts';
import type { RunPaths, WorkspaceLayout } from '../workspace/layout.ts';
import type { RunStore, CancelTarget, EventListener } from './run-store.ts';
import type { Leases } from './lease.ts';
import type { AgentSlots } from './agent-slots.ts';
import type { AgentExecutor } from './agent-executor.ts';
import { RunEventLog } from './event-log.ts';
import { initialRunState } from './initial-state.ts';
import { summarize, isTerminal, isTerminalRun, applyRanking, INTERRUPTED_ERROR } from './run-state.ts';
import { sweepInterruptedRuns } from './recovery.ts';
import { agentBudgetLeft, computeTotals, estimateSavings, strategyOf } from './selection.ts';
import { rankingNote } from './judge.ts';
import { RunAttempts, CancelReason, setAgent, type ActiveRun, type FollowUpJob } from './run-attempts.ts';
import { runSetupStep } from './run-setup.ts';
import { ServiceError, fromSourceError, isOutOfSpace, runNotFound } from './errors.ts';
import { formatBytes, freeSpace } from '../workspace/disk.ts';

export interface RunManagerOptions {
  layout: WorkspaceLayout;
  store: RunStore;
  leases: Leases;
  slots: AgentSlots;
  executor: AgentExecutor;
  /** The orchestrator's access to source repositories (the run's one fetch). */
  sources: SourceRepositories;
  maxQueuedRuns: number;
  /** New runs are refused below this much free space on the workspace's file system (MIN_FREE_DISK). */
  minFreeDiskBytes: number;
  logger: Logger;
  heartbeatMs?: number;
  sweepMs?: number;
  /** How long the judge may take before the run falls back to the design's ranking (JUDGE_TIMEOUT_MS). */
  judgeTimeoutMs?: number;
  now?: () => Date;
  /** Told how many agents a run accepted now will start first, before its repository is made: spare sessions start meanwhile (agents/warm-pool.ts). */
  warmStarts?: { prepare(agents: number): void };
}

/** Why agents are cancelled when the orchestrator stops; it becomes their error. */
export const SHUTDOWN_REASON = 'the orchestrator was shut down';

/** The parts of an ActiveRun that start empty, for a new run and for a follow-up alike. */
function freshAttempts(): Pick<ActiveRun, 'cancelRequested' | 'runController' | 'started' | 'inSession' | 'stopReasons' | 'stopped' | 'notStarted' | 'firstPass'> {
  return {
    cancelRequested: false,
    runController: new AbortController(),
    started: new Set(),
    inSession: new Set(),
    stopReasons: new Map(),
    stopped: new Set(),
    notStarted: new Set(),
    firstPass: null,
  };
}

export class RunManager {
  readonly #options: RunManagerOptions;
  readonly #attempts: RunAttempts;
  readonly #active = new Map<string, ActiveRun>();
  readonly #stateListeners = new Set<(runId: string) => void>();
  /** Runs a follow-up is being set up for: a second one is refused at once. */
  readonly #continuing = new Set<string>();
  /** Finished runs whose end is not recorded yet (a full disk): served from memory while the writes are retried. */
  readonly #unrecorded = new Map<string, ActiveRun>();
  /** Runs accepted but still being set up (their repository): counted against the queue from the moment of acceptance. */
  #admitting = 0;
  #timers: NodeJS.Timeout[] = [];
  /** Heartbeats and sweeps under way: stop() waits for them, so none touches the store after it closes. */
  #ticks = new Set<Promise<void>>();

  constructor(options: RunManagerOptions) {
    this.#options = options;
    this.#attempts = new RunAttempts({
      executor: options.executor,
      slots: options.slots,
      judgeTimeoutMs: options.judgeTimeoutMs ?? 300_000,
      now: () => this.#now(),
      persist: (run) => this.#persist(run),
    });
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
    const heartbeat = setInterval(() => this.#tick('heartbeat', () => this.#heartbeat()), this.#options.heartbeatMs ?? 2_000);
    const sweep = setInterval(() => this.#tick('sweep', () => this.sweepInterrupted()), this.#options.sweepMs ?? 30_000);
    heartbeat.unref();
    sweep.unref();
    this.#timers = [heartbeat, sweep];
  }

  /** Runs one timer's work; a failure (the store unreachable for a moment) is logged, never an unhandled rejection. */
  #tick(name: string, work: () => Promise<unknown>): void {
    const tick: Promise<void> = work()
      .then(() => undefined)
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, `run ${name} failed; the next one tries again`))
      .finally(() => this.#ticks.delete(tick));
    this.#ticks.add(tick);
  }

  /** Stops timers and cancels every run this process owns; for shutdown. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.allSettled([...this.#ticks]);
    const runs = [...this.#active.values()];
    // Not the user's cancel: the orchestrator stopped (a pod deleted, a rollout), so the run is interrupted.
    for (const run of runs) {
      // Attempts an early stop had already ended keep their own reason.
      const unfinished = run.state.results.filter((result) => !isTerminal(result.status) && !run.stopReasons.has(result.agent_id));
      run.interruptedAgents = new Set(unfinished.map((result) => result.agent_id));
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
  async submit(request: CreateRunRequest, source?: ResolvedSource): Promise<RunState> {
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
      return await this.#admit(request, waiting + 1, uncount, source);
    } catch (error) {
      if (isOutOfSpace(error)) {
        throw new ServiceError('insufficient_storage', `the workspace's file system is full: ${(error as Error).message}`, { cause: error });
      }
      throw fromSourceError(error);
    } finally {
      uncount();
    }
  }

  async #admit(request: CreateRunRequest, queuePosition: number, uncount: () => void, source: ResolvedSource | undefined): Promise<RunState> {
    const createdAt = this.#options.now?.() ?? new Date();
    const paths = this.#options.layout.run(createRunId(createdAt));
    const logger = this.#options.logger.child({ run_id: paths.runId });
    const { sources } = this.#options;
    // Its first attempts' spare sessions start while the repository is made (a budgeted run's agents start cold).
    this.#options.warmStarts?.prepare(request.budget_usd ? 0 : Math.min(request.agent_count, request.start_with ?? request.agent_count));
    const repository = await createRunRepository({
      paths,
      prompt: request.prompt,
      agentCount: request.agent_count,
      createdAt,
      ...(source ? { fetchMain: (runPaths: RunPaths, signal?: AbortSignal) => sources.fetchAsMain(runPaths, source, signal) } : {}),
    });
    let resolveFinished!: (state: RunState) => void;
    const run: ActiveRun = {
      state: initialRunState(request, repository, createdAt, queuePosition, source),
      repository,
      strategy: strategyOf(request),
      ...freshAttempts(),
      endStatus: 'completed',
      agentControllers: new Map(repository.agents.map((agent) => [agent.agentId, new AbortController()])),
      log: new RunEventLog({ runId: paths.runId, store: this.#options.store, logger, now: () => this.#now(), onChange: () => this.#changed(paths.runId) }),
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
      this.#changed(paths.runId);
      await rm(paths.directory, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
    run.log.emit({ type: 'run_status', status: 'queued', queue_position: run.state.queue_position });
    run.log.persist(this.#snapshot(run));
    await run.log.flushed();
    logger.info({ agent_count: request.agent_count, queue_position: run.state.queue_position }, 'run accepted');
    void this.#execute(run);
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
      const left = agentBudgetLeft(state, agentId);
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
    let resolveFinished!: (state: RunState) => void;
    const run: ActiveRun = {
      state: structuredClone(state),
      repository: { paths, baseCommit: state.base_commit, agents: state.results.map((result) => paths.agent(result.agent_id)) },
      // Runs recorded before best of N have no strategy: the design's (everything at once, ranked by the check).
      strategy: state.strategy ?? strategyOf({ prompt: state.prompt, agent_count: state.agent_count, ...(state.budget_usd === null ? {} : { budget_usd: state.budget_usd }) }),
      ...freshAttempts(),
      endStatus: state.status,
      agentControllers: new Map([[agentId, new AbortController()]]),
      log: new RunEventLog({ runId: paths.runId, store: this.#options.store, logger, now: () => this.#now(), history, onChange: () => this.#changed(paths.runId) }),
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      resolveFinished,
      logger,
    };
    run.state.status = 'running';
    run.state.finished_at = null;
    run.state.followups.push({ agent_id: agentId, prompt, requested_at: this.#now() });
    const agent = setAgent(run, agentId, { status: 'pending', check: null, finished_at: null, status_detail: null });
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
    void this.#execute(run, { agentId, prompt, sessionId });
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

  /**
   * The run as GET /runs/:id answers it: the same JSON as `get`, serialized straight from the live state, without the
   * deep copy `get` makes (19 KB for ten agents, once per poll).
   */
  async getBody(runId: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const run = this.#active.get(runId) ?? this.#unrecorded.get(runId);
    const json = run ? this.#json(run) : await this.#options.store.readState(runId).then((state) => state && JSON.stringify(state));
    return json === undefined ? undefined : Buffer.from(json);
  }

  /**
   * getBody's JSON for a run this process runs now and that is not queued, at once; undefined otherwise (a queued
   * run's position moves with the others', an ended one is read from the store).
   */
  liveBody(runId: string): string | undefined {
    const run = this.#active.get(runId);
    return run && run.state.status !== 'queued' ? this.#json(run) : undefined;
  }

  /** The live state as `get` would copy it, queue position included, serialized without the copy. */
  #json(run: ActiveRun): string {
    return JSON.stringify({ ...run.state, queue_position: this.#queuePosition(run) });
  }

  /** Calls the listener with a run's id whenever the run's state may have changed, before its event's subscribers hear of it. */
  onStateChange(listener: (runId: string) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  #changed(runId: string): void {
    for (const listener of this.#stateListeners) listener(runId);
  }

  #queuePosition(run: ActiveRun): number | null {
    return run.state.status === 'queued' ? this.#queuedRuns().indexOf(run) + 1 : null;
  }

  #snapshot(run: ActiveRun): RunState {
    const state = structuredClone(run.state);
    state.queue_position = this.#queuePosition(run);
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
    run.runController.abort(new CancelReason(reason));
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

  async #execute(run: ActiveRun, followUp?: FollowUpJob): Promise<void> {
    // A follow-up has no setup: the agent's tree still holds what the run's setup gave it.
    const setupFailed = run.state.setup_command && !followUp ? await this.#setUp(run) : undefined;
    if (setupFailed !== undefined) {
      run.state.error = setupFailed;
      await this.#attempts.endAll(run, run.cancelRequested ? 'cancelled' : 'error', setupFailed);
    } else {
      if (followUp) await this.#attempts.followUp(run, followUp);
      else await this.#attempts.run(run);
      // The judge compares the candidates again after a follow-up: one of them has changed.
      if (!run.cancelRequested) await this.#attempts.judge(run);
    }
    run.state.status = run.interruptedAgents ? 'interrupted' : run.cancelRequested ? 'cancelled' : run.endStatus;
    for (const result of run.state.results) {
      if (run.interruptedAgents?.has(result.agent_id) && result.status === 'cancelled') Object.assign(result, { status: 'error', error: INTERRUPTED_ERROR });
    }
    run.state.finished_at = this.#now();
    run.state.summary = summarize(run.state.results);
    // A follow-up keeps what its run's early stop saved: nothing was stopped this time.
    if (!followUp) run.state.savings = estimateSavings(run.state.results, run.stopped, run.notStarted);
    run.state.totals = computeTotals(run.state, Date.parse(run.state.finished_at));
    run.state.ranking_note = rankingNote(run.state.judge);
    applyRanking(run.state);
    this.#persist(run);
    run.log.emit({ type: 'run_finished', run: this.#snapshot(run) });
    await run.log.flushed();
    const runId = run.state.run_info.run_id;
    this.#active.delete(runId);
    this.#changed(runId);
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

  /** The run's setup_command, once, before any agent (run-setup.ts); returns why it failed, or undefined. */
  #setUp(run: ActiveRun): Promise<string | undefined> {
    return runSetupStep(run, { executor: this.#options.executor, slots: this.#options.slots, now: () => this.#now(), persist: (active) => this.#persist(active) });
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
