// `multiclaude mcp`: the run API as MCP tools over stdio (official SDK), so another agent can fan a task out to N sandboxed attempts and take the best one back.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  CancelResponseSchema,
  CreateRunResponseSchema,
  DiffResponseSchema,
  MAX_AGENTS,
  MergeResponseSchema,
  MIN_AGENTS,
  RunStateSchema,
  type RunState,
} from '@multiclaude/contract';
import { PushResponseSchema, RunSourceSchema, sourceNotTaken, type OrchestratorClient } from '../client.ts';
import { connect, type Connection } from '../connection.ts';
import { CliError, describeError } from '../errors.ts';
import { followEvents } from '../events.ts';
import { rankingTable, recommendation, runSucceeded } from '../format.ts';

export interface McpOptions {
  url: string;
  embed: boolean;
  token?: string | undefined;
  /** Where notices go; stdout belongs to the protocol. */
  log: (line: string) => void;
}

const runId = z.string().min(1).describe('The run id that start_run returned, e.g. "20260101-120000-abcd".');
const agentId = z.number().int().positive().describe('The agent number within the run, 1 to agent_count.');

const StartRunInput = {
  prompt: z.string().min(1).describe('The task every agent gets.'),
  agent_count: z.number().int().min(MIN_AGENTS).max(MAX_AGENTS).describe(`How many independent attempts, ${MIN_AGENTS} to ${MAX_AGENTS}.`),
  source: RunSourceSchema.optional().describe('The repository to start from: {repo: a git URL or an absolute path on the orchestrator\'s machine, ref?: branch, tag or commit}. Needs an orchestrator that supports sources; omitted, each agent starts from a fresh repository.'),
  check_command: z.string().min(1).optional().describe('A command run in each agent\'s sandbox after it ends, e.g. "npm test"; a passed check ranks first.'),
  budget_usd: z.number().positive().optional().describe('Spending limit for the whole run in US dollars, shared equally by its agents.'),
};
const StartRunOutput = CreateRunResponseSchema.extend({
  warnings: z.array(z.string()).describe('Things the caller should know, e.g. a source the orchestrator does not take yet.'),
});
const WaitRunOutput = z.object({
  finished: z.boolean().describe('False when timeout_seconds passed first; call wait_run again.'),
  succeeded: z.boolean().describe('At least one agent succeeded (and passed its check, when the run has one).'),
  run: RunStateSchema,
});

/** An orchestrator connection opened at the first tool call and kept for the server's life. */
class LazyConnection {
  private opening: Promise<Connection> | undefined;
  constructor(private readonly options: McpOptions) {}

  client(): Promise<OrchestratorClient> {
    this.opening ??= connect({ url: this.options.url, token: this.options.token, embed: this.options.embed, notice: this.options.log }).catch((error: unknown) => {
      // The next call tries again: the user may start an orchestrator meanwhile.
      this.opening = undefined;
      throw error;
    });
    return this.opening.then((connection) => connection.client);
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (opening) await (await opening.catch(() => undefined))?.close();
  }
}

function success<T extends Record<string, unknown>>(structured: T, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

function failure(error: unknown): CallToolResult {
  const detail = error instanceof CliError ? { code: error.code, ...(error.status ? { status: error.status } : {}), ...error.detail } : {};
  return { isError: true, content: [{ type: 'text', text: `${describeError(error)}${Object.keys(detail).length > 0 ? `\n${JSON.stringify(detail)}` : ''}` }] };
}

async function guarded(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (error) {
    return failure(error);
  }
}

function finishedText(run: RunState): string {
  return `run ${run.run_info.run_id} ${run.status}\n${rankingTable(run)}\n${recommendation(run)}`;
}

export function createMcpServer(options: McpOptions): { server: McpServer; close(): Promise<void> } {
  const server = new McpServer({ name: 'multiclaude', version: '0.1.0' });
  const connection = new LazyConnection(options);

  server.registerTool(
    'start_run',
    {
      title: 'Start a run',
      description: 'Start N independent sandboxed coding agents on one task, each on its own git branch. Returns at once with the run id; follow it with wait_run.',
      inputSchema: StartRunInput,
      outputSchema: StartRunOutput,
    },
    (input) =>
      guarded(async () => {
        const client = await connection.client();
        const started = await client.startRun(input);
        const warnings = input.source && !(await client.sourceTaken(started.run_id)) ? [sourceNotTaken(client.url, input.source)] : [];
        const text = `run ${started.run_id} ${started.status}: ${input.agent_count} agents. Call wait_run with run_id "${started.run_id}".`;
        return success({ ...started, warnings }, [text, ...warnings.map((warning) => `Warning: ${warning}.`)].join('\n'));
      }),
  );

  server.registerTool(
    'get_run',
    {
      title: 'Get a run',
      description: 'The run now: its status, each agent\'s status, usage, cost, check, diff stats, rank and the recommended agent (GET /runs/:id).',
      inputSchema: { run_id: runId },
      outputSchema: RunStateSchema,
      annotations: { readOnlyHint: true },
    },
    ({ run_id }) =>
      guarded(async () => {
        const run = await (await connection.client()).getRun(run_id);
        return success(run, finishedText(run));
      }),
  );

  server.registerTool(
    'wait_run',
    {
      title: 'Wait for a run',
      description: 'Wait until the run ends (or timeout_seconds pass), sending progress notifications as agents start and end; returns the run with its ranking.',
      inputSchema: { run_id: runId, timeout_seconds: z.number().int().positive().max(3600).optional().describe('Stop waiting after this long (default 600); the run goes on.') },
      outputSchema: WaitRunOutput,
      annotations: { readOnlyHint: true },
    },
    ({ run_id, timeout_seconds }, extra) =>
      guarded(async () => {
        const client = await connection.client();
        const initial = await client.getRun(run_id, extra.signal);
        const progressToken = extra._meta?.progressToken;
        const total = initial.agent_count;
        // Each agent counts half when it starts and whole when it ends: a measure that only grows, as MCP progress must.
        const stage = new Map<number, number>();
        let sent = -1;
        const notify = async (message: string): Promise<void> => {
          const progress = [...stage.values()].reduce((sum, value) => sum + value, 0);
          if (progressToken === undefined || progress <= sent) return;
          sent = progress;
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total, message } });
        };
        const deadline = AbortSignal.timeout((timeout_seconds ?? 600) * 1000);
        const signal = AbortSignal.any([extra.signal, deadline]);
        let finished = false;
        try {
          for await (const event of followEvents(client, run_id, { signal })) {
            if (event.type === 'agent_status' && event.status === 'running') {
              stage.set(event.agent_id, Math.max(stage.get(event.agent_id) ?? 0, 0.5));
              await notify(`agent ${event.agent_id} running`);
            } else if (event.type === 'agent_status' || event.type === 'agent_result') {
              const status = event.type === 'agent_result' ? event.result.status : event.status;
              if (status !== 'pending' && status !== 'running') {
                stage.set(event.agent_id, 1);
                await notify(`agent ${event.agent_id} ${status}`);
              }
            } else if (event.type === 'run_finished') {
              finished = true;
            }
          }
        } catch (error) {
          if (!deadline.aborted) throw error;
        }
        const run = await client.getRun(run_id);
        const succeeded = runSucceeded(run);
        const text = finished ? finishedText(run) : `run ${run_id} is still ${run.status} after ${timeout_seconds ?? 600} s; call wait_run again`;
        return success({ finished, succeeded, run }, text);
      }),
  );

  server.registerTool(
    'get_diff',
    {
      title: 'Get an agent\'s diff',
      description: 'What one agent changed: its branch against the run\'s base commit, as stats, files and a unified patch.',
      inputSchema: { run_id: runId, agent_id: agentId },
      outputSchema: DiffResponseSchema,
      annotations: { readOnlyHint: true },
    },
    ({ run_id, agent_id }) =>
      guarded(async () => {
        const diff = await (await connection.client()).getDiff(run_id, agent_id);
        const header = `${diff.stats.files} files changed, +${diff.stats.insertions} -${diff.stats.deletions}${diff.truncated ? ' (patch truncated)' : ''}`;
        return success(diff, `${header}\n${diff.patch}`);
      }),
  );

  server.registerTool(
    'merge',
    {
      title: 'Merge an agent',
      description: 'Merge the agent\'s branch into the run repository\'s main. A conflict changes nothing and names the conflicting files.',
      inputSchema: { run_id: runId, agent_id: agentId },
      outputSchema: MergeResponseSchema,
      annotations: { destructiveHint: false },
    },
    ({ run_id, agent_id }) =>
      guarded(async () => {
        const merged = await (await connection.client()).merge(run_id, agent_id);
        return success(merged, `merged ${merged.branch_name} into main: ${merged.commit}${merged.fast_forward ? ' (fast-forward)' : ''}`);
      }),
  );

  server.registerTool(
    'push',
    {
      title: 'Push an agent\'s branch',
      description: 'Push the agent\'s branch tip to the run\'s source repository as a new branch (never forced). Needs a run started with a source, and an orchestrator that supports push.',
      inputSchema: { run_id: runId, agent_id: agentId, branch: z.string().min(1).optional().describe('Branch name to create; default multiclaude/<run_id>/agent-<n>.') },
      outputSchema: PushResponseSchema,
    },
    ({ run_id, agent_id, branch }) =>
      guarded(async () => {
        const client = await connection.client();
        try {
          const pushed = await client.push(run_id, agent_id, branch);
          return success(pushed, `pushed to ${pushed.remote} as ${pushed.branch} (${pushed.commit})`);
        } catch (error) {
          if (error instanceof CliError && error.code === 'unsupported') {
            throw new CliError('unsupported', `the orchestrator at ${client.url} does not support push yet (no POST /runs/:id/agents/:n/push); use get_diff and apply the patch instead`, { status: 404 });
          }
          throw error;
        }
      }),
  );

  server.registerTool(
    'cancel_run',
    {
      title: 'Cancel a run or one agent',
      description: 'Stop the whole run, or only agent_id; commits made so far stay on the branches.',
      inputSchema: { run_id: runId, agent_id: agentId.optional() },
      outputSchema: CancelResponseSchema,
      annotations: { destructiveHint: true },
    },
    ({ run_id, agent_id }) =>
      guarded(async () => {
        const answer = await (await connection.client()).cancel(run_id, agent_id);
        return success(answer, agent_id === undefined ? `run ${run_id}: cancelling` : `run ${run_id}, agent ${agent_id}: cancelling`);
      }),
  );

  return { server, close: () => connection.close() };
}

/** Serves until the client closes stdin or the process is told to stop; an orchestrator started for it stops too. */
export async function serveMcp(options: McpOptions, signal: AbortSignal): Promise<void> {
  const { server, close } = createMcpServer(options);
  const transport = new StdioServerTransport();
  const ended = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  try {
    await ended;
  } finally {
    await close();
    await server.close().catch(() => {});
  }
}
