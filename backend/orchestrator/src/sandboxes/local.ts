// The `local` runtime: the agent's `claude mcp serve` runs as a plain child process in its worktree (no isolation; for development and machines without Docker).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Config } from '../config.ts';
import { runToOutcome } from '../process/run-cli.ts';
import { SandboxError, type CommandOptions, type CommandOutcome, type Sandbox, type SandboxRequest, type SandboxRuntime, type RuntimeCheck } from './runtime.ts';

export interface LocalRuntimeOptions {
  claudeExecutable: string;
  /** PATH given to the agent's tools. */
  searchPath: string;
}

/** Marks the MCP server's process so `stop()` and the start-up reaper find it even though the SDK spawned it. */
const MARKER = 'MULTICLAUDE_SANDBOX';

/** Processes carrying the marker, with the marker's value (`<run id>/agent-<n>`). */
async function markedProcesses(): Promise<Array<{ pid: number; marker: string }>> {
  const found: Array<{ pid: number; marker: string }> = [];
  const prefix = `${MARKER}=`;
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const environment = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    const variable = environment.split('\0').find((line) => line.startsWith(prefix));
    if (variable) found.push({ pid: Number(entry), marker: variable.slice(prefix.length) });
  }
  return found;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** How often the local tool server is looked for: reading every process's environment costs a few ms. */
const WATCH_INTERVAL_MS = 1_000;

/**
 * The local tool server is claude's child, so its exit status is claude's to see; what shows here is a
 * second server appearing for the same agent after the first vanished, which is Claude Code replacing a
 * server that died while in use (at a normal end none is started again).
 */
function watchToolServer(marker: string, onDeath: (reason: string) => void): () => void {
  let first: number | undefined;
  const timer = setInterval(() => {
    void markedProcesses().then((found) => {
      const pids = found.filter((process) => process.marker === marker).map((process) => process.pid);
      if (first === undefined) first = pids[0];
      else if (!pids.includes(first) && pids.length > 0) {
        clearInterval(timer);
        onDeath(`its tool server (pid ${first}) died and Claude Code started another`);
      }
    });
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export class LocalRuntime implements SandboxRuntime {
  readonly name = 'local';
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

  diagnostics(): Record<string, never> {
    return {};
  }

  async reapStale(isRunLive: (runId: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const { pid, marker } of await markedProcesses()) {
      const runId = marker.split('/')[0] ?? '';
      if (isRunLive(runId)) continue;
      kill(pid);
      removed.push(`pid ${pid} (${marker})`);
    }
    return removed;
  }

  async runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome> {
    const home = request.agent.sandboxHome;
    await mkdir(home, { recursive: true });
    return runToOutcome('bash', ['-c', command], {
      cwd: request.agent.worktree,
      // As for the agent's tools: no secret of the orchestrator's reaches the command.
      env: { PATH: this.#options.searchPath, HOME: home, LANG: 'C.UTF-8' },
      timeoutMs: options.timeoutMs,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(options.tailBytes ? { tailBytes: options.tailBytes } : {}),
    });
  }

  async start(request: SandboxRequest): Promise<Sandbox> {
    const home = request.agent.sandboxHome;
    try {
      await mkdir(home, { recursive: true });
    } catch (error) {
      throw new SandboxError('sandbox_setup_failed', `could not prepare the sandbox home ${home}`, { cause: error });
    }
    const marker = `${request.run.runId}/agent-${request.agent.agentId}`;
    // `env -i` so no secret of the orchestrator's reaches the agent's tools; `-C` starts the server in
    // the worktree, which a stdio MCP config cannot say.
    const args = [
      '-i',
      '-C',
      request.agent.worktree,
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
      workingDirectory: request.agent.worktree,
      watch: (onDeath) => watchToolServer(marker, onDeath),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        // The SDK normally ends the server with its session; this reaps one left behind by a crash.
        for (const process of await markedProcesses()) if (process.marker === marker) kill(process.pid);
      },
    };
  }
}

export function createLocalRuntime(config: Config, searchPath: string): LocalRuntime {
  return new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath });
}
