// One run's attempts: starts them (all at once, or in adaptive batches within the budget), runs each through the agent executor and its check, stops the rest once one passes when asked, and has the judge rank them; progress goes to the run's event log.
import type { Logger } from 'pino';
import type { AgentMessage, AgentState, AgentStatus, RunState, RunStrategy } from '@multiclaude/contract';
import type { RunRepository } from '../git/run-repository.ts';
import type { AgentPaths } from '../workspace/layout.ts';
import type { AgentSlots } from './agent-slots.ts';
import type { AgentExecutor } from './agent-executor.ts';
import type { RunEventLog } from './event-log.ts';
import { summarize } from './run-state.ts';
import { measureDiff } from './agent-review.ts';
import { computeTotals, failureSummary, nextStep, passed } from './selection.ts';
import { judgeRun } from './judge.ts';

/** A run this process runs, with what its attempts need. */
export interface ActiveRun {
  state: RunState;
  repository: RunRepository;
  budgetUsd: number | undefined;
  strategy: RunStrategy;
  cancelRequested: boolean;
  /** Aborted by a cancel of the whole run: stops the judge. */
  runController: AbortController;
  agentControllers: Map<number, AbortController>;
  /** Agents handed to a slot so far (adaptive runs start them in batches). */
  started: Set<number>;
  /** Agents whose SDK session is under way: an early stop cancels these, not those already being checked. */
  inSession: Set<number>;
  /** Why an agent was stopped by the run itself rather than by a user (early stop). */
  stopReasons: Map<number, string>;
  /** For the savings estimate: agents stopped while they worked, and agents never started because one had passed. */
  stopped: Set<number>;
  notStarted: Set<number>;
  firstPass: number | null;
  log: RunEventLog;
  finished: Promise<RunState>;
  resolveFinished: (state: RunState) => void;
  logger: Logger;
}

export interface RunAttemptsOptions {
  executor: AgentExecutor;
  slots: AgentSlots;
  /** How long the judge may take before the run falls back to the design's ranking. */
  judgeTimeoutMs: number;
  now: () => string;
  /** Records the run's state (the manager knows its queue position). */
  persist: (run: ActiveRun) => void;
}

export class RunAttempts {
  readonly #options: RunAttemptsOptions;

  constructor(options: RunAttemptsOptions) {
    this.#options = options;
  }

  #setAgent(run: ActiveRun, agentId: number, change: Partial<AgentState>): AgentState {
    const agent = run.state.results.find((result) => result.agent_id === agentId)!;
    Object.assign(agent, change);
    run.state.summary = summarize(run.state.results);
    return agent;
  }

  /**
   * Starts the run's attempts: all at once, or (start_with) in batches while none has passed and the budget
   * covers them. Attempts never started end `cancelled` with the reason, so results[] always has agent_count entries.
   */
  async run(run: ActiveRun): Promise<void> {
    const agents = new Map(run.repository.agents.map((agent) => [agent.agentId, agent]));
    for (;;) {
      const step = run.cancelRequested
        ? { kind: 'done' as const, notStarted: run.state.results.filter((agent) => agent.status === 'pending').map((agent) => agent.agent_id), reason: 'cancelled before it started', saved: false }
        : nextStep(run.strategy, run.state.results, run.started);
      if (step.kind === 'done') {
        for (const agentId of step.notStarted) {
          if (step.saved) run.notStarted.add(agentId);
          this.#finishAgent(run, agentId, 'cancelled', { error: step.reason, diff_stats: await this.#diff(run, agents.get(agentId)!, run.logger) });
        }
        if (step.notStarted.length > 0) run.logger.info({ agents: step.notStarted, reason: step.reason }, 'attempts not started');
        return;
      }
      const command = run.state.check_command;
      const earlierAttempts = run.started.size > 0 && run.strategy.learn_from_failures && command ? failureSummary(run.state.results, command) : undefined;
      if (run.started.size > 0) run.logger.info({ agents: step.agentIds }, 'starting another batch of attempts');
      for (const agentId of step.agentIds) run.started.add(agentId);
      await Promise.all(step.agentIds.map((agentId) => this.#runOneAgent(run, agents.get(agentId)!, earlierAttempts)));
    }
  }

  /** stop_when first_pass: the first attempt to pass stops those still working and those waiting for a slot. */
  #stopOthers(run: ActiveRun, winner: number): void {
    run.firstPass = winner;
    for (const agent of run.state.results) {
      const agentId = agent.agent_id;
      if (agentId === winner) continue;
      if (run.inSession.has(agentId)) {
        run.stopReasons.set(agentId, `stopped: agent ${winner} passed the check first`);
        run.stopped.add(agentId);
      } else if (agent.status === 'pending' && run.started.has(agentId)) {
        run.stopReasons.set(agentId, `not needed: agent ${winner} passed`);
        run.notStarted.add(agentId);
      } else continue;
      run.agentControllers.get(agentId)?.abort(new Error('stopped'));
    }
    run.logger.info({ winner, stopped: [...run.stopped], not_started: [...run.notStarted] }, 'an attempt passed: stopping the others');
  }

  /** Has the judge rank the candidates when the run asked for one; records and announces its verdict. */
  async judge(run: ActiveRun): Promise<void> {
    const spent = run.state.results.reduce((sum, agent) => sum + agent.cost_usd, 0);
    const judge = await judgeRun({
      state: run.state,
      run: run.repository.paths,
      executor: this.#options.executor,
      timeoutMs: this.#options.judgeTimeoutMs,
      ...(run.budgetUsd ? { budgetLeftUsd: run.budgetUsd - spent } : {}),
      logger: run.logger.child({ judge: true }),
      signal: run.runController.signal,
    });
    if (!judge) return;
    run.state.judge = judge;
    run.state.totals = computeTotals(run.state, Date.now());
    run.log.emit({ type: 'judge_result', judge: structuredClone(judge), totals: run.state.totals });
    this.#options.persist(run);
  }

  #diff(run: ActiveRun, agent: AgentPaths, logger: Logger) {
    return measureDiff(run.repository.paths.directory, run.repository.baseCommit, agent.branchName, logger);
  }

  async #runOneAgent(run: ActiveRun, agent: AgentPaths, earlierAttempts: string | undefined): Promise<void> {
    const agentId = agent.agentId;
    const controller = run.agentControllers.get(agentId)!;
    const logger = run.logger.child({ agent_id: agentId });
    let release: () => void;
    try {
      release = await this.#options.slots.acquire(controller.signal);
    } catch {
      this.#finishAgent(run, agentId, 'cancelled', { error: run.stopReasons.get(agentId) ?? 'cancelled before it started', diff_stats: await this.#diff(run, agent, logger) });
      return;
    }
    try {
      if (run.state.status === 'queued') {
        run.state.status = 'running';
        run.state.started_at = this.#options.now();
        run.log.emit({ type: 'run_status', status: 'running', queue_position: null });
      }
      this.#setAgent(run, agentId, { status: 'running', started_at: this.#options.now() });
      run.log.emit({ type: 'agent_status', agent_id: agentId, status: 'running' });
      this.#options.persist(run);
      run.inSession.add(agentId);
      const outcome = await this.#options.executor.runAgent({
        run: run.repository.paths,
        agent,
        userPrompt: run.state.prompt,
        ...(earlierAttempts ? { earlierAttempts } : {}),
        ...(run.budgetUsd ? { budgetUsd: run.budgetUsd / run.state.agent_count } : {}),
        logger,
        signal: controller.signal,
        onMessage: (message) => this.#onAgentMessage(run, agentId, message),
      });
      run.inSession.delete(agentId);
      const status: AgentStatus = controller.signal.aborted ? 'cancelled' : outcome.status;
      const command = run.state.check_command;
      // A cancelled agent is not judged; the others are checked in their own sandbox before the slot is freed.
      const check =
        status !== 'cancelled' && command
          ? await this.#options.executor.runCheck({ run: run.repository.paths, agent, command, logger, signal: controller.signal })
          : null;
      this.#finishAgent(run, agentId, status, {
        check,
        diff_stats: await this.#diff(run, agent, logger),
        output: outcome.output,
        ...(status === 'cancelled' ? { error: run.stopReasons.get(agentId) ?? 'cancelled' } : outcome.error ? { error: outcome.error } : {}),
        messages: outcome.messages,
        usage: outcome.usage,
        cost_usd: outcome.cost_usd,
        duration_ms: outcome.duration_ms,
        num_turns: outcome.num_turns,
      });
      const result = run.state.results.find((candidate) => candidate.agent_id === agentId)!;
      if (run.strategy.stop_when === 'first_pass' && run.firstPass === null && passed(result) && !run.cancelRequested) this.#stopOthers(run, agentId);
    } finally {
      run.inSession.delete(agentId);
      release();
    }
  }

  #finishAgent(run: ActiveRun, agentId: number, status: AgentStatus, change: Partial<AgentState>): void {
    const agent = this.#setAgent(run, agentId, { ...change, status, finished_at: this.#options.now() });
    run.log.emit({ type: 'agent_status', agent_id: agentId, status, ...(agent.error ? { error: agent.error } : {}) });
    run.state.totals = computeTotals(run.state, Date.now());
    run.log.emit({ type: 'agent_result', agent_id: agentId, result: structuredClone(agent), totals: run.state.totals });
    this.#options.persist(run);
  }

  #onAgentMessage(run: ActiveRun, agentId: number, message: AgentMessage): void {
    if (message.type === 'text' && message.text) run.log.emit({ type: 'agent_text', agent_id: agentId, text: message.text });
    else if (message.type === 'tool_use') {
      run.log.emit({ type: 'agent_tool_call', agent_id: agentId, tool: message.tool ?? '?', input_summary: message.input_summary ?? '' });
    } else if (message.type === 'tool_result' || message.type === 'tool_error') {
      run.log.emit({ type: 'agent_tool_result', agent_id: agentId, text: message.text ?? '', is_error: message.type === 'tool_error' });
    }
  }
}
