// Runs one agent of a run from start to end: its sandbox, its enhanced prompt, its SDK session, and the sandbox's removal, whatever happens.
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentMessage } from '@multiclaude/contract';
import { METADATA_DIRECTORY, type AgentWorktree } from '../git/run-repository.ts';
import { buildEnhancedPrompt } from '../agents/prompt.ts';
import { runAgentSession, type AgentOutcome, type ModelSettings } from '../agents/agent-session.ts';
import type { Sandbox, SandboxRuntime } from '../sandboxes/runtime.ts';

export interface AgentRunnerSettings {
  runtime: SandboxRuntime;
  model: ModelSettings;
  claudeExecutable: string;
  maxTurns: number;
  agentTimeoutMs: number;
  searchPath: string;
  runningAsRoot: boolean;
}

export interface AgentJob {
  runId: string;
  runDirectory: string;
  agent: AgentWorktree;
  userPrompt: string;
  budgetUsd?: number;
  logger: Logger;
  signal: AbortSignal;
  onMessage: (message: AgentMessage) => void;
}

function failed(error: string): AgentOutcome {
  return { status: 'error', output: '', error, messages: [], usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0, duration_ms: 0, num_turns: 0 };
}

/** Never throws: every failure becomes an error outcome, so one agent cannot take the others down. */
export async function runAgent(settings: AgentRunnerSettings, job: AgentJob): Promise<AgentOutcome> {
  const { agent, logger } = job;
  const agentDirectory = path.join(job.runDirectory, METADATA_DIRECTORY, 'agents', `agent-${agent.agentId}`);
  let sandbox: Sandbox | undefined;
  let outcome: AgentOutcome;
  try {
    sandbox = await settings.runtime.start({
      runId: job.runId,
      agentId: agent.agentId,
      runDirectory: job.runDirectory,
      worktreePath: agent.worktreePath,
      logger,
      signal: job.signal,
    });
    logger.info({ runtime: settings.runtime.name }, 'agent started');
    outcome = await runAgentSession({
      agentId: agent.agentId,
      prompt: buildEnhancedPrompt({
        agentId: agent.agentId,
        branchName: agent.branchName,
        workingDirectory: sandbox.workingDirectory,
        userPrompt: job.userPrompt,
      }),
      sandbox,
      configDirectory: path.join(agentDirectory, 'claude-home', '.claude'),
      hostWorkingDirectory: agent.worktreePath,
      model: settings.model,
      claudeExecutable: settings.claudeExecutable,
      maxTurns: settings.maxTurns,
      timeoutMs: settings.agentTimeoutMs,
      ...(job.budgetUsd ? { maxBudgetUsd: job.budgetUsd } : {}),
      searchPath: settings.searchPath,
      runningAsRoot: settings.runningAsRoot,
      logger,
      signal: job.signal,
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
    await sandbox?.stop();
  }
  if (outcome.status === 'error' && !job.signal.aborted && sandbox?.describeExit) {
    const exit = await sandbox.describeExit();
    if (exit) outcome = { ...outcome, error: `${outcome.error ?? 'the agent failed'}: ${exit}` };
  }
  // A failed agent is an error line, so orchestrator-errors.log holds every failure; a cancel is not one.
  const level = outcome.status === 'error' && !job.signal.aborted ? 'error' : 'info';
  logger[level]({ status: outcome.status, error: outcome.error, duration_ms: outcome.duration_ms, cost_usd: outcome.cost_usd }, 'agent finished');
  return outcome;
}
