// Creates a run's git repository `runs/run_<id>/` (an initial commit or a source's commit as `main`, and one `agent-N` branch per agent, no checkout of anything agents write) and each agent's own repository beside it.
//
// The run repository is bare-like: `core.bare = true`, its work tree holds only the README of the
// initial commit (nothing, for a run from a source), and nothing ever checks a branch out there (merges
// are built from objects, review.ts). Each agent gets a private clone at `worktrees/agent-N` (objects
// copied, not shared: alternates would let an agent read what the host imports from the others), with
// its branch checked out; it is cloned from the run repository, so it names no source and holds no
// credential. Agents never write the run repository; the host imports their work by fetch (agent-import.ts).
import { appendFile, chmod, mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';
import { RECORDS_DIRECTORY, WORKTREES_DIRECTORY, type AgentPaths, type RunPaths } from '../workspace/layout.ts';

export const GIT_USER_NAME = 'Claude Agent';
export const GIT_USER_EMAIL = 'agent@claude-mcp.local';
const SOURCE_CHECKOUT_TIMEOUT_MS = 10 * 60_000;

/** Clones made at once: each is a short git process, and the machine's cores are shared with running agents. */
const CLONE_CONCURRENCY = 4;

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
  fetchMain?: (paths: RunPaths, signal?: AbortSignal) => Promise<string>;
}

function readme(input: CreateRunRepositoryInput): string {
  return `# Run ${input.paths.runId}

Created ${input.createdAt.toISOString()} by multiclaude for ${input.agentCount} agent(s).
Each agent works on its own branch (\`agent-1\` ... \`agent-${input.agentCount}\`) in its own repository \`worktrees/agent-<N>\`.
This repository is bare: look with \`git log main\`, \`git show agent-1:<file>\`, or \`git clone\` it for a checkout.

## Prompt

\`\`\`\`text
${input.prompt}
\`\`\`\`
`;
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function inBatches<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  });
  await Promise.all(workers);
}

/** The agent's own repository: a clone of the run repository on its branch, owned by the orchestrator until a sandbox takes it. */
export async function cloneForAgent(paths: RunPaths, agent: AgentPaths, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
  await git(
    [
      'clone',
      '--quiet',
      '--no-hardlinks',
      '--template=',
      '--single-branch',
      '--branch',
      agent.branchName,
      '--config',
      `user.name=${GIT_USER_NAME}`,
      '--config',
      `user.email=${GIT_USER_EMAIL}`,
      '--end-of-options',
      paths.gitDirectory,
      agent.worktree,
    ],
    { cwd: paths.directory, ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) },
  );
}

/** Creates the repository; on failure removes what it made, so bad runs leave nothing behind. */
export async function createRunRepository(input: CreateRunRepositoryInput): Promise<RunRepository> {
  const { paths } = input;
  const runDirectory = paths.directory;
  await mkdir(path.dirname(runDirectory), { recursive: true });
  await mkdir(runDirectory); // fails if it exists: run ids never collide silently
  const options = { gitDirectory: paths.gitDirectory, cwd: runDirectory, ...(input.signal ? { signal: input.signal } : {}) };
  // A source may be big: the agents' clones of it get the time a transfer gets, not git's usual minute.
  const cloneTimeoutMs = input.fetchMain ? SOURCE_CHECKOUT_TIMEOUT_MS : undefined;
  try {
    await git(['init', '-q', '-b', 'main'], { cwd: runDirectory });
    // Sandbox users may pass through the run directory to their own repository, and no further:
    // the run repository and the records are the orchestrator's alone.
    await Promise.all([chmod(runDirectory, 0o711), chmod(paths.gitDirectory, 0o700)]);
    // Appended rather than set by `git config` processes: this is POST /runs' critical path (each git
    // process costs ~4 ms from node; bench/RESULTS.md), and the values are fixed, with nothing to quote.
    await appendFile(path.join(paths.gitDirectory, 'config'), `[user]\n\tname = ${GIT_USER_NAME}\n\temail = ${GIT_USER_EMAIL}\n`);
    await writeFile(path.join(paths.gitDirectory, 'info', 'exclude'), `/${WORKTREES_DIRECTORY}/\n/${RECORDS_DIRECTORY}/\n`);
    let baseCommit: string;
    if (input.fetchMain) {
      // The user's history gets no commit of ours, and the run directory no file.
      baseCommit = await input.fetchMain(paths, input.signal);
    } else {
      await writeFile(path.join(runDirectory, 'README.md'), readme(input));
      await git(['--work-tree=.', 'add', 'README.md'], options);
      await git(['--work-tree=.', 'commit', '-q', '-m', `Initial commit for run ${paths.runId}`], options);
      baseCommit = (await git(['rev-parse', '--verify', 'HEAD^{commit}'], options)).trim();
    }
    // From here on no git command has a work tree here: merges never check anything out.
    await appendFile(path.join(paths.gitDirectory, 'config'), '[core]\n\tbare = true\n');
    const agents = Array.from({ length: input.agentCount }, (_, index) => paths.agent(index + 1));
    await git(['update-ref', '--stdin'], { ...options, input: agents.map((agent) => `create refs/heads/${agent.branchName} ${baseCommit}\n`).join('') });
    await mkdir(paths.worktreesDirectory, { mode: 0o711 });
    await chmod(paths.worktreesDirectory, 0o711);
    await inBatches(agents, CLONE_CONCURRENCY, (agent) => cloneForAgent(paths, agent, input.signal, cloneTimeoutMs));
    await mkdir(paths.recordsDirectory, { recursive: true, mode: 0o700 });
    return { paths, baseCommit, agents };
  } catch (error) {
    await rm(runDirectory, { recursive: true, force: true });
    throw error;
  }
}
