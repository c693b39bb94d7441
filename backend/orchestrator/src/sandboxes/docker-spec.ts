// Builds the `docker create`/`docker run` arguments of one agent's hardened MCP container, as a pure function of its inputs (no I/O).
import path from 'node:path';
import { SandboxError } from './runtime.ts';

/** Where the agent's own repository appears in the container; the prompt names it. */
export const CONTAINER_WORKSPACE = '/workspace';
/** HOME and Claude's config live on a tmpfs: the root file system is read-only. */
export const CONTAINER_HOME = '/home/agent';

export const LABEL_MANAGED = 'multiclaude.managed';
export const LABEL_RUN_ID = 'multiclaude.run_id';
export const LABEL_AGENT_ID = 'multiclaude.agent_id';
/** Lets the start-up reaper leave alone containers of another orchestrator sharing the engine. */
export const LABEL_WORKSPACE = 'multiclaude.workspace';

export interface DockerSpecOptions {
  image: string;
  runId: string;
  agentId: number;
  /** The agent's own repository (work tree and `.git`), as the orchestrator sees it (under workspaceLocal). */
  worktreePath: string;
  /** The default bridge network instead of none: only the run's setup sandbox (a tree without `.git`) has it. */
  network?: boolean;
  /** WORKSPACE_LOCAL: where the orchestrator sees the workspace. */
  workspaceLocal: string;
  /** WORKSPACE_PATH: where the Docker engine sees the same workspace; every mount source uses it. */
  workspacePath: string;
  uid: number;
  gid: number;
  memory: string;
  cpus: string;
  pidsLimit: number;
  tmpSize?: string;
  homeSize?: string;
  /** What the container runs; `claude mcp serve` (the agent's tools) unless given. */
  command?: string[];
  /** Container name; the agent's sandbox name unless given (a check runs beside it under another). */
  name?: string;
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else in a run id becomes `-`. Agent 0 is the run's setup. */
export function containerName(runId: string, agentId: number): string {
  const safeRunId = runId.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
  return `multiclaude-${safeRunId || 'run'}-${agentId === 0 ? 'setup' : `agent-${agentId}`}`;
}

/** Maps a path under WORKSPACE_LOCAL to the same place under WORKSPACE_PATH; refuses anything outside. */
export function toEnginePath(localPath: string, workspaceLocal: string, workspacePath: string): string {
  if (!path.isAbsolute(localPath) || !path.isAbsolute(workspaceLocal) || !path.isAbsolute(workspacePath)) {
    throw new SandboxError('sandbox_setup_failed', `sandbox paths must be absolute (got ${localPath})`);
  }
  const relative = path.relative(path.resolve(workspaceLocal), path.resolve(localPath));
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new SandboxError(
      'sandbox_setup_failed',
      `${localPath} is outside WORKSPACE_LOCAL (${workspaceLocal}), so the Docker engine cannot be given its path`,
    );
  }
  return path.posix.join(path.resolve(workspacePath), ...relative.split(path.sep));
}

/** The container's whole environment: what the tools and git need, never a secret of the orchestrator's. */
export function sandboxEnvironment(): Record<string, string> {
  return {
    HOME: CONTAINER_HOME,
    CLAUDE_CONFIG_DIR: `${CONTAINER_HOME}/.claude`,
    LANG: 'C.UTF-8',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
}

/** `--mount` is parsed as CSV: a field holding a comma or a quote must be quoted. */
function csvField(field: string): string {
  return /[",\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

function bind(source: string, target: string, readOnly: boolean): string[] {
  const fields = ['type=bind', `source=${source}`, `target=${target}`, ...(readOnly ? ['readonly'] : [])];
  return ['--mount', fields.map(csvField).join(',')];
}

/**
 * The one mount: the agent's own repository (its work tree and its `.git`), writable. Nothing of the
 * run repository, of other agents or of the orchestrator's records is mounted: the host imports the
 * agent's work by fetching from this repository once the container is gone (agent-import.ts).
 * `--mount` (unlike `-v`) fails instead of creating a missing source as root on the engine's host.
 */
export function sandboxMounts(options: DockerSpecOptions): string[] {
  return bind(toEnginePath(options.worktreePath, options.workspaceLocal, options.workspacePath), CONTAINER_WORKSPACE, false);
}

/**
 * Everything after `docker create` (or `docker run`) up to and including the command. No `--rm`: the
 * runtime removes the container itself, after reading its exit state (OOM, exit code) for the agent's error.
 */
export function buildDockerRunArgs(options: DockerSpecOptions): string[] {
  if (!Number.isInteger(options.agentId) || options.agentId < 0) {
    throw new SandboxError('sandbox_setup_failed', `invalid agent id ${options.agentId}`);
  }
  if (!Number.isInteger(options.uid) || !Number.isInteger(options.gid) || options.uid < 0 || options.gid < 0) {
    throw new SandboxError('sandbox_setup_failed', `invalid sandbox user ${options.uid}:${options.gid}`);
  }
  const environment = Object.entries(sandboxEnvironment()).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  const tmpfsOptions = 'rw,nosuid,nodev';
  return [
    '--interactive',
    '--name',
    options.name ?? containerName(options.runId, options.agentId),
    '--label',
    `${LABEL_MANAGED}=true`,
    '--label',
    `${LABEL_RUN_ID}=${options.runId}`,
    '--label',
    `${LABEL_AGENT_ID}=${options.agentId}`,
    '--label',
    `${LABEL_WORKSPACE}=${path.resolve(options.workspacePath)}`,
    // Never fetch the image by name from a registry: a missing local image must be an error, not a pull.
    '--pull',
    'never',
    // The model is called from the orchestrator; the tools need no network. Only the run's setup step
    // (dependencies, before any agent starts) gets the default bridge.
    '--network',
    options.network ? 'bridge' : 'none',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--user',
    `${options.uid}:${options.gid}`,
    '--memory',
    options.memory,
    // Equal to --memory: no swap, so a runaway build is OOM-killed (and reported) rather than thrashing.
    '--memory-swap',
    options.memory,
    '--cpus',
    options.cpus,
    '--pids-limit',
    String(options.pidsLimit),
    // A real PID 1 reaps the shells' orphans, which would otherwise count against the pid limit.
    '--init',
    // The MCP traffic (file contents) is not kept in the engine's logs.
    '--log-driver',
    'none',
    '--read-only',
    '--tmpfs',
    `/tmp:${tmpfsOptions},size=${options.tmpSize ?? '512m'},mode=1777`,
    '--tmpfs',
    `${CONTAINER_HOME}:${tmpfsOptions},size=${options.homeSize ?? '512m'},uid=${options.uid},gid=${options.gid},mode=0700`,
    ...sandboxMounts(options),
    ...environment,
    '--workdir',
    CONTAINER_WORKSPACE,
    options.image,
    ...(options.command ?? ['claude', 'mcp', 'serve']),
  ];
}
