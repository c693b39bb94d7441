// After an agent ends: runs the run's check command in the agent's own sandbox and measures its branch's diff, for ranking.
import type { Logger } from 'pino';
import type { CheckResult, DiffStats } from '@multiclaude/contract';
import type { SandboxRuntime } from '../sandboxes/runtime.ts';
import type { AgentWorktree } from '../git/run-repository.ts';
import { diffFiles, statsOf } from '../git/review.ts';

export interface ReviewJob {
  runtime: SandboxRuntime;
  runId: string;
  runDirectory: string;
  baseCommit: string;
  agent: AgentWorktree;
  checkCommand: string | null;
  checkTimeoutMs: number;
  logger: Logger;
  signal: AbortSignal;
}

export async function runCheck(job: ReviewJob, command: string): Promise<CheckResult> {
  const started = Date.now();
  try {
    const outcome = await job.runtime.runCommand(
      {
        runId: job.runId,
        agentId: job.agent.agentId,
        runDirectory: job.runDirectory,
        worktreePath: job.agent.worktreePath,
        logger: job.logger,
        signal: job.signal,
      },
      command,
      { timeoutMs: job.checkTimeoutMs },
    );
    const status = outcome.timedOut ? 'timed_out' : outcome.exitCode === 0 ? 'passed' : 'failed';
    job.logger.info({ check_status: status, exit_code: outcome.exitCode, duration_ms: outcome.durationMs }, 'check finished');
    return { status, exit_code: outcome.exitCode, duration_ms: outcome.durationMs, output_tail: outcome.outputTail };
  } catch (error) {
    job.logger.warn({ err: error }, 'check could not run');
    return { status: 'error', exit_code: null, duration_ms: Date.now() - started, output_tail: (error as Error).message };
  }
}

export async function measureDiff(job: Pick<ReviewJob, 'runDirectory' | 'baseCommit' | 'agent' | 'logger'>): Promise<DiffStats | null> {
  try {
    return statsOf(await diffFiles(job.runDirectory, job.baseCommit, job.agent.branchName));
  } catch (error) {
    job.logger.warn({ err: error }, 'could not measure the agent’s diff');
    return null;
  }
}
