// The seam between a run and its agents: what running one agent and checking its work means, so the run machinery can be driven by a fake in tests (as the MCP SDK's in-memory transport stands in for a real one).
import type { Logger } from 'pino';
import type { AgentMessage, CheckResult } from '@multiclaude/contract';
import type { AgentOutcome } from '../agents/agent-session.ts';
import type { UsageTotals } from '../agents/usage.ts';
import type { AgentPaths, RunPaths } from '../workspace/layout.ts';

export type { AgentOutcome };

export interface AgentJob {
  run: RunPaths;
  agent: AgentPaths;
  userPrompt: string;
  /** What earlier attempts of the run taught (learn_from_failures): appended after the task. */
  earlierAttempts?: string;
  budgetUsd?: number;
  logger: Logger;
  signal: AbortSignal;
  onMessage: (message: AgentMessage) => void;
  /** The session's running totals after each model turn. */
  onUsage?: (totals: UsageTotals) => void;
  /** Called as soon as the agent's sandbox has started (its session may still be waiting for a warm spare). */
  onSandboxReady?: () => void;
  /** A follow-up: resume this SDK session with `userPrompt` as the next request, instead of starting anew. */
  resumeSessionId?: string;
}

export interface CheckJob {
  run: RunPaths;
  agent: AgentPaths;
  command: string;
  logger: Logger;
  signal: AbortSignal;
}

export interface JudgeJob {
  run: RunPaths;
  /** The whole prompt: the task, the candidates' diffs and check outputs, and the answer format. */
  prompt: string;
  budgetUsd?: number;
  logger: Logger;
  /** Aborted by a cancel or the judge's timeout. */
  signal: AbortSignal;
}

export interface SetupJob {
  run: RunPaths;
  command: string;
  logger: Logger;
  signal: AbortSignal;
}

export interface AgentExecutor {
  /** Runs one agent to its end. Never throws: every failure is an error outcome, so one agent cannot take the others down. */
  runAgent(job: AgentJob): Promise<AgentOutcome>;
  /** Runs the run's check command over the agent's work, with the same isolation as its tools. Never throws. */
  runCheck(job: CheckJob): Promise<CheckResult>;
  /** Runs the judge: one session with no tools at all, whose final text is its verdict. Never throws. */
  runJudge(job: JudgeJob): Promise<AgentOutcome>;
  /** Runs the run's setup_command over its setup tree, in the only sandbox with network access. Never throws. */
  runSetup(job: SetupJob): Promise<CheckResult>;
}
