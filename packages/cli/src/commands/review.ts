// The commands over existing runs: runs, show, diff, merge, push, cancel and logs, each one call (or one stream) of the run API.
import type { Command } from 'commander';
import { withConnection, type CommandContext } from '../context.ts';
import { CliError, EXIT_SUCCESS } from '../errors.ts';
import { followEvents } from '../events.ts';
import { eventLine, rankingTable, recommendation, runListTable, runSummary } from '../format.ts';

function print(context: CommandContext, text: string): void {
  context.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export async function runsCommand(context: CommandContext, command: Command, options: { limit: number; before?: string; json?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    const page = await client.listRuns({ limit: options.limit, ...(options.before ? { before: options.before } : {}) });
    if (options.json) {
      print(context, JSON.stringify(page));
    } else if (page.runs.length === 0) {
      print(context, options.before ? `no runs before ${options.before}` : 'no runs yet: start one with `multiclaude run "<task>"`');
    } else {
      print(context, runListTable(page.runs));
      if (page.next_before) print(context, `older: multiclaude runs --before ${page.next_before}`);
    }
    return EXIT_SUCCESS;
  });
}

export async function showCommand(context: CommandContext, command: Command, runId: string, options: { json?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    const { run, sent } = await client.getRunAsSent(runId, context.signal);
    if (options.json) {
      print(context, JSON.stringify(sent));
    } else {
      print(context, `${runSummary(run)}\nprompt: ${run.prompt.length > 300 ? `${run.prompt.slice(0, 299)}…` : run.prompt}`);
      if (run.check_command) print(context, `check: ${run.check_command}`);
      print(context, `\n${rankingTable(run)}\n`);
      if (run.status === 'completed' || run.status === 'cancelled' || run.status === 'interrupted') print(context, recommendation(run));
      for (const merge of run.merges) print(context, `merged agent ${merge.agent_id} into main at ${merge.commit.slice(0, 12)}${merge.fast_forward ? ' (fast-forward)' : ''}`);
    }
    return EXIT_SUCCESS;
  });
}

export async function diffCommand(context: CommandContext, command: Command, runId: string, agentId: number, options: { stat?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    if (options.stat) {
      const diff = await client.getDiff(runId, agentId);
      for (const file of diff.files) print(context, `${String(file.insertions ?? '-').padStart(6)} ${String(file.deletions ?? '-').padStart(6)}  ${file.path}`);
      print(context, `${diff.stats.files} files changed, ${diff.stats.insertions} insertions(+), ${diff.stats.deletions} deletions(-)`);
    } else {
      context.stdout.write(await client.getPatch(runId, agentId));
    }
    return EXIT_SUCCESS;
  });
}

export async function mergeCommand(context: CommandContext, command: Command, runId: string, agentId: number, options: { json?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    const merged = await client.merge(runId, agentId);
    if (options.json) print(context, JSON.stringify(merged));
    else print(context, `merged ${merged.branch_name} into main of run ${merged.run_id}: ${merged.commit.slice(0, 12)}${merged.fast_forward ? ' (fast-forward)' : ' (merge commit)'}`);
    return EXIT_SUCCESS;
  });
}

export async function pushCommand(context: CommandContext, command: Command, runId: string, agentId: number, options: { branch?: string; json?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    try {
      const pushed = await client.push(runId, agentId, options.branch);
      if (options.json) print(context, JSON.stringify(pushed));
      else print(context, `pushed agent ${agentId} of run ${runId} to ${pushed.remote} as branch ${pushed.branch} (${pushed.commit.slice(0, 12)})`);
      return EXIT_SUCCESS;
    } catch (error) {
      if (error instanceof CliError && error.code === 'unsupported') {
        throw new CliError(
          'unsupported',
          `the orchestrator at ${client.url} does not support push (it has no POST /runs/:id/agents/:n/push): upgrade it to a version with runs on your repository, or fetch the branch yourself: multiclaude diff ${runId} ${agentId} | git apply`,
          { status: error.status ?? 404, cause: error },
        );
      }
      throw error;
    }
  });
}

export async function cancelCommand(context: CommandContext, command: Command, runId: string, agentId: number | undefined, options: { json?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    const answer = await client.cancel(runId, agentId);
    if (options.json) print(context, JSON.stringify(answer));
    else print(context, agentId === undefined ? `run ${runId}: cancelling` : `run ${runId}, agent ${agentId}: cancelling`);
    return EXIT_SUCCESS;
  });
}

export async function logsCommand(context: CommandContext, command: Command, runId: string, options: { after?: number; json?: boolean }): Promise<number> {
  return withConnection(context, command, async ({ client }) => {
    const after = options.after ?? 0;
    // The server keeps the stream of an ended run open when asked for events after its last one, waiting for
    // more that never come; so an ended run is read from its start, and the events up to --after skipped here.
    const run = await client.getRun(runId, context.signal);
    const ended = run.status !== 'queued' && run.status !== 'running';
    for await (const event of followEvents(client, runId, { after: ended ? 0 : after, signal: context.signal })) {
      if (event.id <= after) continue;
      print(context, options.json ? JSON.stringify(event) : eventLine(event));
    }
    return EXIT_SUCCESS;
  });
}
