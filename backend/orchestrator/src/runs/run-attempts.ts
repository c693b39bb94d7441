// One run's attempts: starts them (all at once, or in adaptive batches within the budget), runs each through the agent executor and its check (a follow-up resumes one agent's session), stops the rest once one passes when asked, and has the judge rank them; progress goes to the run's event log.
import type { Logger } from 'pino';
import type { AgentMessage, AgentState, AgentStatus, RunState, RunStatus, RunStrategy } from '@multiclaude/contract';
import { addTotals, type UsageTotals } from '../agents/usage.ts';
import type { RunRepository } from '../git/run-repository.ts';
import type { AgentPaths } from '../workspace/layout.ts';
import type { AgentSlots, SlotRequest } from './agent-slots.ts';
import type { AgentExecutor } from './agent-executor.ts';
import type { RunEventLog } from './event-log.ts';
import { summarize } from './run-state.ts';
import { measureDiff } from './agent-review.ts';
import { agentBudgetLeft, computeTotals, failureSummary, nextStep, passed } from './selection.ts';
import { judgeRun } from './judge.ts';

const MAX_KEPT_MESSAGES = 1_000;

/** A run this process runs, with what its attempts need. */
export interface ActiveRun {
  state: RunState;
  repository: RunRepository;
  strategy: RunStrategy;
  cancelRequested: boolean;
  /** The status the run ends with when not cancelled: `completed`, or what it was before a follow-up. */
  endStatus: RunStatus;
  /** Agents stopped by this process's shutdown: they end `error` (interrupted), the run `interrupted`. */
  interruptedAgents?: Set<number>;
  /** Aborted by a cancel of the whole run (with a CancelReason): stops the judge and the batches not started. */
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

/** A follow-up: one agent's SDK session resumed with a new prompt. */
export interface FollowUpJob {
  agentId: number;
  prompt: string;
  sessionId: string;
}

/** The reason a controller is aborted with: a user's cancel, or the orchestrator stopping. */
export class CancelReason extends Error {
  constructor(reason?: string) {
    super(reason ? `cancelled: ${reason}` : 'cancelled');
    this.name = 'CancelReason';
  }
}

/** The agent's error after a cancel: `cancelled`, or `cancelled: <why>`. */
export function cancelText(signal: AbortSignal): string {
  return signal.reason instanceof CancelReason ? signal.reason.message : 'cancelled';
}

function notStartedText(signal: AbortSignal): string {
  const reason = cancelText(signal);
  return reason === 'cancelled' ? 'cancelled before it started' : `${reason} before it started`;
}

export function agentOf(run: ActiveRun, agentId: number): AgentState {
  return run.state.results.find((result) => result.agent_id === agentId)!;
}

export function setAgent(run: ActiveRun, agentId: number, change: Partial<AgentState>): AgentState {
  const agent = agentOf(run, agentId);
  Object.assign(agent, change);
  run.state.summary = summarize(run.state.results);
  return agent;
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

  /**
   * Starts the run's attempts: all at once, or (start_with) in batches while none has passed and the budget
   * covers them. Attempts never started end `cancelled` with the reason, so results[] always has agent_count entries.
   */
  async run(run: ActiveRun): Promise<void> {
    const agents = new Map(run.repository.agents.map((agent) => [agent.agentId, agent]));
    for (;;) {
      const step = run.cancelRequested
        ? { kind: 'done' as const, notStarted: run.state.results.filter((agent) => agent.status === 'pending').map((agent) => agent.agent_id), reason: notStartedText(run.runController.signal), saved: false }
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
      // A batch's agents ask for their slots as one group, so they start together (agent-slots.ts).
      const slots = this.#options.slots.acquireGroup(step.agentIds.map((agentId) => this.#slotRequest(run, agentId)));
      await Promise.all(step.agentIds.map((agentId, index) => this.#runOneAgent(run, agents.get(agentId)!, { earlierAttempts, slot: slots[index]! })));
    }
  }

  /** Ends every attempt without starting it, with the one reason (the run's setup failed or was cancelled). */
  async endAll(run: ActiveRun, status: AgentStatus, error: string): Promise<void> {
    for (const agent of run.repository.agents) this.#finishAgent(run, agent.agentId, status, { error, diff_stats: await this.#diff(run, agent, run.logger) });
  }

  /** Runs a follow-up: the one agent resumes its session on its branch, then is checked as at the end of a run. */
  async followUp(run: ActiveRun, job: FollowUpJob): Promise<void> {
    await this.#runOneAgent(run, run.repository.paths.agent(job.agentId), { followUp: job });
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
      run.agentControllers.get(agentId)?.abort(new CancelReason(run.stopReasons.get(agentId)));
    }
    run.logger.info({ winner, stopped: [...run.stopped], not_started: [...run.notStarted] }, 'an attempt passed: stopping the others');
  }

  /** Has the judge rank the candidates when the run asked for one; records and announces its verdict. */
  async judge(run: ActiveRun): Promise<void> {
    // After a follow-up the run has paid for an earlier judge too: it counts against the budget and in the verdict's cost.
    const earlier = run.state.judge;
    const spent = run.state.results.reduce((sum, agent) => sum + agent.cost_usd, 0) + (earlier?.cost_usd ?? 0);
    const budget = run.state.budget_usd;
    const verdict = await judgeRun({
      state: run.state,
      run: run.repository.paths,
      executor: this.#options.executor,
      timeoutMs: this.#options.judgeTimeoutMs,
      ...(budget ? { budgetLeftUsd: budget - spent } : {}),
      logger: run.logger.child({ judge: true }),
      signal: run.runController.signal,
    });
    if (!verdict) return;
    const judge = earlier
      ? {
          ...verdict,
          usage: { input_tokens: earlier.usage.input_tokens + verdict.usage.input_tokens, output_tokens: earlier.usage.output_tokens + verdict.usage.output_tokens },
          cost_usd: Number((earlier.cost_usd + verdict.cost_usd).toFixed(6)),
        }
      : verdict;
    run.state.judge = judge;
    run.state.totals = computeTotals(run.state, Date.now());
    run.log.emit({ type: 'judge_result', judge: structuredClone(judge), totals: run.state.totals });
    this.#options.persist(run);
  }

  #diff(run: ActiveRun, agent: AgentPaths, logger: Logger) {
    return measureDiff(run.repository.paths.gitDirectory, run.repository.baseCommit, agent.branchName, logger);
  }

  /** One agent's place in the slots' queue: its cancel signal, and its status detail while it waits. */
  #slotRequest(run: ActiveRun, agentId: number): SlotRequest {
    return {
      signal: run.agentControllers.get(agentId)!.signal,
      onWaiting: (ahead) => this.#setDetail(run, agentId, 'pending', `waiting for a free slot (${ahead} ahead)`),
    };
  }

  async #runOneAgent(
    run: ActiveRun,
    agent: AgentPaths,
    job: { earlierAttempts?: string | undefined; followUp?: FollowUpJob; slot?: Promise<() => void> },
  ): Promise<void> {
    const { earlierAttempts, followUp } = job;
    const agentId = agent.agentId;
    const controller = run.agentControllers.get(agentId)!;
    const logger = run.logger.child({ agent_id: agentId, ...(followUp ? { follow_up: true } : {}) });
    let release: () => void;
    try {
      release = await (job.slot ?? this.#options.slots.acquireGroup([this.#slotRequest(run, agentId)])[0]!);
    } catch {
      this.#finishAgent(run, agentId, 'cancelled', {
        error: run.stopReasons.get(agentId) ?? notStartedText(controller.signal),
        diff_stats: await this.#diff(run, agent, logger),
      });
      return;
    }
    const before = totalsOf(agentOf(run, agentId));
    try {
      if (run.state.status === 'queued') {
        run.state.status = 'running';
        run.state.started_at = this.#options.now();
        run.log.emit({ type: 'run_status', status: 'running', queue_position: null });
      }
      setAgent(run, agentId, { status: 'running', started_at: this.#options.now(), finished_at: null });
      this.#setDetail(run, agentId, 'running', 'starting its sandbox');
      this.#options.persist(run);
      run.inSession.add(agentId);
      const budgetUsd = agentBudgetLeft(run.state, agentId);
      const outcome = await this.#options.executor.runAgent({
        run: run.repository.paths,
        agent,
        userPrompt: followUp?.prompt ?? run.state.prompt,
        ...(followUp ? { resumeSessionId: followUp.sessionId } : {}),
        ...(earlierAttempts ? { earlierAttempts } : {}),
        ...(budgetUsd !== null ? { budgetUsd } : {}),
        logger,
        signal: controller.signal,
        onMessage: (message) => this.#onAgentMessage(run, agentId, message),
        onSandboxReady: () => this.#setDetail(run, agentId, 'running', null),
        onUsage: (session) => {
          const totals = addTotals(before, session);
          setAgent(run, agentId, { usage: totals.usage, cost_usd: totals.cost_usd, num_turns: totals.num_turns });
          run.log.emit({ type: 'agent_usage', agent_id: agentId, ...totals });
        },
      });
      run.inSession.delete(agentId);
      const status: AgentStatus = controller.signal.aborted ? 'cancelled' : outcome.status;
      const command = run.state.check_command;
      // A cancelled agent is not judged; the others are checked in their own sandbox before the slot is freed.
      const check =
        status !== 'cancelled' && command
          ? await this.#options.executor.runCheck({ run: run.repository.paths, agent, command, logger, signal: controller.signal })
          : null;
      // A follow-up adds to what the agent's earlier sessions spent and said.
      const totals = addTotals(before, { usage: outcome.usage, cost_usd: outcome.cost_usd, num_turns: outcome.num_turns });
      const earlier = followUp ? (agentOf(run, agentId).messages ?? []) : [];
      this.#finishAgent(run, agentId, status, {
        check,
        diff_stats: await this.#diff(run, agent, logger),
        output: outcome.output,
        ...(status === 'cancelled' ? { error: run.stopReasons.get(agentId) ?? cancelText(controller.signal) } : outcome.error ? { error: outcome.error } : {}),
        messages: [...earlier, ...outcome.messages].slice(-MAX_KEPT_MESSAGES),
        usage: totals.usage,
        cost_usd: totals.cost_usd,
        duration_ms: (followUp ? (agentOf(run, agentId).duration_ms ?? 0) : 0) + outcome.duration_ms,
        num_turns: totals.num_turns,
        // A follow-up resumes the session it continued (the SDK may give the resumed one a new id).
        session_id: outcome.session_id ?? followUp?.sessionId ?? null,
      });
      // Early stop is about a run's first attempts; a follow-up on an ended run stops nobody.
      const result = agentOf(run, agentId);
      if (!followUp && run.strategy.stop_when === 'first_pass' && run.firstPass === null && passed(result) && !run.cancelRequested) this.#stopOthers(run, agentId);
    } finally {
      run.inSession.delete(agentId);
      release();
    }
  }

  /** Says what the agent is doing within its status (or clears it with null), as an agent_status event. */
  #setDetail(run: ActiveRun, agentId: number, status: AgentStatus, detail: string | null): void {
    setAgent(run, agentId, { status, status_detail: detail });
    run.log.emit({ type: 'agent_status', agent_id: agentId, status, ...(detail ? { detail } : {}) });
  }

  #finishAgent(run: ActiveRun, agentId: number, status: AgentStatus, change: Partial<AgentState>): void {
    const agent = setAgent(run, agentId, { ...change, status, status_detail: null, finished_at: this.#options.now() });
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

/** What the agent has spent before the session about to start: nothing, or its earlier sessions for a follow-up. */
function totalsOf(agent: AgentState): UsageTotals {
  return { usage: { ...agent.usage }, cost_usd: agent.cost_usd, num_turns: agent.num_turns };
}
