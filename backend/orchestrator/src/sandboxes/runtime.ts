// The sandbox runtime interface: where an agent's tools run, as a stdio MCP server the Claude Agent SDK starts.
import type { Logger } from 'pino';

/** What a runtime needs to give one agent a sandbox. Paths are as the orchestrator sees them (WORKSPACE_LOCAL). */
export interface SandboxRequest {
  runId: string;
  agentId: number;
  /** Absolute path of the run repository (holds `.git`). */
  runDirectory: string;
  /** Absolute path of this agent's worktree. */
  worktreePath: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** The stdio MCP server the SDK spawns: the agent's only tools. */
export interface McpStdioServer {
  type: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface Sandbox {
  /** The MCP server that runs the agent's tools inside this sandbox. */
  readonly mcpServer: McpStdioServer;
  /** The working directory the agent's tools see; the prompt names this one. */
  readonly workingDirectory: string;
  /** Stops everything this sandbox started. Idempotent, never throws. */
  stop(): Promise<void>;
  /** Why the sandbox ended abnormally (out of memory, early exit), if the runtime can tell; for agent errors. */
  describeExit?(): Promise<string | undefined>;
}

export interface RuntimeCheck {
  ok: boolean;
  detail: string;
}

/** What a command run in a sandbox did. */
export interface CommandOutcome {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Standard output and error, interleaved, cut to the last part. */
  outputTail: string;
}

export interface CommandOptions {
  timeoutMs: number;
  /** How much of the output's end to keep. */
  tailBytes?: number;
}

export interface SandboxRuntime {
  readonly name: 'local' | 'docker';
  /** Prepares a sandbox for one agent; the SDK starts its MCP server. */
  start(request: SandboxRequest): Promise<Sandbox>;
  /** Runs a shell command in a fresh sandbox over the agent's worktree, with the same isolation as its tools. */
  runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome>;
  /** Whether this runtime can start sandboxes now (for /ready). */
  check(signal?: AbortSignal): Promise<RuntimeCheck>;
}

/** A sandbox that could not be prepared; the message is shown to the user as the agent's error. */
export function tail(text: string, bytes = 4_000): string {
  return text.length > bytes ? `…${text.slice(-bytes)}` : text;
}

export class SandboxError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxError';
    this.code = code;
  }
}
