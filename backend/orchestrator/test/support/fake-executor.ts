// An AgentExecutor that runs no model and no sandbox: each agent says a line, commits one file with real git, and holds until the test releases it or cancels it.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckResult } from '@multiclaude/contract';
import type { AgentExecutor, AgentJob, AgentOutcome, CheckJob, JudgeJob, SetupJob } from '../../src/runs/agent-executor.ts';
import { runToOutcome } from '../../src/process/run-cli.ts';
import { git } from '../../src/git/git.ts';
import { importAgentWork } from '../../src/git/agent-import.ts';

type Release = (outcome?: Partial<AgentOutcome>) => void;

export interface FakeExecutorOptions {
  /** Agents hold until released (default); false lets them finish at once. */
  hold?: boolean;
  check?: (job: CheckJob) => CheckResult;
  /** What each agent reports when it is not held (or released without an outcome): e.g. its cost. */
  outcome?: (job: AgentJob) => Partial<AgentOutcome>;
  /** The judge's answer; by default it ranks the candidates in the order the prompt lists them. */
  judge?: (job: JudgeJob) => Promise<Partial<AgentOutcome>> | Partial<AgentOutcome>;
}

/** The candidates a judge prompt lists, in order. */
export function judgeCandidatesOf(prompt: string): number[] {
  return (/^Candidates: ([\d, ]+)$/m.exec(prompt)?.[1] ?? '').split(',').map((id) => Number(id.trim())).filter(Boolean);
}

/** A judge's final text ranking these agents in this order. */
export function judgeAnswer(order: number[], summary = 'scripted'): string {
  return `Here is my verdict.\n\n\`\`\`json\n${JSON.stringify({ ranking: order.map((agent_id) => ({ agent_id, reason: `agent ${agent_id} reasoned about` })), summary })}\n\`\`\``;
}

export class FakeExecutor implements AgentExecutor {
  /** `<run id>/<agent id>` of every agent started, in order. */
  readonly started: string[] = [];
  /** Every agent job, in the order started (prompts and earlier-attempt notes included). */
  readonly jobs: AgentJob[] = [];
  /** Every judge job. */
  readonly judgeJobs: JudgeJob[] = [];
  readonly #held = new Map<string, Release>();
  readonly #waiters = new Set<() => void>();
  readonly #options: FakeExecutorOptions;

  constructor(options: FakeExecutorOptions = {}) {
    this.#options = options;
  }

  /** Agents running now. */
  get running(): string[] {
    return [...this.#held.keys()];
  }

  async runAgent(job: AgentJob): Promise<AgentOutcome> {
    const key = `${job.run.runId}/${job.agent.agentId}`;
    this.started.push(key);
    this.jobs.push(job);
    job.onSandboxReady?.();
    job.onMessage({ type: 'text', text: `agent ${job.agent.agentId} at work` });
    // A follow-up (a resumed session) adds a file of its own, so it has something to commit.
    const file = job.resumeSessionId ? `agent-${job.agent.agentId}-followup.md` : `agent-${job.agent.agentId}.md`;
    await writeFile(path.join(job.agent.worktree, file), `by agent ${job.agent.agentId}\n`);
    await git(['add', '-A'], { cwd: job.agent.worktree });
    await git(['commit', '-q', '-m', `Agent ${job.agent.agentId}: fake work`], { cwd: job.agent.worktree });
    // As the real executor: the run repository's agent-N moves only by import.
    const imported = await importAgentWork(job.run, job.agent);
    if (!imported.imported) throw new Error(imported.reason);
    let change: Partial<AgentOutcome> = {};
    if (this.#options.hold !== false) {
      change = await new Promise<Partial<AgentOutcome>>((resolve) => {
        const release: Release = (outcome = {}) => {
          this.#held.delete(key);
          resolve(outcome);
        };
        this.#held.set(key, release);
        // Aborted while it was committing: the listener below would never fire.
        if (job.signal.aborted) return release({ status: 'error', error: 'aborted' });
        job.signal.addEventListener('abort', () => release({ status: 'error', error: 'aborted' }), { once: true });
        this.#notify();
      });
    }
    return {
      status: 'success',
      output: `agent ${job.agent.agentId} done`,
      messages: [{ type: 'text', text: `agent ${job.agent.agentId} done` }],
      usage: { input_tokens: 10, output_tokens: 5 },
      cost_usd: 0.001,
      duration_ms: 1,
      num_turns: 1,
      ...this.#options.outcome?.(job),
      ...change,
    };
  }

  async runCheck(job: CheckJob): Promise<CheckResult> {
    return this.#options.check?.(job) ?? { status: 'passed', exit_code: 0, duration_ms: 1, output_tail: '' };
  }

  async runJudge(job: JudgeJob): Promise<AgentOutcome> {
    this.judgeJobs.push(job);
    const change = this.#options.judge ? await this.#options.judge(job) : { output: judgeAnswer(judgeCandidatesOf(job.prompt)) };
    return { status: 'success', output: '', messages: [], usage: { input_tokens: 100, output_tokens: 20 }, cost_usd: 0.002, duration_ms: 5, num_turns: 1, ...change };
  }

  /** The setup command in a plain shell over the setup tree (no sandbox): the run machinery around it is what fast tests look at. */
  async runSetup(job: SetupJob): Promise<CheckResult> {
    const outcome = await runToOutcome('bash', ['-c', job.command], { cwd: job.run.setup.worktree, timeoutMs: 60_000, signal: job.signal });
    const status = outcome.timedOut ? 'timed_out' : outcome.exitCode === 0 ? 'passed' : 'failed';
    return { status, exit_code: outcome.exitCode, duration_ms: outcome.durationMs, output_tail: outcome.outputTail };
  }

  /** Lets a held agent finish, with what it should report. */
  release(runId: string, agentId: number, outcome?: Partial<AgentOutcome>): void {
    const release = this.#held.get(`${runId}/${agentId}`);
    if (!release) throw new Error(`agent ${runId}/${agentId} is not running`);
    release(outcome);
  }

  /** Resolves once `count` agents are being held at the same time. */
  async whenRunning(count: number): Promise<void> {
    while (this.#held.size < count) await new Promise<void>((resolve) => this.#waiters.add(resolve));
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
    this.#waiters.clear();
  }
}
