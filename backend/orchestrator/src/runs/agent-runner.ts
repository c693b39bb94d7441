// The real AgentExecutor: each agent in its own sandbox with its enhanced prompt and an SDK session, its work imported into the run repository and the sandbox removed whatever happens; checks in a fresh sandbox over the agent's repository.
import type { CheckResult } from '@multiclaude/contract';
import { buildEnhancedPrompt, buildFollowUpPrompt } from '../agents/prompt.ts';
import { AgentStop, runAgentSession, type AgentOutcome } from '../agents/agent-session.ts';
import { formatBytes, watchQuota } from '../workspace/disk.ts';
import { budgetMessage, type ModelGrant } from '../model-proxy/agent-grants.ts';
import type { ModelAccess } from '../model-proxy/model-proxy.ts';
import type { CommandOptions, Sandbox, SandboxRequest, SandboxRuntime } from '../sandboxes/runtime.ts';
import { scheduleImports, type ImportSchedule } from '../git/agent-import.ts';
import type { AgentExecutor, AgentJob, CheckJob, JudgeJob, SetupJob } from './agent-executor.ts';
import type { AgentFootprint } from '../agents/footprint.ts';
import type { WarmPool } from '../agents/warm-pool.ts';
import type { WarmSpare } from '../agents/warm-session.ts';

export interface AgentRunnerSettings {
  runtime: SandboxRuntime;
  /** The model proxy: each agent gets its own token for it, never the real credential. */
  modelAccess: ModelAccess;
  /** ANTHROPIC_MODEL, when set. */
  modelName: string | undefined;
  claudeExecutable: string;
  maxTurns: number;
  agentTimeoutMs: number;
  checkTimeoutMs: number;
  /** How long a run's setup_command may take (SETUP_TIMEOUT_MS). */
  setupTimeoutMs: number;
  /** Bytes an agent's repository and home may hold (SANDBOX_DISK); over it, the agent is stopped. */
  diskQuotaBytes: number;
  /** How often the quota is measured. */
  diskCheckIntervalMs?: number;
  searchPath: string;
  runningAsRoot: boolean;
  /** Warm spare sessions agents claim instead of starting a `claude` (WARM_POOL_SIZE). */
  warmPool?: Pick<WarmPool, 'take'>;
  /** Measures the agents' memory (capacity.ts). */
  footprint?: AgentFootprint;
  /** Paces cold `claude` start-ups (capacity.ts). */
  startupGate?: { acquire(signal?: AbortSignal): Promise<() => void> };
}

function failed(error: string): AgentOutcome {
  return { status: 'error', output: '', error, messages: [], usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0, duration_ms: 0, num_turns: 0 };
}

/**
 * The proxy's figures are the agent's cost (the CLI's own estimate is replaced), and an agent the proxy
 * stopped says so, whatever the CLI made of the refusal.
 */
function withMeteredCost(outcome: AgentOutcome, grant: ModelGrant): AgentOutcome {
  const metered = { ...outcome, cost_usd: grant.spentUsd };
  if (grant.refusals === 0) return metered;
  return { ...metered, status: 'error', error: budgetMessage(grant) };
}

async function runAgent(settings: AgentRunnerSettings, job: AgentJob): Promise<AgentOutcome> {
  const { agent, logger } = job;
  let sandbox: Sandbox | undefined;
  let imports: ImportSchedule | undefined;
  let outcome: AgentOutcome;
  let grant: ModelGrant | undefined;
  let spare: WarmSpare | undefined;
  // Stops the session for a reason of the agent's own (not a cancel): its sandbox died or it filled its quota.
  const stop = new AbortController();
  const signal = AbortSignal.any([job.signal, stop.signal]);
  const stopWith = (message: string): void => stop.abort(new AgentStop(message));
  const unwatch: Array<() => void> = [];
  try {
    const scope = { runId: job.run.runId, agentId: agent.agentId, ...(job.budgetUsd ? { budgetUsd: job.budgetUsd } : {}) };
    // The sandbox starts while a spare is awaited (take() waits for one already starting): neither waits
    // for the other, and the sandbox is reported ready when it is, not when the spare arrives.
    const sandboxStarted = Date.now();
    let sandboxMs = 0;
    const sandboxStart = settings.runtime.start({ run: job.run, agent, logger, signal: job.signal });
    void sandboxStart
      .then(
        () => {
          sandboxMs = Date.now() - sandboxStarted;
          job.onSandboxReady?.();
        },
        () => undefined,
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'could not report the sandbox ready'));
    const [starting, taking] = await Promise.allSettled([
      sandboxStart,
      // A spare's options are fixed when it starts: a follow-up (resume) and an SDK budget need a cold start.
      job.resumeSessionId || job.budgetUsd ? undefined : settings.warmPool?.take(job.signal),
    ]);
    // Taken even when the sandbox failed: the finally below hands it over like any claimed spare.
    spare = taking.status === 'fulfilled' ? taking.value : undefined;
    if (starting.status === 'rejected') throw starting.reason;
    sandbox = starting.value;
    // The spare's token becomes this agent's only now, at claim time: until then the proxy refused it.
    grant = spare ? spare.token.activate(scope) : settings.modelAccess.grant(scope);
    // Commits reach the run repository while the agent works, so a crashed orchestrator keeps them.
    imports = scheduleImports(job.run, agent, { user: sandbox.user });
    logger.info(
      { runtime: settings.runtime.name, resumed: job.resumeSessionId !== undefined, warm: spare !== undefined, sandbox_ms: sandboxMs, sandbox_and_spare_ms: Date.now() - sandboxStarted },
      'agent started',
    );
    const watchDeath = sandbox.watch?.((reason) => stopWith(`the agent's sandbox died while it worked (${reason}); its commits are kept`));
    if (watchDeath) unwatch.push(watchDeath);
    unwatch.push(
      watchQuota({
        paths: [agent.worktree, agent.sandboxHome],
        limitBytes: settings.diskQuotaBytes,
        intervalMs: settings.diskCheckIntervalMs ?? 5_000,
        onExceeded: (used) =>
          stopWith(`the agent wrote ${formatBytes(used)}, over its disk quota of ${formatBytes(settings.diskQuotaBytes)} (SANDBOX_DISK); stopped, its commits are kept`),
      }),
    );
    const promptInput = {
      agentId: agent.agentId,
      branchName: agent.branchName,
      workingDirectory: sandbox.workingDirectory,
      userPrompt: job.userPrompt,
      ...(job.earlierAttempts ? { earlierAttempts: job.earlierAttempts } : {}),
    };
    outcome = await runAgentSession({
      agentId: agent.agentId,
      prompt: job.resumeSessionId ? buildFollowUpPrompt(promptInput) : buildEnhancedPrompt(promptInput),
      ...(job.resumeSessionId ? { resumeSessionId: job.resumeSessionId } : {}),
      ...(job.onUsage ? { onUsage: job.onUsage } : {}),
      sandbox,
      configDirectory: spare?.configDirectory ?? agent.claudeConfigDirectory,
      ...(spare ? { spare } : {}),
      ...(settings.startupGate ? { startupGate: settings.startupGate } : {}),
      ...(settings.footprint ? { onProcess: (pid: number) => settings.footprint!.track(pid) } : {}),
      hostWorkingDirectory: agent.claudeWorkingDirectory,
      model: { apiKey: grant.token, baseUrl: settings.modelAccess.url, model: settings.modelName },
      claudeExecutable: settings.claudeExecutable,
      maxTurns: settings.maxTurns,
      timeoutMs: settings.agentTimeoutMs,
      ...(job.budgetUsd ? { maxBudgetUsd: job.budgetUsd } : {}),
      searchPath: settings.searchPath,
      runningAsRoot: settings.runningAsRoot,
      logger,
      signal,
      // Each step at debug, so orchestrator.log tells the run's whole story.
      onMessage: (message) => {
        logger.debug({ message: { ...message, text: message.text?.slice(0, 2_000) } }, 'agent message');
        job.onMessage(message);
      },
    });
  } catch (error) {
    logger.error({ err: error }, 'agent could not run');
    outcome = failed((error as Error).message);
  } finally {
    // The token dies with the agent: whatever read it from the claude process can no longer use it.
    grant?.revoke();
    // The session's transcript joins the agent's own config dir, where a follow-up resumes it.
    await spare?.handOver(agent.claudeConfigDirectory);
    for (const stopWatching of unwatch) stopWatching();
    await sandbox?.stop();
  }
  if (grant) outcome = withMeteredCost(outcome, grant);
  if (outcome.status === 'error' && !signal.aborted && sandbox?.describeExit) {
    const exit = await sandbox.describeExit();
    if (exit) outcome = { ...outcome, error: `${outcome.error ?? 'the agent failed'}: ${exit}` };
  }
  if (sandbox && imports) {
    // Whatever the end (success, error, cancel), the agent's commits are brought into the run repository,
    // checked, while its repository still belongs to the sandbox's user and nothing runs there any more.
    const imported = await imports.finish();
    await sandbox.release();
    if (!imported.imported) {
      logger.warn({ reason: imported.reason }, 'agent work not imported');
      outcome = { ...outcome, status: 'error', error: `${outcome.error ? `${outcome.error}; ` : ''}its work could not be imported: ${imported.reason}` };
    }
  }
  // A failed agent is an error line, so orchestrator-errors.log holds every failure; a cancel is not one.
  const level = outcome.status === 'error' && !job.signal.aborted ? 'error' : 'info';
  logger[level]({ status: outcome.status, error: outcome.error, duration_ms: outcome.duration_ms, cost_usd: outcome.cost_usd }, 'agent finished');
  return outcome;
}

/** A command in a fresh sandbox, as a check result; `what` names it in the logs (check, setup). */
async function runInSandbox(settings: AgentRunnerSettings, request: SandboxRequest, command: string, options: CommandOptions, what: string): Promise<CheckResult> {
  const started = Date.now();
  try {
    const outcome = await settings.runtime.runCommand(request, command, options);
    const status = outcome.timedOut ? 'timed_out' : outcome.exitCode === 0 ? 'passed' : 'failed';
    request.logger.info({ [`${what}_status`]: status, exit_code: outcome.exitCode, duration_ms: outcome.durationMs }, `${what} finished`);
    return { status, exit_code: outcome.exitCode, duration_ms: outcome.durationMs, output_tail: outcome.outputTail };
  } catch (error) {
    request.logger.warn({ err: error }, `${what} could not run`);
    return { status: 'error', exit_code: null, duration_ms: Date.now() - started, output_tail: (error as Error).message };
  }
}

/**
 * The judge: a session with no tools at all, so it reads nothing but its prompt (the host put the
 * candidates' diffs and check outputs there) and can touch no repository. Its cwd holds only those materials.
 */
async function runJudge(settings: AgentRunnerSettings, job: JudgeJob): Promise<AgentOutcome> {
  // Through the model proxy like any agent: its own token (agent 0 of the run), metered, within what is left of the budget.
  let grant: ModelGrant | undefined;
  try {
    grant = settings.modelAccess.grant({ runId: job.run.runId, agentId: 0, ...(job.budgetUsd ? { budgetUsd: job.budgetUsd } : {}) });
    const outcome = await runAgentSession({
      agentId: 0,
      prompt: job.prompt,
      sandbox: undefined,
      configDirectory: job.run.judgeClaudeConfigDirectory,
      hostWorkingDirectory: job.run.judgeDirectory,
      model: { apiKey: grant.token, baseUrl: settings.modelAccess.url, model: settings.modelName },
      claudeExecutable: settings.claudeExecutable,
      maxTurns: 2,
      // The caller's signal carries the judge's own timeout; this one is only a backstop.
      timeoutMs: settings.agentTimeoutMs,
      ...(job.budgetUsd ? { maxBudgetUsd: job.budgetUsd } : {}),
      searchPath: settings.searchPath,
      runningAsRoot: settings.runningAsRoot,
      logger: job.logger.child({ judge: true }),
      signal: job.signal,
    });
    return withMeteredCost(outcome, grant);
  } catch (error) {
    return failed((error as Error).message);
  } finally {
    grant?.revoke();
  }
}

function runCheck(settings: AgentRunnerSettings, job: CheckJob): Promise<CheckResult> {
  const request = { run: job.run, agent: job.agent, logger: job.logger, signal: job.signal };
  return runInSandbox(settings, request, job.command, { timeoutMs: settings.checkTimeoutMs }, 'check');
}

function runSetup(settings: AgentRunnerSettings, job: SetupJob): Promise<CheckResult> {
  const request = { run: job.run, agent: job.run.setup, logger: job.logger, signal: job.signal };
  return runInSandbox(settings, request, job.command, { timeoutMs: settings.setupTimeoutMs, network: true, tailBytes: 16_000 }, 'setup');
}

export function createSandboxExecutor(settings: AgentRunnerSettings): AgentExecutor {
  return {
    runAgent: (job) => runAgent(settings, job),
    runCheck: (job) => runCheck(settings, job),
    runJudge: (job) => runJudge(settings, job),
    runSetup: (job) => runSetup(settings, job),
  };
}
