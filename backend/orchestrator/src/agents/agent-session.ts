// Runs one agent: a Claude Agent SDK session whose only tools are its sandbox's MCP server, to completion, error, timeout or abort.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { query, type SDKMessage, type SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { AgentMessage } from '@multiclaude/contract';
import type { Sandbox } from '../sandboxes/runtime.ts';
import { toAgentMessages } from './messages.ts';
import { createClaudeSpawner } from './claude-process.ts';
import { UsageTally, type UsageTotals } from './usage.ts';

/** The MCP server's name as the SDK sees it (`workspace` is reserved by Claude Code and dropped). */
export const SANDBOX_SERVER_NAME = 'sandbox';
/** The sandbox tools an agent may use: files and shell. */
export const SANDBOX_TOOLS = ['Bash', 'Read', 'Write', 'Edit', 'NotebookEdit'] as const;
// The rest of what `claude mcp serve` offers would let an agent reach out (web) or start more agents.
export const DENIED_TOOLS = ['Agent', 'WebFetch', 'WebSearch', 'CronCreate', 'CronDelete', 'CronList', 'ScheduleWakeup', 'SendMessage', 'Workflow', 'EnterWorktree', 'ExitWorktree', 'Skill', 'Monitor', 'TaskStop', 'ListAgents', 'ReportFindings', 'ToolSearch'];
const MAX_MESSAGES = 500;
/** How long an agent's sandbox may take to answer MCP's initialize before the agent fails. */
export const SANDBOX_CONNECT_TIMEOUT_MS = 120_000;

/**
 * The SDK options that make a sandbox's MCP server the agent's only tools: built-ins off, host settings
 * not loaded, file and shell tools allowed, the server's web and agent tools denied.
 */
export function sandboxToolOptions(mcpServer: Sandbox['mcpServer']) {
  return {
    ...toolPolicyOptions(),
    mcpServers: { [SANDBOX_SERVER_NAME]: sandboxServerConfig(mcpServer) },
    // Over stdin, not argv: the server config must not be readable in the process table.
    mcpServersDelivery: 'initialize' as const,
  };
}

/** The sandbox's MCP server as the SDK takes it; alwaysLoad: the tools are in the first turn's prompt, never deferred behind tool search. */
export function sandboxServerConfig(mcpServer: Sandbox['mcpServer']) {
  return { ...mcpServer, alwaysLoad: true };
}

/** Which tools an agent may use, fixed when its process starts (a warm spare gets its sandbox's server only when claimed). */
export function toolPolicyOptions() {
  return {
    tools: [] as string[],
    strictMcpConfig: true,
    allowedTools: SANDBOX_TOOLS.map((tool) => `mcp__${SANDBOX_SERVER_NAME}__${tool}`),
    disallowedTools: DENIED_TOOLS.map((tool) => `mcp__${SANDBOX_SERVER_NAME}__${tool}`),
    settingSources: [] as [],
    permissionMode: 'bypassPermissions' as const,
    allowDangerouslySkipPermissions: true,
  };
}

/** An abort reason that stops an agent for a reason of its own (its sandbox died, it filled its disk quota); the message becomes the agent's error. */
export class AgentStop extends Error {
  readonly code = 'agent_stopped';
  constructor(message: string) {
    super(message);
    this.name = 'AgentStop';
  }
}

export interface EnvironmentInput {
  searchPath: string;
  configDirectory: string;
  apiKey: string;
  baseUrl: string | undefined;
  runningAsRoot: boolean;
}

/** The environment of a `claude` process: all it reads at start-up, so a warm spare is started with it too (warm-session.ts). */
export function sessionEnvironment(input: EnvironmentInput): Record<string, string> {
  const environment: Record<string, string> = {
    PATH: input.searchPath,
    HOME: path.dirname(input.configDirectory),
    CLAUDE_CONFIG_DIR: input.configDirectory,
    ANTHROPIC_API_KEY: input.apiKey,
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    // The sandbox's tools must be there before the first turn: by default Claude Code connects MCP
    // servers in the background with a 5 s cap, and a sandbox slow to start (a busy machine, a cold
    // container) would leave the agent with no tools at all, answering in words only.
    MCP_CONNECTION_NONBLOCKING: 'false',
    MCP_CONNECT_TIMEOUT_MS: String(SANDBOX_CONNECT_TIMEOUT_MS),
  };
  if (input.baseUrl) environment['ANTHROPIC_BASE_URL'] = input.baseUrl;
  // Claude Code refuses to bypass permissions as root unless told it is sandboxed; the agent's tools
  // run in the sandbox, not in this process.
  if (input.runningAsRoot) environment['IS_SANDBOX'] = '1';
  return environment;
}

/** The options fixed when a `claude` process starts, the same for every agent (and every warm spare). */
export function hostLevelOptions(input: { claudeExecutable: string; maxTurns: number; onStderr: (text: string) => void; onProcess?: ((pid: number) => () => void) | undefined }) {
  return {
    pathToClaudeCodeExecutable: input.claudeExecutable,
    maxTurns: input.maxTurns,
    spawnClaudeCodeProcess: createClaudeSpawner(input.onStderr, input.onProcess),
  };
}

export interface ModelSettings {
  apiKey: string;
  baseUrl: string | undefined;
  model: string | undefined;
}

/** A session with no tools at all (the judge): built-ins off, no MCP server, host settings not loaded. */
export function noToolOptions() {
  return {
    tools: [] as string[],
    mcpServers: {},
    strictMcpConfig: true,
    allowedTools: [] as string[],
    settingSources: [] as [],
    permissionMode: 'dontAsk' as const,
  };
}

export interface AgentSessionInput {
  agentId: number;
  prompt: string;
  /** Where its tools run; without one the session has no tools and only answers in text. */
  sandbox: Sandbox | undefined;
  /** The agent's own Claude config dir: parallel agents sharing one corrupt each other's settings. */
  configDirectory: string;
  /** The claude process's cwd, on the orchestrator's side. */
  hostWorkingDirectory: string;
  model: ModelSettings;
  claudeExecutable: string;
  maxTurns: number;
  timeoutMs: number;
  /** Stops the agent once its model calls would cost more than this. */
  maxBudgetUsd?: number;
  searchPath: string;
  runningAsRoot: boolean;
  logger: Logger;
  signal?: AbortSignal;
  onMessage?: (message: AgentMessage) => void;
  /** This session's running totals after each model turn. */
  onUsage?: (totals: UsageTotals) => void;
  /** An earlier session of this agent to resume (a follow-up): the model sees that conversation first. */
  resumeSessionId?: string;
  /** A warm spare claimed for this agent: its process is already running (model.apiKey is its token, activated). */
  spare?: ClaimedSpare;
  /** Told the pid of the claude process started (for the memory footprint); returns what to call at its exit. */
  onProcess?: (pid: number) => () => void;
  /** Paces cold start-ups of claude processes (CPU-bound): held from spawn to the session's first message. */
  startupGate?: { acquire(signal?: AbortSignal): Promise<() => void> };
}

/** A warm spare session as agent-session uses it (warm-session.ts makes them). */
export interface ClaimedSpare {
  /** Binds the spare to this agent and sends the prompt once the sandbox's tools are connected. */
  claim(input: { prompt: string; cwd: string; mcpServer: Sandbox['mcpServer']; model: string | undefined; signal: AbortSignal; onStderr: (text: string) => void }): AsyncIterable<SDKMessage>;
  /** Ends the session's input after its result, so the process exits as a one-prompt query's does. */
  end(): void;
}

export interface AgentOutcome {
  status: 'success' | 'error';
  output: string;
  error?: string;
  messages: AgentMessage[];
  usage: { input_tokens: number; output_tokens: number };
  cost_usd: number;
  duration_ms: number;
  num_turns: number;
  /** The SDK session, for a follow-up to resume; absent when the session never started. */
  session_id?: string;
}

function resultError(result: SDKResultMessage): string {
  if (result.subtype === 'success') return result.result || 'the agent reported an error';
  if (result.subtype === 'error_max_turns') return `the agent hit the turn limit (${result.num_turns} turns)`;
  if (result.subtype === 'error_max_budget_usd') return `the agent reached its budget (spent $${result.total_cost_usd.toFixed(4)})`;
  return result.errors.join('; ') || `the agent stopped: ${result.subtype}`;
}

export async function runAgentSession(input: AgentSessionInput): Promise<AgentOutcome> {
  const started = Date.now();
  const messages: AgentMessage[] = [];
  const record = (message: AgentMessage): void => {
    if (messages.length < MAX_MESSAGES) messages.push(message);
    input.onMessage?.(message);
  };
  const abortController = new AbortController();
  const timeout = setTimeout(() => abortController.abort(new Error('timeout')), input.timeoutMs);
  timeout.unref();
  const onAbort = (): void => abortController.abort(input.signal?.reason);
  if (input.signal?.aborted) onAbort();
  else input.signal?.addEventListener('abort', onAbort, { once: true });

  let result: SDKResultMessage | undefined;
  let sessionId: string | undefined;
  const tally = new UsageTally();
  let lastText = '';
  let stderrTail = '';
  let releaseStartup: (() => void) | undefined;
  try {
    await mkdir(input.configDirectory, { recursive: true });
    // A claimed spare's config dir is its own, so the agent's working directory is made here, not as its parent.
    await mkdir(input.hostWorkingDirectory, { recursive: true });
    if (!input.spare) releaseStartup = await input.startupGate?.acquire(abortController.signal);
    const environment = sessionEnvironment({ ...input, apiKey: input.model.apiKey, baseUrl: input.model.baseUrl });
    const onStderr = (data: string): void => {
      stderrTail = (stderrTail + data).slice(-2_000);
      input.logger.debug({ stderr: data.trimEnd() }, 'claude stderr');
    };
    // A spare is claimed only by an agent with a sandbox (its tools); a judge's session has none and starts cold.
    const session = input.spare && input.sandbox
      ? input.spare.claim({ prompt: input.prompt, cwd: input.hostWorkingDirectory, mcpServer: input.sandbox.mcpServer, model: input.model.model, signal: abortController.signal, onStderr })
      : query({
          prompt: input.prompt,
          options: {
            ...hostLevelOptions({ ...input, onStderr, onProcess: input.onProcess }),
            cwd: input.hostWorkingDirectory,
            ...(input.sandbox ? sandboxToolOptions(input.sandbox.mcpServer) : noToolOptions()),
            ...(input.maxBudgetUsd ? { maxBudgetUsd: input.maxBudgetUsd } : {}),
            ...(input.model.model ? { model: input.model.model } : {}),
            ...(input.resumeSessionId ? { resume: input.resumeSessionId } : {}),
            abortController,
            env: environment,
          },
        });
    const finished = (message: SDKMessage): void => {
      if (message.type === 'result') input.spare?.end();
    };
    for await (const message of session as AsyncIterable<SDKMessage>) {
      releaseStartup?.();
      if (!sessionId && 'session_id' in message && typeof message.session_id === 'string') sessionId = message.session_id;
      const totals = tally.add(message as Parameters<UsageTally['add']>[0]);
      if (totals) input.onUsage?.(totals);
      for (const item of toAgentMessages(message as { type: string; message?: { content?: unknown } })) {
        if (item.type === 'text' && item.text) lastText = item.text;
        record(item);
      }
      if (message.type === 'result') result = message;
      finished(message);
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'spare_refused' && !abortController.signal.aborted && input.spare) {
      // Nothing of the agent ran in the spare: it starts cold, as without a pool.
      input.logger.warn({ err: error }, 'the warm session was refused; the agent starts cold');
      clearTimeout(timeout);
      input.signal?.removeEventListener('abort', onAbort);
      releaseStartup?.();
      const { spare: _refused, ...cold } = input;
      return runAgentSession(cold);
    }
    const reason = abortController.signal.reason;
    const text =
      abortController.signal.aborted && reason instanceof Error && reason.message === 'timeout'
        ? `the agent timed out after ${input.timeoutMs} ms`
        : abortController.signal.aborted && reason instanceof AgentStop
          ? reason.message
          : abortController.signal.aborted
          ? 'the agent was cancelled'
          : `the agent session failed: ${(error as Error).message}${stderrTail ? ` (${stderrTail.trim().split('\n').pop()})` : ''}`;
    input.logger.warn({ err: error }, text);
    return finish('error', lastText, text);
  } finally {
    releaseStartup?.();
    clearTimeout(timeout);
    input.signal?.removeEventListener('abort', onAbort);
  }

  if (!result) return finish('error', lastText, 'the agent ended without a result');
  if (result.is_error || result.subtype !== 'success') return finish('error', lastText, resultError(result));
  return finish('success', result.result || lastText);

  function finish(status: 'success' | 'error', output: string, error?: string): AgentOutcome {
    record({ type: 'result', text: error ?? output });
    return {
      status,
      output,
      ...(error ? { error } : {}),
      messages,
      // Without the SDK's result (a cancel, a crash) the streamed tally is the best account of what was spent.
      usage: result ? { input_tokens: result.usage.input_tokens, output_tokens: result.usage.output_tokens } : tally.totals().usage,
      cost_usd: result?.total_cost_usd ?? tally.totals().cost_usd,
      duration_ms: result?.duration_ms ?? Date.now() - started,
      num_turns: result?.num_turns ?? tally.totals().num_turns,
      ...(sessionId ? { session_id: sessionId } : {}),
    };
  }
}
