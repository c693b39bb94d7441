// The `local` runtime: the agent's `claude mcp serve` runs as a child process over its own repository — as root's orchestrator, under an unprivileged user of its own in a PID namespace of its own; otherwise as the orchestrator's user, with minimal isolation.
//
// As root, each sandbox is `env -i … unshare --pid --fork --kill-child --mount-proc -- setpriv --reuid U
// --regid U --clear-groups --no-new-privs --pdeathsig KILL -- claude mcp serve`: no variable of the
// orchestrator's, a uid that owns only the agent's repository and sandbox HOME (0700) and is in no group
// (no Docker socket), and a PID namespace whose every process the kernel kills when its first one (the
// MCP server) dies — which happens when the sandbox is stopped, and when the SDK's `claude` ends (the
// server exits at the end of its stdin), also when the orchestrator is SIGKILLed (claude dies with it,
// claude-process.ts). Not PR_SET_PDEATHSIG on the server's outermost process: it fires when the *thread*
// that spawned it exits, and claude spawns from threads that come and go (servers died mid-session).
// /proc inside shows only the sandbox's own processes. Not isolated: the network, the machine's files readable by everyone, CPU
// and memory (no limits), the kernel.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import type { Config } from '../config.ts';
import { runToOutcome } from '../process/run-cli.ts';
import { SandboxError, type CommandOptions, type CommandOutcome, type Sandbox, type SandboxRequest, type SandboxRuntime, type RuntimeCheck } from './runtime.ts';
import { DEFAULT_UID_RANGE, SandboxUsers, allowPassage, handRepositoryTo, makeUserDirectory, takeRepositoryBack, type SandboxUser, type UidRange } from './sandbox-users.ts';

export interface LocalRuntimeOptions {
  claudeExecutable: string;
  /** PATH given to the agent's tools. */
  searchPath: string;
  /** Users for the sandboxes when the orchestrator runs as root (SANDBOX_UID_RANGE). */
  uidRange?: UidRange;
  /**
   * The workspace this orchestrator owns (WORKSPACE_LOCAL). Its markers carry a tag of it, so the start-up
   * reaper removes only this workspace's tool servers, never those of another orchestrator on the machine.
   */
  workspaceRoot: string;
}

/** Marks the MCP server's process so `stop()` and the start-up reaper find it even though the SDK spawned it. */
const MARKER = 'MULTICLAUDE_SANDBOX';
const SETPRIV = '/usr/bin/setpriv';
const UNSHARE = '/usr/bin/unshare';
const ENV = '/usr/bin/env';
const EXIT_WAIT_MS = 5_000;

/** Processes carrying the marker, with the marker's value (`<workspace tag>:<run id>/agent-<n>[/check]`). */
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

/** Kills every process with this marker and waits (briefly) until none is left, so the repository is quiescent. */
async function killMarked(marker: string): Promise<void> {
  const deadline = Date.now() + EXIT_WAIT_MS;
  for (;;) {
    const left = (await markedProcesses()).filter((process) => process.marker === marker);
    if (left.length === 0 || Date.now() > deadline) return;
    for (const process of left) kill(process.pid);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Where a namespaced sandbox sees its repository and HOME: a tmpfs over /mnt in its own mount namespace. */
export const NAMESPACED_WORKSPACE = '/mnt/workspace';
export const NAMESPACED_HOME = '/mnt/home';

/**
 * Run as root inside the new namespaces, before the user changes: hides /mnt under a tmpfs holding only
 * the agent's repository and HOME (bind mounts, so the sandbox user needs no way through the workspace's
 * parents, and sees no other run or agent), then execs the rest of its arguments there.
 */
const MOUNT_SCRIPT = [
  'set -e',
  'mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev multiclaude /mnt',
  `mkdir ${NAMESPACED_WORKSPACE} ${NAMESPACED_HOME}`,
  `mount --bind -- "$1" ${NAMESPACED_WORKSPACE}`,
  `mount --bind -- "$2" ${NAMESPACED_HOME}`,
  `cd ${NAMESPACED_WORKSPACE}`,
  'shift 2',
  'exec "$@"',
].join('\n');

export interface LocalSandboxCommand {
  /** The agent's repository and HOME, as the orchestrator sees them. */
  directory: string;
  home: string;
  marker: string;
  searchPath: string;
  user: SandboxUser | undefined;
  /** Whether to give the sandbox PID and mount namespaces (root only): then it sees its repository at /mnt/workspace. */
  namespaces: boolean;
  command: readonly string[];
}

/** The `env` arguments that start `command` in a local sandbox (see the header); pure, for tests. */
export function localSandboxArguments(input: LocalSandboxCommand): string[] {
  return [
    '-i',
    '-C',
    input.directory,
    `PATH=${input.searchPath}`,
    `HOME=${input.namespaces ? NAMESPACED_HOME : input.home}`,
    'LANG=C.UTF-8',
    `${MARKER}=${input.marker}`,
    'DISABLE_AUTOUPDATER=1',
    'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1',
    ...(input.namespaces
      ? [UNSHARE, '--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc', '--', '/bin/sh', '-c', MOUNT_SCRIPT, 'sandbox', input.directory, input.home]
      : []),
    ...(input.user
      ? [SETPRIV, `--reuid=${input.user.uid}`, `--regid=${input.user.gid}`, '--clear-groups', '--no-new-privs', '--pdeathsig', 'KILL', '--']
      : []),
    ...input.command,
  ];
}

export class LocalRuntime implements SandboxRuntime {
  readonly name = 'local';
  readonly #options: LocalRuntimeOptions;
  /** Present when this process is root: then every sandbox gets a user of its own. */
  readonly #users: SandboxUsers | undefined;
  #namespaces: Promise<boolean> | undefined;
  /** A short tag of the workspace, in every marker: which orchestrator's sandbox a process is. */
  readonly #workspaceTag: string;

  constructor(options: LocalRuntimeOptions) {
    this.#options = options;
    this.#workspaceTag = createHash('sha256').update(path.resolve(options.workspaceRoot)).digest('hex').slice(0, 12);
    this.#users = process.getuid?.() === 0 ? new SandboxUsers(options.uidRange ?? DEFAULT_UID_RANGE) : undefined;
  }

  /** Whether this machine lets us make PID namespaces (root outside a restricted container); probed once. */
  #canUseNamespaces(): Promise<boolean> {
    this.#namespaces ??= this.#users
      ? execa(UNSHARE, ['--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc', '--', '/bin/sh', '-c', MOUNT_SCRIPT, 'probe', '/', '/', 'true'], {
          timeout: 10_000,
          stdin: 'ignore',
        }).then(
          () => true,
          () => false,
        )
      : Promise.resolve(false);
    return this.#namespaces;
  }

  /** What this runtime isolates on this machine, in a sentence (for check() and the logs). */
  async #isolation(): Promise<string> {
    if (!this.#users) return 'minimal isolation: not root, so agents run as the orchestrator’s own user';
    const range = this.#options.uidRange ?? DEFAULT_UID_RANGE;
    const namespaces = (await this.#canUseNamespaces())
      ? 'PID and mount namespaces each (the repository at /mnt/workspace)'
      : 'no namespaces (unshare refused), so the workspace must be reachable by sandbox users';
    return `a user of its own per agent (${range.first}-${range.last}), ${namespaces}`;
  }

  async check(signal?: AbortSignal): Promise<RuntimeCheck> {
    try {
      const { stdout } = await execa(this.#options.claudeExecutable, ['--version'], {
        timeout: 15_000,
        cancelSignal: signal,
        env: { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
      });
      return { ok: true, detail: `local runtime, claude ${stdout.trim()}; ${await this.#isolation()}` };
    } catch (error) {
      return { ok: false, detail: `claude CLI not usable at ${this.#options.claudeExecutable}: ${(error as Error).message}` };
    }
  }

  diagnostics() {
    return { local_isolation: async () => ({ detail: await this.#isolation() }) };
  }

  async reapStale(isRunLive: (runId: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    const own = `${this.#workspaceTag}:`;
    for (const { pid, marker } of await markedProcesses()) {
      if (!marker.startsWith(own)) continue; // another orchestrator's sandbox
      const runId = marker.slice(own.length).split('/')[0] ?? '';
      if (isRunLive(runId)) continue;
      kill(pid);
      removed.push(`pid ${pid} (${marker})`);
    }
    return removed;
  }

  /** Gives the agent's repository and sandbox HOME to a user of their own (as root), and says how to start a command there. */
  async #prepare(
    request: SandboxRequest,
    marker: string,
  ): Promise<{ user: SandboxUser | undefined; workingDirectory: string; args: (command: readonly string[]) => string[] }> {
    const { agent, run } = request;
    const user = this.#users?.allocate();
    try {
      if (user) {
        // Bind-mounted into the namespace by root; without one, the user must find its way there itself.
        const namespaced = await this.#canUseNamespaces();
        if (!namespaced) await allowPassage(agent.worktree, run.workspaceRoot);
        await handRepositoryTo(agent.worktree, user, request.signal);
        await makeUserDirectory(agent.sandboxHome, namespaced ? undefined : run.workspaceRoot, user);
        await handRepositoryTo(agent.sandboxHome, user, request.signal);
      } else {
        await mkdir(agent.sandboxHome, { recursive: true, mode: 0o700 });
      }
    } catch (error) {
      this.#users?.release(user);
      if (error instanceof SandboxError) throw error;
      throw new SandboxError('sandbox_setup_failed', `could not prepare the sandbox of ${agent.relativeWorktree}: ${(error as Error).message}`, { cause: error });
    }
    const namespaces = await this.#canUseNamespaces();
    const base = { directory: agent.worktree, home: agent.sandboxHome, marker, searchPath: this.#options.searchPath, user, namespaces };
    return { user, workingDirectory: namespaces ? NAMESPACED_WORKSPACE : agent.worktree, args: (command) => localSandboxArguments({ ...base, command }) };
  }

  async #release(request: SandboxRequest, user: SandboxUser | undefined): Promise<void> {
    if (!user) return;
    await takeRepositoryBack(request.agent.worktree);
    await takeRepositoryBack(request.agent.sandboxHome);
    this.#users?.release(user);
  }

  async runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome> {
    const marker = `${this.#workspaceTag}:${request.run.runId}/agent-${request.agent.agentId}/check`;
    const { user, args } = await this.#prepare(request, marker);
    try {
      return await runToOutcome(ENV, args(['bash', '-c', command]), {
        env: {},
        timeoutMs: options.timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(options.tailBytes ? { tailBytes: options.tailBytes } : {}),
      });
    } finally {
      await killMarked(marker);
      await this.#release(request, user);
    }
  }

  async start(request: SandboxRequest): Promise<Sandbox> {
    const marker = `${this.#workspaceTag}:${request.run.runId}/agent-${request.agent.agentId}`;
    const { user, workingDirectory, args } = await this.#prepare(request, marker);
    request.logger.info({ user: user ? `${user.uid}:${user.gid}` : 'orchestrator', isolation: await this.#isolation() }, 'local sandbox prepared');
    let stopped: Promise<void> | undefined;
    let released: Promise<void> | undefined;
    return {
      mcpServer: { type: 'stdio', command: ENV, args: args([this.#options.claudeExecutable, 'mcp', 'serve']), env: {} },
      workingDirectory,
      user,
      // The SDK normally ends the server with its session; this kills whatever is left of the sandbox.
      stop: () => (stopped ??= killMarked(marker)),
      release: () => (released ??= (async () => {
        await stopped;
        await this.#release(request, user);
      })()),
    };
  }
}

export function createLocalRuntime(config: Config, searchPath: string): LocalRuntime {
  return new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath, uidRange: config.sandbox.uidRange, workspaceRoot: config.workspaceLocal });
}
