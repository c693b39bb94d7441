// The `local` runtime: the agent's `claude mcp serve` runs as a plain child process in its worktree (no isolation; for development and machines without Docker).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SandboxError, tail, type CommandOptions, type CommandOutcome, type Sandbox, type SandboxRequest, type SandboxRuntime, type RuntimeCheck } from './runtime.ts';
import { execa } from 'execa';

export interface LocalRuntimeOptions {
  claudeExecutable: string;
  /** PATH given to the agent's tools. */
  searchPath: string;
  /** Where each agent's sandbox HOME is made, given the run directory. */
  homeFor?: (request: SandboxRequest) => string;
}

/** Marks the MCP server's process so `stop()` finds it even though the SDK spawned it. */
const MARKER = 'MULTICLAUDE_SANDBOX';

async function findMarkedProcesses(marker: string): Promise<number[]> {
  const pids: number[] = [];
  const needle = Buffer.from(`${MARKER}=${marker}\0`);
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const environment = await readFile(`/proc/${entry}/environ`).catch(() => null);
    if (environment && Buffer.concat([environment, Buffer.from('\0')]).includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

export class LocalRuntime implements SandboxRuntime {
  readonly name = 'local' as const;
  readonly #options: LocalRuntimeOptions;

  constructor(options: LocalRuntimeOptions) {
    this.#options = options;
  }

  async check(signal?: AbortSignal): Promise<RuntimeCheck> {
    try {
      const { stdout } = await execa(this.#options.claudeExecutable, ['--version'], {
        timeout: 15_000,
        cancelSignal: signal,
        env: { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
      });
      return { ok: true, detail: `local runtime, claude ${stdout.trim()}` };
    } catch (error) {
      return { ok: false, detail: `claude CLI not usable at ${this.#options.claudeExecutable}: ${(error as Error).message}` };
    }
  }

  #home(request: SandboxRequest): string {
    return (
      this.#options.homeFor?.(request) ??
      path.join(request.runDirectory, '.multiclaude', 'agents', `agent-${request.agentId}`, 'sandbox-home')
    );
  }

  async runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome> {
    const home = this.#home(request);
    await mkdir(home, { recursive: true });
    const started = Date.now();
    const result = await execa('bash', ['-c', command], {
      cwd: request.worktreePath,
      // As for the agent's tools: no secret of the orchestrator's reaches the command.
      env: { PATH: this.#options.searchPath, HOME: home, LANG: 'C.UTF-8' },
      extendEnv: false,
      timeout: options.timeoutMs,
      cancelSignal: request.signal,
      stdin: 'ignore',
      all: true,
      reject: false,
      killSignal: 'SIGKILL',
      forceKillAfterDelay: 2_000,
    });
    return {
      exitCode: result.timedOut ? null : (result.exitCode ?? null),
      timedOut: Boolean(result.timedOut),
      durationMs: Date.now() - started,
      outputTail: tail(result.all ?? '', options.tailBytes),
    };
  }

  async start(request: SandboxRequest): Promise<Sandbox> {
    const home = this.#home(request);
    try {
      await mkdir(home, { recursive: true });
    } catch (error) {
      throw new SandboxError('sandbox_setup_failed', `could not prepare the sandbox home ${home}`, { cause: error });
    }
    const marker = `${request.runId}/agent-${request.agentId}`;
    // `env -i` so no secret of the orchestrator's reaches the agent's tools; `-C` starts the server in
    // the worktree, which a stdio MCP config cannot say.
    const args = [
      '-i',
      '-C',
      request.worktreePath,
      `PATH=${this.#options.searchPath}`,
      `HOME=${home}`,
      `LANG=C.UTF-8`,
      `${MARKER}=${marker}`,
      'DISABLE_AUTOUPDATER=1',
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1',
      this.#options.claudeExecutable,
      'mcp',
      'serve',
    ];
    let stopped = false;
    return {
      mcpServer: { type: 'stdio', command: 'env', args, env: {} },
      workingDirectory: request.worktreePath,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        // The SDK normally ends the server with its session; this reaps one left behind by a crash.
        for (const pid of await findMarkedProcesses(marker)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      },
    };
  }
}
