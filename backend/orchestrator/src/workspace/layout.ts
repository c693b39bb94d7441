// The one place that knows where things live in the workspace: run repositories, each agent's own repository, the orchestrator's per-agent files and run records.
//
// Pure path arithmetic, at the bottom of the dependency graph: git, runs, agents and sandboxes ask it,
// nothing else builds these paths. Ids are checked before they become paths, so a run id or agent id
// read back from disk or a request can never name a directory outside the workspace.
import path from 'node:path';
import { isRunId, runDirectoryName } from './run-id.ts';

/** The orchestrator's own directory, in the workspace (the run store's database) and in each run directory (git-excluded, never committed). */
export const RECORDS_DIRECTORY = '.multiclaude';
/** Where the agents' own repositories live inside the run directory (git-excluded). */
export const WORKTREES_DIRECTORY = 'worktrees';
/**
 * The orchestrator's own per-agent files (Claude's config dir, the local sandbox's HOME), under the workspace
 * root and outside every git tree: `<workspace>/.multiclaude/agents/<run id>/agent-N/`.
 */
export const ORCHESTRATOR_DIRECTORY = '.multiclaude';

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
  /**
   * The agent's own repository (a private clone of the run repository, with its branch checked out),
   * absolute, as the orchestrator sees it. The only path a sandbox is given.
   */
  worktree: string;
  /** Relative to the workspace, as the API reports it (`runs/run_<id>/worktrees/agent-N`). */
  relativeWorktree: string;
  /** The git directory of the agent's repository (`<worktree>/.git`); agent-written, read only through agent-import.ts. */
  gitDirectory: string;
  /** The orchestrator's files for this agent, outside every git tree: `<workspace>/.multiclaude/agents/<run id>/agent-N`. */
  orchestratorDirectory: string;
  /** The working directory of the agent's `claude` process: an empty directory of the orchestrator's, never the agent's repository. */
  claudeWorkingDirectory: string;
  /** The agent's own Claude config dir (parallel agents sharing one corrupt each other's settings). */
  claudeConfigDirectory: string;
  /** HOME for the agent's tools in the local runtime. */
  sandboxHome: string;
}

export interface RunPaths {
  runId: string;
  /** The workspace root (WORKSPACE_LOCAL). */
  workspaceRoot: string;
  /** Absolute path of the run repository. */
  directory: string;
  /** Relative to the workspace: `runs/run_<id>`. */
  relativeDirectory: string;
  gitDirectory: string;
  recordsDirectory: string;
  /** Where the agents' repositories live: `<run>/worktrees`. */
  worktreesDirectory: string;
  /** The orchestrator's per-agent files of this run: `<workspace>/.multiclaude/agents/<run id>`. */
  agentsDirectory: string;
  /** The judge's own directory, outside every git tree: the candidates' diffs and check outputs the host wrote for it. */
  judgeDirectory: string;
  /** The judge's Claude config dir. */
  judgeClaudeConfigDirectory: string;
  agent(agentId: number): AgentPaths;
  /**
   * The run's setup step as "agent 0": its tree `worktrees/setup` is a plain export of the base commit
   * (no `.git`), where setup_command runs with network before the agents; it has no branch, and its
   * HOME is `<workspace>/.multiclaude/agents/<run id>/setup/sandbox-home`.
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

  /** The embedded run store's database: in the workspace, outside every run repository and every sandbox's mounts. */
  /** Warm spare sessions' own HOME and Claude config dirs (agents/warm-pool.ts): `<workspace>/.multiclaude/warm`. */
  get warmSparesDirectory(): string {
    return path.join(this.root, ORCHESTRATOR_DIRECTORY, 'warm');
  }

  get databasePath(): string {
    return path.join(this.root, RECORDS_DIRECTORY, 'runs.db');
  }

  /**
   * Where earlier versions kept a run's records, inside its repository; read once, by the import into the
   * run store, and never written.
   */
  legacyRecords(runId: string): { statePath: string; eventsPath: string } {
    const { recordsDirectory } = this.run(runId);
    return { statePath: path.join(recordsDirectory, 'run.json'), eventsPath: path.join(recordsDirectory, 'events.jsonl') };
  }

  /** Every path of one run; throws LayoutError for anything that is not a run id. */
  run(runId: string): RunPaths {
    if (!isRunId(runId)) throw new LayoutError(`not a run id: ${JSON.stringify(runId.slice(0, 64))}`);
    const relativeDirectory = path.posix.join('runs', runDirectoryName(runId));
    const directory = path.join(this.root, relativeDirectory);
    const gitDirectory = path.join(directory, '.git');
    const recordsDirectory = path.join(directory, RECORDS_DIRECTORY);
    const worktreesDirectory = path.join(directory, WORKTREES_DIRECTORY);
    const agentsDirectory = path.join(this.root, ORCHESTRATOR_DIRECTORY, 'agents', runId);
    const relativeSetup = path.posix.join(WORKTREES_DIRECTORY, SETUP_NAME);
    const setupDirectory = path.join(agentsDirectory, SETUP_NAME);
    const setupTree = path.join(directory, relativeSetup);
    return {
      runId,
      workspaceRoot: this.root,
      worktreesDirectory,
      agentsDirectory,
      directory,
      relativeDirectory,
      gitDirectory,
      recordsDirectory,
      judgeDirectory: path.join(agentsDirectory, 'judge', 'materials'),
      judgeClaudeConfigDirectory: path.join(agentsDirectory, 'judge', 'claude-home', '.claude'),
      setup: {
        agentId: 0,
        branchName: '',
        worktree: setupTree,
        relativeWorktree: path.posix.join(relativeDirectory, relativeSetup),
        gitDirectory: path.join(setupTree, '.git'),
        orchestratorDirectory: setupDirectory,
        claudeWorkingDirectory: path.join(setupDirectory, 'claude-home'),
        claudeConfigDirectory: path.join(setupDirectory, 'claude-home', '.claude'),
        sandboxHome: path.join(setupDirectory, 'sandbox-home'),
      },
      agent: (agentId) => {
        if (!Number.isSafeInteger(agentId) || agentId < 1) throw new LayoutError(`not an agent id: ${agentId}`);
        const branch = branchName(agentId);
        const relativeWorktree = path.posix.join(WORKTREES_DIRECTORY, branch);
        const worktree = path.join(directory, relativeWorktree);
        const orchestratorDirectory = path.join(agentsDirectory, branch);
        return {
          agentId,
          branchName: branch,
          worktree,
          relativeWorktree: path.posix.join(relativeDirectory, relativeWorktree),
          gitDirectory: path.join(worktree, '.git'),
          orchestratorDirectory,
          claudeWorkingDirectory: path.join(orchestratorDirectory, 'claude-home'),
          claudeConfigDirectory: path.join(orchestratorDirectory, 'claude-home', '.claude'),
          sandboxHome: path.join(orchestratorDirectory, 'sandbox-home'),
        };
      },
    };
  }

  /** Run ids named by the entries of the runs directory (anything else there is ignored). */
  runIdsIn(entries: readonly string[]): string[] {
    return entries.filter((name) => name.startsWith('run_') && isRunId(name.slice(4))).map((name) => name.slice(4));
  }
}
