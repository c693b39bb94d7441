// A run's setup step: the base commit written out to a tree of its own (no `.git`), setup_command run there once in the only sandbox with network, and what it left that the base commit does not have copied privately into every agent's worktree before the agents start.
//
// Private copies (`cp -a --reflink=auto`: copy-on-write where the file system allows, a plain copy
// elsewhere), never hard links shared between agents: one agent could otherwise change what another's
// check runs. The setup tree is written by a command with network access, so it is read like agent
// output: no symlink is followed, the root `.git` is never copied, tracked paths are left alone.
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { SetupResult } from '@multiclaude/contract';
import { git } from '../git/git.ts';
import type { AgentPaths, RunPaths } from '../workspace/layout.ts';

const COPY_TIMEOUT_MS = 30 * 60_000;

/** The base commit's files in the setup tree, through an index of its own (the run repository is bare: it has neither index nor work tree to touch). */
export async function writeSetupTree(paths: RunPaths, baseCommit: string, signal?: AbortSignal): Promise<void> {
  const tree = paths.setup.worktree;
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true, mode: 0o700 });
  await mkdir(paths.setup.orchestratorDirectory, { recursive: true, mode: 0o700 });
  const indexFile = path.join(paths.setup.orchestratorDirectory, 'index');
  try {
    await git([`--work-tree=${tree}`, 'read-tree', '--reset', '-u', baseCommit], {
      gitDirectory: paths.gitDirectory,
      indexFile,
      timeoutMs: COPY_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
  } finally {
    await rm(indexFile, { force: true });
  }
}

/** Paths (relative, `/`-separated) of what the setup tree has and the base commit does not: whole new directories, files and symlinks. */
export async function setupOutput(paths: RunPaths, baseCommit: string): Promise<string[]> {
  const listing = await git(['ls-tree', '-r', '-z', '--name-only', '--full-tree', baseCommit], { gitDirectory: paths.gitDirectory, timeoutMs: COPY_TIMEOUT_MS });
  const trackedFiles = new Set(listing.split('\0').filter(Boolean));
  const trackedDirectories = new Set<string>();
  for (const file of trackedFiles) {
    for (let parent = path.posix.dirname(file); parent !== '.'; parent = path.posix.dirname(parent)) trackedDirectories.add(parent);
  }
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(paths.setup.worktree, relative), { withFileTypes: true });
    for (const entry of entries) {
      const entryPath = relative ? `${relative}/${entry.name}` : entry.name;
      if (!relative && entry.name === '.git') continue;
      if (trackedFiles.has(entryPath)) continue;
      if (trackedDirectories.has(entryPath)) {
        // A tracked directory the setup replaced by a symlink or file is left alone, like any tracked path.
        if (entry.isDirectory()) await walk(entryPath);
        continue;
      }
      found.push(entryPath);
    }
  };
  await walk('');
  return found.sort();
}

/** Copies the setup's output into each agent's worktree, privately; returns how long it took. */
export async function giveSetupOutput(paths: RunPaths, entries: readonly string[], agents: readonly AgentPaths[], signal?: AbortSignal): Promise<number> {
  const started = Date.now();
  const byParent = new Map<string, string[]>();
  for (const entry of entries) {
    const parent = path.posix.dirname(entry);
    byParent.set(parent, [...(byParent.get(parent) ?? []), path.join(paths.setup.worktree, entry)]);
  }
  for (const agent of agents) {
    for (const [parent, sources] of byParent) {
      const target = path.join(agent.worktree, parent);
      // A tracked directory of the base commit, so a real directory in a fresh worktree; checked, never assumed.
      const stats = await lstat(target);
      if (!stats.isDirectory()) throw new Error(`${path.relative(paths.directory, target)} is not a directory in ${agent.branchName}'s worktree`);
      await execa('cp', ['-a', '--no-preserve=ownership', '--reflink=auto', '-t', target, '--', ...sources], { timeout: COPY_TIMEOUT_MS, cancelSignal: signal, stdin: 'ignore' });
    }
  }
  return Date.now() - started;
}

/** The sentence shown as every agent's error when the setup failed. */
export function setupFailure(result: SetupResult): string {
  const how = result.status === 'timed_out' ? 'timed out' : result.status === 'error' ? 'could not run' : `failed (exit code ${result.exit_code})`;
  const output = result.output_tail.trim();
  return `the run's setup_command ${how}, so no agent started${output ? `: ${output.slice(-1_000)}` : ''}`;
}

/** Removes the setup tree and the setup sandbox's HOME (a package manager's cache can be big). */
export async function removeSetupTree(paths: RunPaths): Promise<void> {
  await rm(paths.setup.worktree, { recursive: true, force: true });
  await rm(paths.setup.orchestratorDirectory, { recursive: true, force: true });
}
