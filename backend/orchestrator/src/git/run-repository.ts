// Creates a run's git repository: `runs/run_<id>/`, an initial commit, and one branch and worktree per agent.
import { appendFile, mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';
import { runDirectoryName } from '../runs/run-id.ts';

export const GIT_USER_NAME = 'Claude Agent';
export const GIT_USER_EMAIL = 'agent@claude-mcp.local';
/** Orchestrator metadata kept inside the run directory, never committed. */
export const METADATA_DIRECTORY = '.multiclaude';

export interface AgentWorktree {
  agentId: number;
  branchName: string;
  /** Absolute, as the orchestrator sees it. */
  worktreePath: string;
  /** Relative to WORKSPACE_LOCAL, as the API reports it. */
  relativePath: string;
}

export interface RunRepository {
  runId: string;
  /** Absolute path of the run directory. */
  runDirectory: string;
  /** Relative to WORKSPACE_LOCAL: `runs/run_<id>`. */
  relativeDirectory: string;
  baseCommit: string;
  agents: AgentWorktree[];
}

export interface CreateRunRepositoryInput {
  workspaceLocal: string;
  runId: string;
  prompt: string;
  agentCount: number;
  createdAt: Date;
  signal?: AbortSignal;
}

export function branchName(agentId: number): string {
  return `agent-${agentId}`;
}

function readme(input: CreateRunRepositoryInput): string {
  return `# Run ${input.runId}

Created ${input.createdAt.toISOString()} by multiclaude for ${input.agentCount} agent(s).
Each agent works on its own branch (\`agent-1\` ... \`agent-${input.agentCount}\`) in \`worktrees/agent-<N>\`.

## Prompt

\`\`\`\`text
${input.prompt}
\`\`\`\`
`;
}

/** Creates the repository; on failure removes what it made, so bad runs leave nothing behind. */
export async function createRunRepository(input: CreateRunRepositoryInput): Promise<RunRepository> {
  const relativeDirectory = path.posix.join('runs', runDirectoryName(input.runId));
  const runDirectory = path.join(input.workspaceLocal, relativeDirectory);
  await mkdir(path.dirname(runDirectory), { recursive: true });
  await mkdir(runDirectory); // fails if it exists: run ids never collide silently
  const options = { cwd: runDirectory, signal: input.signal };
  try {
    await git(['init', '-q', '-b', 'main'], options);
    // Appended rather than set by two `git config` processes: this is POST /runs' critical path (each git
    // process costs ~4 ms from node; bench/RESULTS.md), and the values are fixed, with nothing to quote.
    await appendFile(path.join(runDirectory, '.git', 'config'), `[user]\n\tname = ${GIT_USER_NAME}\n\temail = ${GIT_USER_EMAIL}\n`);
    await writeFile(path.join(runDirectory, '.git', 'info', 'exclude'), `/worktrees/\n/${METADATA_DIRECTORY}/\n`);
    await writeFile(path.join(runDirectory, 'README.md'), readme(input));
    await git(['add', 'README.md'], options);
    await git(['commit', '-q', '-m', `Initial commit for run ${input.runId}`], options);
    const baseCommit = (await git(['rev-parse', 'HEAD'], options)).trim();
    const agents: AgentWorktree[] = [];
    // One after another: `worktree add` reads every other worktree's admin dir (is the branch checked out
    // there?), and fails on one half-made by a concurrent add.
    for (let agentId = 1; agentId <= input.agentCount; agentId++) {
      const branch = branchName(agentId);
      const relativeWorktree = path.posix.join('worktrees', branch);
      await git(['worktree', 'add', '-q', '-b', branch, relativeWorktree, baseCommit], options);
      agents.push({
        agentId,
        branchName: branch,
        worktreePath: path.join(runDirectory, relativeWorktree),
        relativePath: path.posix.join(relativeDirectory, relativeWorktree),
      });
    }
    await mkdir(path.join(runDirectory, METADATA_DIRECTORY), { recursive: true });
    return { runId: input.runId, runDirectory, relativeDirectory, baseCommit, agents };
  } catch (error) {
    await rm(runDirectory, { recursive: true, force: true });
    throw error;
  }
}
