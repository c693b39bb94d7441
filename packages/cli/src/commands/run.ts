// `multiclaude run`: starts a run, shows each agent's progress until it ends, then the ranking and the recommended agent; exit 0 when an attempt succeeded.
import type { Command } from 'commander';
import { MAX_AGENTS } from '@multiclaude/contract';
import { sourceNotTaken } from '../client.ts';
import { withConnection, type CommandContext } from '../context.ts';
import { EXIT_FAILURE, EXIT_SUCCESS } from '../errors.ts';
import { followEvents } from '../events.ts';
import { rankingTable, recommendation, runSucceeded, runSummary } from '../format.ts';
import { resolveSource } from '../source.ts';

export interface RunOptions {
  agents: number;
  repo?: string;
  ref?: string;
  check?: string;
  budget?: number;
  json?: boolean;
}

export async function runCommand(context: CommandContext, command: Command, task: string, options: RunOptions): Promise<number> {
  const { source, notes } = await resolveSource({ repo: options.repo, ref: options.ref, cwd: process.cwd() });
  for (const note of notes) context.stderr.write(`multiclaude: ${note}\n`);
  return withConnection(context, command, async ({ client, embedded }) => {
    const started = await client.startRun(
      {
        prompt: task,
        agent_count: options.agents,
        ...(source ? { source } : {}),
        ...(options.check ? { check_command: options.check } : {}),
        ...(options.budget !== undefined ? { budget_usd: options.budget } : {}),
      },
      context.signal,
    );
    const runId = started.run_id;
    const from = source ? `; source ${source.repo}${source.ref ? ` at ${source.ref}` : ''}` : '';
    context.stderr.write(`run ${runId}: ${options.agents} agent${options.agents === 1 ? '' : 's'}${from}; follow it elsewhere with: multiclaude logs ${runId}\n`);
    if (source && !(await client.sourceTaken(runId, context.signal))) context.stderr.write(`multiclaude: ${sourceNotTaken(client.url, source)}\n`);
    const onAbort = (): void => {
      const fate = embedded
        ? 'the orchestrator started for this command is stopping, so the run ends as interrupted (its commits are kept)'
        : `it goes on at ${client.url}: \`multiclaude logs ${runId}\` follows it, \`multiclaude cancel ${runId}\` stops it`;
      context.stderr.write(`\nmulticlaude: stopped watching run ${runId}; ${fate}\n`);
    };
    context.signal.addEventListener('abort', onAbort, { once: true });
    // log-update and its dependencies are loaded only by the command that draws.
    const { createProgressView } = await import('../progress-view.ts');
    const view = createProgressView({ runId, agentCount: options.agents, stream: context.stderr, live: Boolean(context.stderr.isTTY) });
    try {
      for await (const event of followEvents(client, runId, { signal: context.signal })) view.update(event);
    } finally {
      view.done();
      context.signal.removeEventListener('abort', onAbort);
    }
    // The finished run as GET /runs/:id sent it, so --json is exactly the API's answer.
    const { run, sent } = await client.getRunAsSent(runId, context.signal);
    if (options.json) {
      context.stdout.write(`${JSON.stringify(sent)}\n`);
    } else {
      context.stdout.write(`\n${rankingTable(run)}\n\n${recommendation(run)}\n${runSummary(run)}\n`);
    }
    return runSucceeded(run) ? EXIT_SUCCESS : EXIT_FAILURE;
  });
}

export const RUN_HELP = `
The run starts from a repository: --repo (a path on the orchestrator's machine or a git URL) at --ref, or,
without --repo, the git repository of the current directory at its HEAD (uncommitted changes are not
part of it). Outside a repository and without --repo, each agent starts from a fresh repository.
An orchestrator that does not take a source yet starts from a fresh repository anyway, and run says so.

Progress (one line per agent) goes to stderr, redrawn in place on a terminal; the ranking (or, with
--json, the finished run as GET /runs/:id answers it) goes to stdout.

Exit status: 0 when at least one agent succeeded (and passed the check, with --check), 1 otherwise,
2 for bad usage.

Examples:
  multiclaude run "Add a --verbose flag to the CLI" -n 4 --check "npm test"
  multiclaude run "Fix the flaky test" --repo https://github.com/me/app.git --ref main --budget 2
  multiclaude run "Write a haiku about git" -n 2 --json | jq .recommended_agent_id

Agents: 1 to ${MAX_AGENTS}.`;
