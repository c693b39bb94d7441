// One warm spare: a `claude` process started ahead of its agent with the Agent SDK's prewarm(), holding no run's secret (its model token is a reservation the proxy refuses until a claim activates it), then bound to its agent with claim().
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { prewarm, type Query, type SDKMessage, type SDKUserMessage, type SpareProcess } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { TokenReservation } from '../model-proxy/agent-grants.ts';
import type { ModelAccess } from '../model-proxy/model-proxy.ts';
import type { Sandbox } from '../sandboxes/runtime.ts';
import { hostLevelOptions, sandboxServerConfig, sessionEnvironment, toolPolicyOptions, SANDBOX_SERVER_NAME, type ClaimedSpare } from './agent-session.ts';

export interface SpareSettings {
  modelAccess: ModelAccess;
  claudeExecutable: string;
  maxTurns: number;
  searchPath: string;
  runningAsRoot: boolean;
  /** Told each spare's pid (the memory footprint); returns what to call at its exit. */
  onProcess?: (pid: number) => () => void;
  /** How long a spare may take to start. */
  startTimeoutMs?: number;
}

/** The claim was refused or broke before the prompt was sent: the agent starts cold instead (nothing of it ran). */
export class SpareRefused extends Error {
  readonly code = 'spare_refused';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpareRefused';
  }
}

/** The single user message of an agent's session, fed to a claimed spare once its tools are connected. */
class PromptFeed implements AsyncIterable<SDKUserMessage> {
  readonly #queue: SDKUserMessage[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(text: string): void {
    this.#queue.push({ type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null });
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SDKUserMessage> {
    for (;;) {
      const next = this.#queue.shift();
      if (next) yield next;
      else if (this.#ended) return;
      else await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

export class WarmSpare implements ClaimedSpare {
  readonly token: TokenReservation;
  /** The spare's own HOME; its Claude config dir (CLAUDE_CONFIG_DIR, fixed at start-up) is `.claude` inside. */
  readonly directory: string;
  readonly startedAt = Date.now();
  readonly #spare: SpareProcess;
  readonly #abort: AbortController;
  readonly #stderr: { sink: (text: string) => void };
  readonly #feed = new PromptFeed();
  #claimed = false;

  private constructor(spare: SpareProcess, token: TokenReservation, directory: string, abort: AbortController, stderr: { sink: (text: string) => void }) {
    this.#spare = spare;
    this.token = token;
    this.directory = directory;
    this.#abort = abort;
    this.#stderr = stderr;
  }

  get configDirectory(): string {
    return path.join(this.directory, '.claude');
  }

  /** Settles when the spare's process exits, claimed or not. */
  get exited(): Promise<void> {
    return this.#spare.exited;
  }

  /** Starts a spare in `directory` (made here, removed by close() or handOver()). */
  static async start(settings: SpareSettings, directory: string, logger: Logger): Promise<WarmSpare> {
    const configDirectory = path.join(directory, '.claude');
    await mkdir(configDirectory, { recursive: true });
    const token = settings.modelAccess.reserve();
    const abort = new AbortController();
    const stderr = { sink: (text: string) => logger.debug({ stderr: text.trimEnd() }, 'spare claude stderr') };
    try {
      const spare = await prewarm({
        options: {
          ...hostLevelOptions({ ...settings, onStderr: (text) => stderr.sink(text) }),
          ...toolPolicyOptions(),
          abortController: abort,
          env: sessionEnvironment({ ...settings, configDirectory, apiKey: token.token, baseUrl: settings.modelAccess.url }),
        },
        initializeTimeoutMs: settings.startTimeoutMs ?? 60_000,
      });
      return new WarmSpare(spare, token, directory, abort, stderr);
    } catch (error) {
      token.discard();
      abort.abort();
      await rm(directory, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Binds the spare to its agent: the claim (working directory, model), then the sandbox's tool server,
   * then the prompt, so the first turn has the tools. Throws SpareRefused, before anything ran, when the
   * process refuses the claim or the tools do not connect.
   */
  claim(input: { prompt: string; cwd: string; mcpServer: Sandbox['mcpServer']; model: string | undefined; signal: AbortSignal; onStderr: (text: string) => void }): AsyncIterable<SDKMessage> {
    if (this.#claimed) throw new Error('a warm spare is claimed once');
    this.#claimed = true;
    this.#stderr.sink = input.onStderr;
    const abort = (): void => this.#abort.abort(input.signal.reason);
    if (input.signal.aborted) abort();
    else input.signal.addEventListener('abort', abort, { once: true });
    const query = this.#spare.claim({
      prompt: this.#feed,
      options: { cwd: input.cwd, permissionMode: 'bypassPermissions', ...(input.model ? { model: input.model } : {}) },
    });
    const feed = this.#feed;
    const spare = this.#spare;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          await connect(spare, query, input.mcpServer);
        } catch (error) {
          feed.end();
          query.close();
          throw error instanceof SpareRefused ? error : new SpareRefused(`the warm session could not be claimed: ${(error as Error).message}`, { cause: error });
        }
        feed.push(input.prompt);
        try {
          yield* query;
        } finally {
          input.signal.removeEventListener('abort', abort);
        }
      },
    };
  }

  end(): void {
    this.#feed.end();
  }

  /** After the agent's session: its transcript moves to the agent's own config dir (a follow-up resumes it there); the spare's directory goes. */
  async handOver(agentConfigDirectory: string): Promise<void> {
    await this.#stop();
    await mkdir(agentConfigDirectory, { recursive: true });
    await cp(this.configDirectory, agentConfigDirectory, { recursive: true, force: true, verbatimSymlinks: true }).catch(() => undefined);
    await rm(this.directory, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Discards an unclaimed spare: its process ends (within the SDK's grace period, then killed), its token and directory go. */
  async close(): Promise<void> {
    await this.#stop();
    await rm(this.directory, { recursive: true, force: true }).catch(() => undefined);
  }

  async #stop(): Promise<void> {
    this.token.discard();
    this.#feed.end();
    try {
      this.#spare.close();
    } catch {
      // already gone
    }
    this.#abort.abort();
    await Promise.race([this.#spare.exited.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  }
}

/** Waits for the claim's answer, then connects the sandbox's tool server; refusals become SpareRefused. */
async function connect(spare: SpareProcess, query: Query, mcpServer: Sandbox['mcpServer']): Promise<void> {
  try {
    await spare.claimed;
  } catch (error) {
    // option_not_applied: the session runs, only the model was not taken; anything else and nothing ran.
    if (!(error as Error).message.startsWith('option_not_applied')) throw new SpareRefused(`the warm session refused the claim: ${(error as Error).message}`, { cause: error });
  }
  const result = await query.setMcpServers({ [SANDBOX_SERVER_NAME]: sandboxServerConfig(mcpServer) });
  const failure = result.errors[SANDBOX_SERVER_NAME];
  if (failure) throw new SpareRefused(`the sandbox's tool server did not connect to the warm session: ${failure}`);
}
