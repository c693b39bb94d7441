// Carries out one run: creates its repository, runs every agent at once in its own sandbox, and gathers the design's response.
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentResult, OrchestrateRequest, OrchestrateResponse } from '@multiclaude/contract';
import { createRunRepository, METADATA_DIRECTORY, type AgentWorktree, type RunRepository } from '../git/run-repository.ts';
import { buildEnhancedPrompt } from '../agents/prompt.ts';
import { runAgentSession, type AgentOutcome, type ModelSettings } from '../agents/agent-session.ts';
import type { SandboxRuntime, Sandbox } from '../sandboxes/runtime.ts';
import { createRunId } from './run-id.ts';

export interface RunServiceOptions {
  workspaceLocal: string;
  runtime: SandboxRuntime;
  model: ModelSettings;
  claudeExecutable: string;
  maxTurns: number;
  agentTimeoutMs: number;
  searchPath: string;
  runningAsRoot: boolean;
  logger: Logger;
  now?: () => Date;
}

export class RunService {
  readonly #options: RunServiceOptions;

  constructor(options: RunServiceOptions) {
    this.#options = options;
  }

  /** Runs all agents to their end; one agent's failure is recorded, never thrown. */
  async orchestrate(request: OrchestrateRequest, signal?: AbortSignal): Promise<OrchestrateResponse> {
    const createdAt = (this.#options.now ?? (() => new Date()))();
    const runId = createRunId(createdAt);
    const logger = this.#options.logger.child({ run_id: runId });
    logger.info({ agent_count: request.agent_count, prompt_length: request.prompt.length }, 'run started');
    const repository = await createRunRepository({
      workspaceLocal: this.#options.workspaceLocal,
      runId,
      prompt: request.prompt,
      agentCount: request.agent_count,
      createdAt,
      signal,
    });
    const results = await Promise.all(
      repository.agents.map((agent) => this.#runAgent(repository, agent, request.prompt, logger, signal)),
    );
    const successful = results.filter((result) => result.status === 'success').length;
    logger.info({ successful, failed: results.length - successful }, 'run completed');
    return {
      status: 'completed',
      run_info: { run_id: runId, run_dir: repository.relativeDirectory, git_initialized: true },
      summary: { total_agents: results.length, successful, failed: results.length - successful },
      results,
    };
  }

  async #runAgent(
    repository: RunRepository,
    agent: AgentWorktree,
    userPrompt: string,
    runLogger: Logger,
    signal?: AbortSignal,
  ): Promise<AgentResult> {
    const logger = runLogger.child({ agent_id: agent.agentId });
    const workspace = { worktree_path: agent.relativePath, branch_name: agent.branchName };
    const agentDirectory = path.join(repository.runDirectory, METADATA_DIRECTORY, 'agents', `agent-${agent.agentId}`);
    let sandbox: Sandbox | undefined;
    let outcome: AgentOutcome;
    try {
      sandbox = await this.#options.runtime.start({
        runId: repository.runId,
        agentId: agent.agentId,
        runDirectory: repository.runDirectory,
        worktreePath: agent.worktreePath,
        logger,
        signal,
      });
      logger.info({ runtime: this.#options.runtime.name }, 'agent started');
      outcome = await runAgentSession({
        agentId: agent.agentId,
        prompt: buildEnhancedPrompt({
          agentId: agent.agentId,
          branchName: agent.branchName,
          workingDirectory: sandbox.workingDirectory,
          userPrompt,
        }),
        sandbox,
        configDirectory: path.join(agentDirectory, 'claude-home', '.claude'),
        hostWorkingDirectory: agent.worktreePath,
        model: this.#options.model,
        claudeExecutable: this.#options.claudeExecutable,
        maxTurns: this.#options.maxTurns,
        timeoutMs: this.#options.agentTimeoutMs,
        searchPath: this.#options.searchPath,
        runningAsRoot: this.#options.runningAsRoot,
        logger,
        signal,
      });
    } catch (error) {
      logger.error({ err: error }, 'agent could not run');
      return { agent_id: agent.agentId, status: 'error', output: '', error: (error as Error).message, workspace, messages: [] };
    } finally {
      await sandbox?.stop();
    }
    if (outcome.status === 'error' && sandbox?.describeExit) {
      const exit = await sandbox.describeExit();
      if (exit) outcome = { ...outcome, error: `${outcome.error ?? 'the agent failed'}: ${exit}` };
    }
    logger.info({ status: outcome.status, error: outcome.error, duration_ms: outcome.duration_ms }, 'agent finished');
    return {
      agent_id: agent.agentId,
      status: outcome.status,
      output: outcome.output,
      ...(outcome.error ? { error: outcome.error } : {}),
      workspace,
      messages: outcome.messages,
    };
  }
}
