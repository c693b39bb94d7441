// Creates a run's git repository: `runs/run_<id>/`, an initial commit (or a source's commit), and one branch and worktree per agent.
import { appendFile, mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';
import { RECORDS_DIRECTORY, WORKTREES_DIRECTORY, type AgentPaths, type RunPaths } from '../workspace/layout.ts';

export const GIT_USER_NAME = 'Claude Agent';
export const GIT_USER_EMAIL = 'agent@claude-mcp.local';
const SOURCE_CHECKOUT_TIMEOUT_MS = 10 * 60_000;

export interface RunRepository {
  paths: RunPaths;
  baseCommit: string;
  agents: AgentPaths[];
}

export interface CreateRunRepositoryInput {
  paths: RunPaths;
  prompt: string;
  agentCount: number;
  createdAt: Date;
  signal?: AbortSignal;
  /**
   * Makes `main` from a source instead of the README commit (git/source.ts: the run's one fetch) and
   * returns its commit: the user's history gets no commit of ours.
   */
  fetchMain?: (runDirectory: string, signal?: AbortSignal) => Promise<string>;
}

function readme(input: CreateRunRepositoryInput): string {
  return `# Run ${input.paths.runId}

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
  const { paths } = input;
  const runDirectory = paths.directory;
  await mkdir(path.dirname(runDirectory), { recursive: true });
  await mkdir(runDirectory); // fails if it exists: run ids never collide silently
  // A source may be big: its checkouts (main, then one per agent) get the time a transfer gets, not git's usual minute.
  const options = { cwd: runDirectory, signal: input.signal, ...(input.fetchMain ? { timeoutMs: SOURCE_CHECKOUT_TIMEOUT_MS } : {}) };
  try {
    await git(['init', '-q', '-b', 'main'], options);
    // Appended rather than set by two `git config` processes: this is POST /runs' critical path (each git
    // process costs ~4 ms from node; bench/RESULTS.md), and the values are fixed, with nothing to quote.
    await appendFile(path.join(paths.gitDirectory, 'config'), `[user]\n\tname = ${GIT_USER_NAME}\n\temail = ${GIT_USER_EMAIL}\n`);
    await writeFile(path.join(paths.gitDirectory, 'info', 'exclude'), `/${WORKTREES_DIRECTORY}/\n/${RECORDS_DIRECTORY}/\n`);
    let baseCommit: string;
    if (input.fetchMain) {
      baseCommit = await input.fetchMain(runDirectory, input.signal);
      await git(['reset', '-q', '--hard', 'main'], options); // the main worktree, where merges land
    } else {
      await writeFile(path.join(runDirectory, 'README.md'), readme(input));
      await git(['add', 'README.md'], options);
      await git(['commit', '-q', '-m', `Initial commit for run ${paths.runId}`], options);
      baseCommit = (await git(['rev-parse', 'HEAD'], options)).trim();
    }
    const agents: AgentPaths[] = [];
    // One after another: `worktree add` reads every other worktree's admin dir (is the branch checked out
    // there?), and fails on one half-made by a concurrent add.
    for (let agentId = 1; agentId <= input.agentCount; agentId++) {
      const agent = paths.agent(agentId);
      await git(['worktree', 'add', '-q', '-b', agent.branchName, path.relative(runDirectory, agent.worktree), baseCommit], options);
      agents.push(agent);
    }
    await mkdir(paths.recordsDirectory, { recursive: true });
    return { paths, baseCommit, agents };
  } catch (error) {
    await rm(runDirectory, { recursive: true, force: true });
    throw error;
  }
}
