// The one place that knows where things live in the workspace: run repositories, agent worktrees, git admin dirs and run records.
//
// Pure path arithmetic, at the bottom of the dependency graph: git, runs, agents and sandboxes ask it,
// nothing else builds these paths. Ids are checked before they become paths, so a run id or agent id
// read back from disk or a request can never name a directory outside the workspace.
import path from 'node:path';
import { isRunId, runDirectoryName } from './run-id.ts';

/** Orchestrator records kept inside the run directory (git-excluded, never committed). */
export const RECORDS_DIRECTORY = '.multiclaude';
/** Where agent worktrees live inside the run directory (git-excluded). */
export const WORKTREES_DIRECTORY = 'worktrees';

export function branchName(agentId: number): string {
  return `agent-${agentId}`;
}

export class LayoutError extends Error {
  readonly code = 'invalid_id';
  constructor(message: string) {
    super(message);
    this.name = 'LayoutError';
  }
}

export interface AgentPaths {
  agentId: number;
  branchName: string;
  /** Absolute, as the orchestrator sees it. */
  worktree: string;
  /** Relative to the workspace, as the API reports it (`runs/run_<id>/worktrees/agent-N`). */
  relativeWorktree: string;
  /** The admin dir git keeps for this worktree: `<run>/.git/worktrees/agent-N`. */
  gitAdministration: string;
  /** The agent's own Claude config dir (parallel agents sharing one corrupt each other's settings). */
  claudeConfigDirectory: string;
  /** HOME for the agent's tools in the local runtime. */
  sandboxHome: string;
}

export interface RunPaths {
  runId: string;
  /** Absolute path of the run repository. */
  directory: string;
  /** Relative to the workspace: `runs/run_<id>`. */
  relativeDirectory: string;
  gitDirectory: string;
  recordsDirectory: string;
  statePath: string;
  eventsPath: string;
  leasePath: string;
  cancelRequestPath: string;
  agent(agentId: number): AgentPaths;
  /**
   * The run's setup step as "agent 0": its tree `worktrees/setup` is a plain export of the base commit
   * (no `.git`), where setup_command runs with network before the agents; it has no branch.
   */
  setup: AgentPaths;
}

/** The setup step's name in paths (never an agent's: those are `agent-N`). */
export const SETUP_NAME = 'setup';

export class WorkspaceLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get runsDirectory(): string {
    return path.join(this.root, 'runs');
  }

  /** Every path of one run; throws LayoutError for anything that is not a run id. */
  run(runId: string): RunPaths {
    if (!isRunId(runId)) throw new LayoutError(`not a run id: ${JSON.stringify(runId.slice(0, 64))}`);
    const relativeDirectory = path.posix.join('runs', runDirectoryName(runId));
    const directory = path.join(this.root, relativeDirectory);
    const gitDirectory = path.join(directory, '.git');
    const recordsDirectory = path.join(directory, RECORDS_DIRECTORY);
    const setupRecords = path.join(recordsDirectory, SETUP_NAME);
    const relativeSetup = path.posix.join(WORKTREES_DIRECTORY, SETUP_NAME);
    return {
      runId,
      directory,
      relativeDirectory,
      gitDirectory,
      recordsDirectory,
      statePath: path.join(recordsDirectory, 'run.json'),
      eventsPath: path.join(recordsDirectory, 'events.jsonl'),
      leasePath: path.join(recordsDirectory, 'lease.json'),
      cancelRequestPath: path.join(recordsDirectory, 'cancel-request.json'),
      setup: {
        agentId: 0,
        branchName: '',
        worktree: path.join(directory, relativeSetup),
        relativeWorktree: path.posix.join(relativeDirectory, relativeSetup),
        gitAdministration: '',
        claudeConfigDirectory: path.join(setupRecords, 'claude-home', '.claude'),
        sandboxHome: path.join(setupRecords, 'sandbox-home'),
      },
      agent: (agentId) => {
        if (!Number.isSafeInteger(agentId) || agentId < 1) throw new LayoutError(`not an agent id: ${agentId}`);
        const branch = branchName(agentId);
        const relativeWorktree = path.posix.join(WORKTREES_DIRECTORY, branch);
        const agentRecords = path.join(recordsDirectory, 'agents', branch);
        return {
          agentId,
          branchName: branch,
          worktree: path.join(directory, relativeWorktree),
          relativeWorktree: path.posix.join(relativeDirectory, relativeWorktree),
          gitAdministration: path.join(gitDirectory, 'worktrees', branch),
          claudeConfigDirectory: path.join(agentRecords, 'claude-home', '.claude'),
          sandboxHome: path.join(agentRecords, 'sandbox-home'),
        };
      },
    };
  }

  /** Run ids named by the entries of the runs directory (anything else there is ignored). */
  runIdsIn(entries: readonly string[]): string[] {
    return entries.filter((name) => name.startsWith('run_') && isRunId(name.slice(4))).map((name) => name.slice(4));
  }
}
