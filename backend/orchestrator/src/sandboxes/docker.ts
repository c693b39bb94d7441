// The `docker` runtime: each agent's tools run as `claude mcp serve` in its own hardened, network-less container.
//
// Life of a sandbox: start() prepares ownership, then `docker create`s the container (docker-spec.ts
// says how it is hardened and mounted), so a missing image, a bad mount or an unreachable engine is a
// SandboxError right away, with Docker's own words, rather than an MCP server that silently fails to
// connect. The SDK then spawns `docker start --attach --interactive <name>` as the agent's stdio MCP
// server. stop() reads the container's final state and removes it (`docker rm -f`, idempotent).
//
// Early exit and OOM: the SDK owns the MCP process, so when an agent fails the caller asks the
// sandbox: `(sandbox as DockerSandbox).describeExit()` gives e.g. "the sandbox ran out of memory and the
// kernel killed a process in it (limit 2g; ...)", or undefined when the container ended normally. It works
// before and after stop(); that is why the container is not `--rm`.
//
// Ownership: when the orchestrator is not root the container runs as the orchestrator's uid:gid, so
// both sides own the same files. When it is root, each container (agent or check) runs as a user of its
// own from SANDBOX_UID_RANGE, which owns the agent's repository while the container lives; the host
// reads the repository as that user (agent-import.ts) and then takes it back (sandbox-users.ts).
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { commandHelper } from '../process/commands.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { runCli, runToOutcome, type CliResult } from '../process/run-cli.ts';
import {
  SandboxError,
  type CommandOptions,
  type CommandOutcome,
  type DiagnosticCheck,
  type RuntimeCheck,
  type Sandbox,
  type SandboxRequest,
  type SandboxRuntime,
} from './runtime.ts';
import { SandboxUsers, claimRepository, returnRepository, type SandboxUser, type UidRange } from './sandbox-users.ts';
import { buildDockerRunArgs, containerName, LABEL_MANAGED, LABEL_RUN_ID, LABEL_WORKSPACE, CONTAINER_WORKSPACE } from './docker-spec.ts';

export interface DockerRuntimeOptions {
  image: string;
  /** WORKSPACE_LOCAL: where this process sees the workspace. */
  workspaceLocal: string;
  /** WORKSPACE_PATH: where the Docker engine sees it. */
  workspacePath: string;
  memory: string;
  cpus: string;
  pidsLimit: number;
  /** Each container's own user when the orchestrator runs as root (SANDBOX_UID_RANGE). */
  uidRange: UidRange;
  dockerCommand: string;
  logger: Logger;
}

export interface DockerSandbox extends Sandbox {
  readonly containerName: string;
  /** Why the container ended, if abnormally (OOM, non-zero exit, never started); undefined otherwise. */
  describeExit(): Promise<string | undefined>;
}

interface ContainerState {
  Status: string;
  Running: boolean;
  OOMKilled: boolean;
  ExitCode: number;
  Error: string;
}

type DockerResult = CliResult;

const CHECK_TIMEOUT_MS = 15_000;
const CREATE_TIMEOUT_MS = 60_000;
const REMOVE_TIMEOUT_MS = 30_000;
/** Passed to the docker client the SDK spawns, so it talks to the same engine as this process. */
const DOCKER_CLIENT_VARIABLES = ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'];
export const BUILD_HINT = 'run `npm run build:images` (scripts/build-images.sh) to build it';

export function isUnreachable(detail: string): boolean {
  return /ENOENT|Cannot connect to the Docker daemon|error during connect|Is the docker daemon running|timed out|permission denied.*docker\.sock/i.test(
    detail,
  );
}

/** Turns a container's final state into the sentence shown as (part of) the agent's error. */
export function describeContainerState(state: ContainerState | undefined, memory: string): string | undefined {
  if (!state || state.Running) return undefined;
  if (state.OOMKilled) return `the sandbox ran out of memory and the kernel killed a process in it (limit ${memory}; SANDBOX_MEMORY raises it)`;
  const error = state.Error ? `: ${state.Error}` : '';
  if (state.Status === 'created') return `the sandbox container never started${error}`;
  if (state.ExitCode === 0 && !state.Error) return undefined;
  if (state.ExitCode === 137) return `the sandbox container was killed (SIGKILL)${error}`;
  return `the sandbox container exited with code ${state.ExitCode}${error}`;
}

export class DockerRuntime implements SandboxRuntime {
  readonly name = 'docker';
  readonly #options: DockerRuntimeOptions;
  /** Present when this process is root: then every container gets a user of its own. */
  readonly #users: SandboxUsers | undefined;

  constructor(options: DockerRuntimeOptions) {
    this.#options = options;
    this.#users = process.getuid?.() === 0 ? new SandboxUsers(options.uidRange) : undefined;
  }

  #docker(args: string[], timeout: number, signal?: AbortSignal): Promise<DockerResult> {
    return runCli(this.#options.dockerCommand, args, timeout, signal);
  }

  async #engine(signal?: AbortSignal) {
    const result = await this.#docker(['version', '--format', '{{.Server.Version}}'], CHECK_TIMEOUT_MS, signal);
    if (!result.ok) return { ok: false as const, error: `Docker engine not reachable with \`${this.#options.dockerCommand}\`: ${result.detail}` };
    return { ok: true as const, version: result.stdout.trim() };
  }

  async #image(signal?: AbortSignal) {
    const { image, dockerCommand } = this.#options;
    const result = await this.#docker(['image', 'inspect', '--format', '{{.Id}}\t{{.Created}}', image], CHECK_TIMEOUT_MS, signal);
    if (!result.ok) {
      const unreachable = isUnreachable(result.detail);
      const error = unreachable ? `Docker engine not reachable with \`${dockerCommand}\`: ${result.detail}` : `Docker image ${image} is missing: ${BUILD_HINT}`;
      return { ok: false as const, unreachable, error };
    }
    const [id = '', created = ''] = result.stdout.trim().split('\t');
    return { ok: true as const, id: id.replace(/^sha256:/, '').slice(0, 12), created };
  }

  async check(signal?: AbortSignal): Promise<RuntimeCheck> {
    const engine = await this.#engine(signal);
    if (!engine.ok) return { ok: false, detail: engine.error };
    const image = await this.#image(signal);
    if (!image.ok) return { ok: false, detail: image.error };
    return { ok: true, detail: `docker runtime: engine ${engine.version}, image ${this.#options.image} (${image.id})` };
  }

  /** The agent's repository must be a directory (a symlink there would mount whatever it points at). */
  async #checkRepository(request: SandboxRequest): Promise<void> {
    const found = await lstat(request.agent.worktree).catch(() => undefined);
    if (!found?.isDirectory()) {
      throw new SandboxError('sandbox_setup_failed', `${request.agent.relativeWorktree} is not the agent's repository (missing or not a directory)`);
    }
  }

  async #inspectState(name: string): Promise<ContainerState | undefined> {
    const result = await this.#docker(['container', 'inspect', '--format', '{{json .State}}', name], CHECK_TIMEOUT_MS);
    if (!result.ok) return undefined;
    try {
      return JSON.parse(result.stdout) as ContainerState;
    } catch {
      return undefined;
    }
  }

  async #remove(name: string, logger: Logger): Promise<void> {
    const result = await this.#docker(['rm', '--force', '--volumes', name], REMOVE_TIMEOUT_MS);
    if (!result.ok && !/No such container/i.test(result.detail)) {
      logger.warn({ container: name, detail: result.detail }, 'could not remove sandbox container');
    }
  }

  async #create(args: string[], name: string, request: SandboxRequest): Promise<DockerResult> {
    let result = await this.#docker(['create', ...args], CREATE_TIMEOUT_MS, request.signal);
    // A leftover of an earlier attempt for this very run and agent: replace it once.
    if (!result.ok && /Conflict|already in use/i.test(result.detail) && !request.signal?.aborted) {
      request.logger.warn({ container: name }, 'replacing a leftover sandbox container');
      await this.#remove(name, request.logger);
      result = await this.#docker(['create', ...args], CREATE_TIMEOUT_MS, request.signal);
    }
    return result;
  }

  /** Prepares ownership and creates (not starts) a hardened container over the agent's repository (or the run's setup tree, the one with a network). */
  async #createSandboxContainer(request: SandboxRequest, name: string, command?: string[], network = false): Promise<SandboxUser | undefined> {
    if (request.signal?.aborted) throw new SandboxError('cancelled', 'the agent was cancelled before its sandbox started');
    const { image, memory, cpus, pidsLimit, workspaceLocal, workspacePath, dockerCommand } = this.#options;
    await this.#checkRepository(request);
    const { uid, gid, user } = await claimRepository(this.#users, request.agent.worktree, request.signal);
    const args = buildDockerRunArgs({
      image,
      runId: request.run.runId,
      agentId: request.agent.agentId,
      worktreePath: request.agent.worktree,
      workspaceLocal,
      workspacePath,
      uid,
      gid,
      memory,
      cpus,
      pidsLimit,
      name,
      network,
      ...(command ? { command } : {}),
    });

    const created = await this.#create(args, name, request);
    if (!created.ok) {
      // A create cut short by the signal or timeout may still have made the container.
      await this.#remove(name, request.logger);
      await returnRepository(this.#users, request.agent.worktree, user);
      if (/No such image/i.test(created.detail)) {
        throw new SandboxError('image_missing', `Docker image ${image} is missing: ${BUILD_HINT}`);
      }
      if (isUnreachable(created.detail)) {
        throw new SandboxError('docker_unavailable', `Docker engine not reachable with \`${dockerCommand}\`: ${created.detail}`);
      }
      if (request.signal?.aborted) throw new SandboxError('cancelled', 'the agent was cancelled while its sandbox was being created');
      throw new SandboxError('sandbox_start_failed', `could not create the sandbox container ${name}: ${created.detail}`);
    }
    request.logger.info({ container: name, image, user: `${uid}:${gid}`, memory, cpus, pidsLimit }, 'sandbox container created');
    return user;
  }

  async runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome> {
    const name = `${containerName(request.run.runId, request.agent.agentId)}${options.network ? '' : '-check'}`;
    const started = Date.now();
    const user = await this.#createSandboxContainer(request, name, ['bash', '-c', command], options.network ?? false);
    try {
      const outcome = await runToOutcome(this.#options.dockerCommand, ['start', '--attach', name], {
        timeoutMs: options.timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(options.tailBytes ? { tailBytes: options.tailBytes } : {}),
      });
      // The container's creation is part of the check's time.
      return { ...outcome, durationMs: Date.now() - started };
    } finally {
      await this.#remove(name, request.logger);
      await returnRepository(this.#users, request.agent.worktree, user);
    }
  }

  async start(request: SandboxRequest): Promise<DockerSandbox> {
    const { memory, dockerCommand } = this.#options;
    const name = containerName(request.run.runId, request.agent.agentId);
    const user = await this.#createSandboxContainer(request, name);

    const clientEnvironment: Record<string, string> = {};
    for (const variable of DOCKER_CLIENT_VARIABLES) {
      const value = process.env[variable];
      if (value) clientEnvironment[variable] = value;
    }
    let stopping: Promise<void> | undefined;
    let releasing: Promise<void> | undefined;
    let finalState: ContainerState | undefined;
    return {
      containerName: name,
      user,
      release: () => (releasing ??= (async () => {
        await stopping;
        await returnRepository(this.#users, request.agent.worktree, user);
      })()),
      workingDirectory: CONTAINER_WORKSPACE,
      mcpServer: { type: 'stdio', command: dockerCommand, args: ['start', '--attach', '--interactive', name], env: clientEnvironment },
      watch: (onDeath) => this.#watch(name, request, onDeath),
      describeExit: async () => {
        if (!stopping) return describeContainerState(await this.#inspectState(name), memory);
        await stopping;
        return describeContainerState(finalState, memory);
      },
      stop: () => {
        stopping ??= (async () => {
          try {
            finalState = await this.#inspectState(name);
            const exit = describeContainerState(finalState, memory);
            if (exit) request.logger.warn({ container: name }, exit);
            await this.#remove(name, request.logger);
            request.logger.debug({ container: name }, 'sandbox container removed');
          } catch (error) {
            request.logger.warn({ err: error, container: name }, 'sandbox stop failed');
          }
        })();
        return stopping;
      },
    };
  }

  /** Follows the engine's `die` events of the container: an abnormal one is the sandbox's death. */
  #watch(name: string, request: SandboxRequest, onDeath: (reason: string) => void): () => void {
    const events = commandHelper().spawn({
      command: this.#options.dockerCommand,
      args: ['events', '--filter', `container=${name}`, '--filter', 'event=die', '--format', '{{.Actor.Attributes.exitCode}}'],
      env: process.env,
    });
    events.stdin.end();
    let watching = true;
    const lines = createInterface({ input: events.stdout });
    lines.on('line', (exitCode) => {
      if (!watching) return;
      // The tool server ends with 0 when claude closes it at the session's end; anything else is a death.
      void this.#inspectState(name).then((state) => {
        const reason = describeContainerState(state, this.#options.memory) ?? (exitCode.trim() !== '0' ? `the sandbox container exited with code ${exitCode.trim()}` : undefined);
        if (reason && watching) {
          watching = false;
          request.logger.warn({ container: name, reason }, 'sandbox died while the agent worked');
          onDeath(reason);
        }
      });
    });
    return () => {
      watching = false;
      lines.close();
      events.kill('SIGKILL');
    };
  }

  diagnostics(): Record<string, DiagnosticCheck> {
    const { image } = this.#options;
    return {
      docker_engine: async (signal) => {
        const engine = await this.#engine(signal);
        return engine.ok ? { reachable: true, version: engine.version } : { status: 'error', reachable: false, error: engine.error };
      },
      mcp_image: async (signal) => {
        const found = await this.#image(signal);
        if (found.ok) return { image, present: true, id: found.id, created: found.created };
        return { status: 'error', image, present: false, error: found.unreachable ? `cannot tell: ${found.error}` : found.error };
      },
    };
  }

  /** Removes this workspace's sandbox containers whose run is not live (left by a crash). */
  async reapStale(isRunLive: (runId: string) => boolean, signal?: AbortSignal): Promise<string[]> {
    const { logger, workspacePath } = this.#options;
    const list = await this.#docker(
      [
        'ps',
        '--all',
        '--filter',
        `label=${LABEL_MANAGED}=true`,
        '--filter',
        `label=${LABEL_WORKSPACE}=${path.resolve(workspacePath)}`,
        '--format',
        `{{.Names}}\t{{.Label "${LABEL_RUN_ID}"}}`,
      ],
      CHECK_TIMEOUT_MS,
      signal,
    );
    if (!list.ok) {
      logger.debug({ detail: list.detail }, 'no stale sandbox containers removed: cannot list containers');
      return [];
    }
    const removed: string[] = [];
    for (const line of list.stdout.split('\n')) {
      const [name, runId] = line.trim().split('\t');
      if (!name || (runId && isRunLive(runId))) continue;
      await this.#remove(name, logger);
      removed.push(name);
    }
    return removed;
  }
}

export function createDockerRuntime(config: Config, logger: Logger): DockerRuntime {
  return new DockerRuntime({
    image: config.dockerImage,
    workspaceLocal: config.workspaceLocal,
    workspacePath: config.workspacePath,
    memory: config.sandbox.memory,
    cpus: config.sandbox.cpus,
    pidsLimit: config.sandbox.pidsLimit,
    uidRange: config.sandbox.uidRange,
    dockerCommand: 'docker',
    logger,
  });
}
