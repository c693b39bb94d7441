// Runs as durable jobs: accepts them, queues their agents for slots, runs them, records state and events on disk, cancels them, and marks orphaned runs interrupted.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type {
  AgentMessage,
  AgentState,
  AgentStatus,
  CreateRunRequest,
  RunEvent,
  RunEventInput,
  RunState,
} from '@multiclaude/contract';
import { createRunRepository, type RunRepository } from '../git/run-repository.ts';
import { createRunId } from './run-id.ts';
import { runAgent, type AgentRunnerSettings } from './agent-runner.ts';
import type { RunStore } from './run-store.ts';
import type { Leases } from './lease.ts';
import type { AgentSlots } from './agent-slots.ts';
import { summarize, isTerminal, applyRanking } from './run-state.ts';
import { runCheck, measureDiff, type ReviewJob } from './agent-review.ts';
import { takeCancelRequest } from './cancel-requests.ts';
import { sweepInterruptedRuns, unfinishedRunIds } from './recovery.ts';

export class QueueFullError extends Error {
  readonly code = 'queue_full';
  readonly retryAfterSeconds: number;
  constructor(limit: number, retryAfterSeconds: number) {
    super(`the run queue is full (${limit} runs waiting); try again later`);
    this.name = 'QueueFullError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class NotFoundError extends Error {
  readonly code = 'not_found';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export interface RunManagerOptions {
  workspaceLocal: string;
  store: RunStore;
  leases: Leases;
  slots: AgentSlots;
  maxQueuedRuns: number;
  agents: AgentRunnerSettings;
  checkTimeoutMs: number;
  logger: Logger;
  heartbeatMs?: number;
  sweepMs?: number;
  now?: () => Date;
}

interface ActiveRun {
  state: RunState;
  repository: RunRepository;
  budgetUsd: number | undefined;
  cancelRequested: boolean;
  agentControllers: Map<number, AbortController>;
  /** Every event of this run, for replay to late subscribers without a gap. */
  events: RunEvent[];
  nextEventId: number;
  bus: EventEmitter;
  /** Disk writes in order: events and state never overtake each other. */
  writes: Promise<void>;
  finished: Promise<RunState>;
  resolveFinished: (state: RunState) => void;
  logger: Logger;
}

export type EventListener = (event: RunEvent) => void;

export class RunManager {
  readonly #options: RunManagerOptions;
  readonly #active = new Map<string, ActiveRun>();
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
    for (const run of runs) this.#cancel(run);
    await Promise.allSettled(runs.map((run) => run.finished));
  }

  async submit(request: CreateRunRequest): Promise<RunState> {
    const queued = this.#queuedRuns().length;
    if (queued >= this.#options.maxQueuedRuns) {
      // A rough wait: the agents ahead of this run, over the slots, a minute each.
      throw new QueueFullError(this.#options.maxQueuedRuns, Math.max(5, Math.min(300, queued * 30)));
    }
    const createdAt = this.#options.now?.() ?? new Date();
    const runId = createRunId(createdAt);
    const logger = this.#options.logger.child({ run_id: runId });
    const repository = await createRunRepository({
      workspaceLocal: this.#options.workspaceLocal,
      runId,
      prompt: request.prompt,
      agentCount: request.agent_count,
      createdAt,
    });
    const results: AgentState[] = repository.agents.map((agent) => ({
      agent_id: agent.agentId,
      status: 'pending',
      output: '',
      workspace: { worktree_path: agent.relativePath, branch_name: agent.branchName },
      messages: [],
      usage: { input_tokens: 0, output_tokens: 0 },
      cost_usd: 0,
      duration_ms: null,
      num_turns: 0,
      started_at: null,
      finished_at: null,
      check: null,
      diff_stats: null,
      rank: null,
      rank_reasons: [],
      recommended: false,
    }));
    const state: RunState = {
      status: 'queued',
      queue_position: queued + 1,
      prompt: request.prompt,
      agent_count: request.agent_count,
      created_at: createdAt.toISOString(),
      started_at: null,
      finished_at: null,
      run_info: { run_id: runId, run_dir: repository.relativeDirectory, git_initialized: true },
      summary: summarize(results),
      results,
      check_command: request.check_command ?? null,
      base_commit: repository.baseCommit,
      recommended_agent_id: null,
      merges: [],
    };
    let resolveFinished!: (state: RunState) => void;
    const run: ActiveRun = {
      state,
      repository,
      budgetUsd: request.budget_usd,
      cancelRequested: false,
      agentControllers: new Map(repository.agents.map((agent) => [agent.agentId, new AbortController()])),
      events: [],
      nextEventId: 1,
      bus: new EventEmitter(),
      writes: Promise.resolve(),
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      resolveFinished,
      logger,
    };
    run.bus.setMaxListeners(0);
    this.#active.set(runId, run);
    await this.#options.leases.renew(this.#options.store.metadataDirectory(runId));
    this.#emit(run, { type: 'run_status', status: 'queued', queue_position: state.queue_position });
    await run.writes;
    logger.info({ agent_count: request.agent_count, queue_position: state.queue_position }, 'run accepted');
    void this.#execute(run);
    return this.#snapshot(run);
  }

  /** Resolves with the final state once every agent of the run has ended. */
  async waitForRun(runId: string): Promise<RunState> {
    const run = this.#active.get(runId);
    if (run) return run.finished;
    const state = await this.#options.store.readState(runId);
    if (!state) throw new NotFoundError(`no run ${runId}`);
    return state;
  }

  async get(runId: string): Promise<RunState | undefined> {
    const run = this.#active.get(runId);
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
    if (!run) return false;
    this.#cancel(run);
    return true;
  }

  #cancel(run: ActiveRun): void {
    run.cancelRequested = true;
    for (const controller of run.agentControllers.values()) controller.abort(new Error('cancelled'));
  }

  /** Cancels one agent; 'not_found' when the run is not owned here or has no such agent. */
  cancelAgent(runId: string, agentId: number): 'cancelled' | 'already_finished' | 'not_found' {
    const run = this.#active.get(runId);
    const agent = run?.state.results.find((result) => result.agent_id === agentId);
    if (!run || !agent) return 'not_found';
    if (isTerminal(agent.status)) return 'already_finished';
    run.agentControllers.get(agentId)?.abort(new Error('cancelled'));
    return 'cancelled';
  }

  /**
   * Replays the run's events after `afterId`, then follows it live. Returns undefined when the run is
   * not owned by this process (the caller follows the event log on disk instead).
   */
  subscribe(runId: string, afterId: number, listener: EventListener): (() => void) | undefined {
    const run = this.#active.get(runId);
    if (!run) return undefined;
    for (const event of run.events) if (event.id > afterId) listener(event);
    run.bus.on('event', listener);
    return () => run.bus.off('event', listener);
  }
  #emit(run: ActiveRun, input: RunEventInput): void {
    const event = { ...input, id: run.nextEventId++, at: this.#now(), run_id: run.state.run_info.run_id } as RunEvent;
    run.events.push(event);
    const runId = run.state.run_info.run_id;
    run.writes = run.writes
      .then(() => this.#options.store.appendEvents(runId, [event]))
      .catch((error: unknown) => run.logger.error({ err: error }, 'could not append to the event log'));
    run.bus.emit('event', event);
  }

  #persist(run: ActiveRun): void {
    const state = this.#snapshot(run);
    run.writes = run.writes
      .then(() => this.#options.store.writeState(state))
      .catch((error: unknown) => run.logger.error({ err: error }, 'could not write run state'));
  }

  #setAgent(run: ActiveRun, agentId: number, change: Partial<AgentState>): AgentState {
    const agent = run.state.results.find((result) => result.agent_id === agentId)!;
    Object.assign(agent, change);
    run.state.summary = summarize(run.state.results);
    return agent;
  }

  async #execute(run: ActiveRun): Promise<void> {
    this.#persist(run);
    await Promise.all(run.repository.agents.map((agent) => this.#runOneAgent(run, agent.agentId)));
    run.state.status = run.cancelRequested ? 'cancelled' : 'completed';
    run.state.finished_at = this.#now();
    run.state.summary = summarize(run.state.results);
    applyRanking(run.state);
    this.#persist(run);
    this.#emit(run, { type: 'run_finished', run: this.#snapshot(run) });
    await run.writes;
    this.#active.delete(run.state.run_info.run_id);
    run.logger.info({ status: run.state.status, ...run.state.summary }, 'run finished');
    run.resolveFinished(this.#snapshot(run));
  }

  async #runOneAgent(run: ActiveRun, agentId: number): Promise<void> {
    const controller = run.agentControllers.get(agentId)!;
    const worktree = run.repository.agents.find((agent) => agent.agentId === agentId)!;
    const logger = run.logger.child({ agent_id: agentId });
    let release: () => void;
    try {
      release = await this.#options.slots.acquire(controller.signal);
    } catch {
      this.#finishAgent(run, agentId, 'cancelled', { error: 'cancelled before it started', diff_stats: await measureDiff(this.#reviewJob(run, worktree, logger)) });
      return;
    }
    try {
      if (run.state.status === 'queued') {
        run.state.status = 'running';
        run.state.started_at = this.#now();
        this.#emit(run, { type: 'run_status', status: 'running', queue_position: null });
      }
      this.#setAgent(run, agentId, { status: 'running', started_at: this.#now() });
      this.#emit(run, { type: 'agent_status', agent_id: agentId, status: 'running' });
      this.#persist(run);
      const outcome = await runAgent(this.#options.agents, {
        runId: run.state.run_info.run_id,
        runDirectory: run.repository.runDirectory,
        agent: worktree,
        userPrompt: run.state.prompt,
        ...(run.budgetUsd ? { budgetUsd: run.budgetUsd / run.state.agent_count } : {}),
        logger,
        signal: controller.signal,
        onMessage: (message) => this.#onAgentMessage(run, agentId, message),
      });
      const status: AgentStatus = controller.signal.aborted ? 'cancelled' : outcome.status;
      const review = { ...this.#reviewJob(run, worktree, logger), signal: controller.signal };
      // A cancelled agent is not judged; the others are checked in their own sandbox before the slot is freed.
      const check = status !== 'cancelled' && review.checkCommand ? await runCheck(review, review.checkCommand) : null;
      this.#finishAgent(run, agentId, status, {
        check,
        diff_stats: await measureDiff(review),
        output: outcome.output,
        ...(status === 'cancelled' ? { error: 'cancelled' } : outcome.error ? { error: outcome.error } : {}),
        messages: outcome.messages,
        usage: outcome.usage,
        cost_usd: outcome.cost_usd,
        duration_ms: outcome.duration_ms,
        num_turns: outcome.num_turns,
      });
    } finally {
      release();
    }
  }

  #reviewJob(run: ActiveRun, agent: RunRepository['agents'][number], logger: Logger): Omit<ReviewJob, 'signal'> {
    return {
      runtime: this.#options.agents.runtime,
      runId: run.state.run_info.run_id,
      runDirectory: run.repository.runDirectory,
      baseCommit: run.repository.baseCommit,
      agent,
      checkCommand: run.state.check_command,
      checkTimeoutMs: this.#options.checkTimeoutMs,
      logger,
    };
  }

  #finishAgent(run: ActiveRun, agentId: number, status: AgentStatus, change: Partial<AgentState>): void {
    const agent = this.#setAgent(run, agentId, { ...change, status, finished_at: this.#now() });
    this.#emit(run, { type: 'agent_status', agent_id: agentId, status, ...(agent.error ? { error: agent.error } : {}) });
    this.#emit(run, { type: 'agent_result', agent_id: agentId, result: structuredClone(agent) });
    this.#persist(run);
  }

  #onAgentMessage(run: ActiveRun, agentId: number, message: AgentMessage): void {
    if (message.type === 'text' && message.text) this.#emit(run, { type: 'agent_text', agent_id: agentId, text: message.text });
    else if (message.type === 'tool_use') {
      this.#emit(run, { type: 'agent_tool_call', agent_id: agentId, tool: message.tool ?? '?', input_summary: message.input_summary ?? '' });
    } else if (message.type === 'tool_result' || message.type === 'tool_error') {
      this.#emit(run, { type: 'agent_tool_result', agent_id: agentId, text: message.text ?? '', is_error: message.type === 'tool_error' });
    }
  }

  async #heartbeat(): Promise<void> {
    for (const [runId, run] of this.#active) {
      const metadataDirectory = this.#options.store.metadataDirectory(runId);
      await this.#options.leases
        .renew(metadataDirectory)
        .catch((error: unknown) => this.#options.logger.warn({ err: error, run_id: runId }, 'could not renew run lease'));
      // Another replica may have been asked to cancel this run; it leaves the request here.
      const target = await takeCancelRequest(metadataDirectory);
      if (target === 'all') this.#cancel(run);
      else for (const agentId of target ?? []) this.cancelAgent(runId, agentId);
    }
  }

  /** Marks runs left queued or running by a dead owner as interrupted; returns their ids. */
  async sweepInterrupted(): Promise<string[]> {
    const { store, leases, logger } = this.#options;
    return sweepInterruptedRuns({ store, leases, logger, isActive: (runId) => this.#active.has(runId), now: () => this.#now() });
  }

  /** Runs still queued or running on disk; after a sweep, exactly those some live orchestrator owns. */
  async unfinishedRunIds(): Promise<string[]> {
    return unfinishedRunIds(this.#options.store);
  }
}
