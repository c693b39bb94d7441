// The sandbox runtime interface: where an agent's tools run (a stdio MCP server the Claude Agent SDK starts), how a check runs beside them, and what a runtime reports about itself.
import type { Logger } from 'pino';
import type { AgentPaths, RunPaths } from '../workspace/layout.ts';
import type { SandboxUser } from './sandbox-users.ts';

/** What a runtime needs to give one agent a sandbox. Paths are as the orchestrator sees them (WORKSPACE_LOCAL). */
export interface SandboxRequest {
  run: RunPaths;
  agent: AgentPaths;
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
  /** The user the agent's repository belongs to while the sandbox holds it (undefined: this process's own). */
  readonly user: SandboxUser | undefined;
  /** Stops everything this sandbox started; the repository stays the sandbox user's until release(). Idempotent, never throws. */
  stop(): Promise<void>;
  /** After stop() and the import: takes the agent's repository back from the sandbox user and frees that user. Idempotent, never throws. */
  release(): Promise<void>;
  /** Why the sandbox ended abnormally (out of memory, early exit), if the runtime can tell; for agent errors. */
  describeExit?(): Promise<string | undefined>;
  /**
   * Calls `onDeath` with the reason when the sandbox dies abnormally while the agent works (killed, out of
   * memory, a non-zero exit): Claude Code would otherwise start its tool server again and go on with what
   * lived in the old one lost. Returns the function that stops watching (before a normal stop).
   */
  watch?(onDeath: (reason: string) => void): () => void;
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
  /**
   * Whether the command may reach the network: only the run's setup step (dependencies, before any agent
   * starts) asks. Docker gives it the default bridge; the local runtime has no network isolation either way.
   */
  network?: boolean;
}

/** One fact-finding check for /diagnostics: a status (ok unless said) and whatever facts it found. */
export type DiagnosticFacts = { status?: 'ok' | 'warning' | 'error'; error?: string; [fact: string]: unknown };
export type DiagnosticCheck = (signal: AbortSignal) => Promise<DiagnosticFacts>;

export interface SandboxRuntime {
  /** As AGENT_RUNTIME names it. */
  readonly name: string;
  /** Prepares a sandbox for one agent; the SDK starts its MCP server. */
  start(request: SandboxRequest): Promise<Sandbox>;
  /** Runs a shell command in a fresh sandbox over the agent's repository, with the same isolation as its tools (a user of its own and, only when asked, a network). */
  runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome>;
  /** Whether this runtime can start sandboxes now (for /ready and AGENT_RUNTIME=auto). */
  check(signal?: AbortSignal): Promise<RuntimeCheck>;
  /**
   * Removes sandboxes a dead orchestrator left (containers, processes) whose run is not live; for
   * start-up. Returns what it removed. Never throws: nothing reachable means nothing to clean.
   */
  reapStale(isRunLive: (runId: string) => boolean, signal?: AbortSignal): Promise<string[]>;
  /** The runtime's own named checks for /diagnostics (e.g. the Docker engine and image). */
  diagnostics(): Record<string, DiagnosticCheck>;
  /** Releases what the runtime keeps ready between runs (the kubernetes runtime's warm pods), at shutdown. Never throws. */
  close?(): Promise<void>;
}

/** A sandbox that could not be prepared; the message is shown to the user as the agent's error. */
export class SandboxError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxError';
    this.code = code;
  }
}
