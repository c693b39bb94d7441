// Reads and changes a run repository for review: per-branch diffs and stats, files at a branch tip, conflict-safe merges into main, and exports.
import { execa, type ResultPromise } from 'execa';
import type { DiffStats } from '@multiclaude/contract';
import { git, gitBytes, gitStatus, GitError } from './git.ts';

export interface DiffFile {
  path: string;
  insertions: number | null;
  deletions: number | null;
}

export const MAX_PATCH_BYTES = 2 * 1024 * 1024;

/** Per-file line counts of `head` against `base` (renames not folded, so each path counts once). */
export async function diffFiles(runDirectory: string, base: string, head: string): Promise<DiffFile[]> {
  const output = await git(['diff', '--no-renames', '--numstat', '-z', base, head, '--'], { cwd: runDirectory });
  const files: DiffFile[] = [];
  for (const record of output.split('\0')) {
    if (!record) continue;
    const [insertions, deletions, ...rest] = record.split('\t');
    files.push({
      path: rest.join('\t'),
      insertions: insertions === '-' ? null : Number(insertions),
      deletions: deletions === '-' ? null : Number(deletions),
    });
  }
  return files;
}

export function statsOf(files: DiffFile[]): DiffStats {
  return {
    files: files.length,
    insertions: files.reduce((sum, file) => sum + (file.insertions ?? 0), 0),
    deletions: files.reduce((sum, file) => sum + (file.deletions ?? 0), 0),
  };
}

export async function diffPatch(runDirectory: string, base: string, head: string): Promise<{ patch: string; truncated: boolean }> {
  const bytes = await gitBytes(['diff', '--no-color', '--no-ext-diff', '--no-renames', base, head, '--'], { cwd: runDirectory });
  const truncated = bytes.length > MAX_PATCH_BYTES;
  return { patch: bytes.subarray(0, MAX_PATCH_BYTES).toString('utf8'), truncated };
}

export async function resolveCommit(runDirectory: string, reference: string): Promise<string> {
  return (await git(['rev-parse', '--verify', '--quiet', `${reference}^{commit}`], { cwd: runDirectory })).trim();
}

/** A path inside a tree: relative, no `.`/`..` segments, no empty segments, no NUL. */
export function isSafeTreePath(value: string): boolean {
  if (value === '') return true;
  if (value.startsWith('/') || value.includes('\0') || value.includes('\\')) return false;
  return value.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export type TreeEntry = { name: string; type: 'file' | 'directory' | 'symlink' | 'submodule'; size: number | null };
export type TreeLookup = { kind: 'file'; content: Buffer } | { kind: 'directory'; entries: TreeEntry[] } | { kind: 'missing' };

/** A file's bytes or a directory's listing at `reference`, read from git objects (never the disk). */
export async function readTreePath(runDirectory: string, reference: string, treePath: string): Promise<TreeLookup> {
  const spec = `${reference}:${treePath}`;
  const type = await gitStatus(['cat-file', '-t', spec], { cwd: runDirectory });
  if (type.exitCode !== 0) return { kind: 'missing' };
  if (type.stdout.trim() === 'blob') return { kind: 'file', content: await gitBytes(['cat-file', 'blob', spec], { cwd: runDirectory }) };
  if (type.stdout.trim() !== 'tree') return { kind: 'missing' };
  const listing = await git(['ls-tree', '-z', '--long', spec], { cwd: runDirectory });
  const entries: TreeEntry[] = [];
  for (const record of listing.split('\0')) {
    if (!record) continue;
    const [meta, name] = record.split('\t');
    const [mode, kind, , size] = (meta ?? '').trim().split(/\s+/);
    const entryType = kind === 'tree' ? 'directory' : kind === 'commit' ? 'submodule' : mode === '120000' ? 'symlink' : 'file';
    entries.push({ name: name ?? '', type: entryType, size: size && size !== '-' ? Number(size) : null });
  }
  return { kind: 'directory', entries };
}

export type MergeOutcome =
  | { merged: true; commit: string; fastForward: boolean }
  | { merged: false; conflictingFiles: string[] };

/** The files merging `branch` into main would conflict on, found with `git merge-tree` (nothing is written but objects). */
export async function mergeConflicts(runDirectory: string, branch: string): Promise<string[]> {
  const probe = await gitStatus(['merge-tree', '--write-tree', '--name-only', '--no-messages', 'main', branch], { cwd: runDirectory });
  if (probe.exitCode === 1) {
    const [, ...files] = probe.stdout.split('\n').filter(Boolean);
    return [...new Set(files)];
  }
  if (probe.exitCode !== 0) throw new GitError(['merge-tree'], `git merge-tree failed: ${probe.stderr.trim()}`);
  return [];
}

/**
 * Merges `branch` into main in the run repository's main worktree. Conflicts are found first with
 * `git merge-tree` (no worktree or index is touched), so a refused merge leaves main exactly as it was.
 */
export async function mergeIntoMain(runDirectory: string, branch: string, message: string): Promise<MergeOutcome> {
  const options = { cwd: runDirectory };
  const current = (await git(['symbolic-ref', '--short', 'HEAD'], options)).trim();
  if (current !== 'main') throw new GitError(['merge'], `the run repository is on ${current}, not main`);
  if ((await git(['status', '--porcelain', '--untracked-files=no'], options)).trim() !== '') {
    throw new GitError(['merge'], 'the run repository has uncommitted changes on main');
  }
  const before = await resolveCommit(runDirectory, 'main');
  const tip = await resolveCommit(runDirectory, branch);
  const conflictingFiles = await mergeConflicts(runDirectory, branch);
  if (conflictingFiles.length > 0) return { merged: false, conflictingFiles };
  const fastForward = (await gitStatus(['merge-base', '--is-ancestor', before, tip], options)).exitCode === 0;
  await git(['merge', '--no-edit', fastForward ? '--ff-only' : '--no-ff', '-m', message, branch], options);
  return { merged: true, commit: await resolveCommit(runDirectory, 'main'), fastForward };
}

export type ExportFormat = 'bundle' | 'tar' | 'zip';

/** Streams the branch (an agent's, or main) as a git bundle (full history, opens with `git clone`) or an archive of its tip. */
export function exportBranch(runDirectory: string, branch: string, format: ExportFormat, signal?: AbortSignal): ResultPromise {
  const args =
    format === 'bundle'
      ? ['bundle', 'create', '-', branch]
      : ['archive', `--format=${format}`, `--prefix=${branch}/`, branch];
  return execa('git', ['-c', 'safe.directory=*', ...args], {
    cwd: runDirectory,
    cancelSignal: signal,
    timeout: 5 * 60_000,
    stdin: 'ignore',
    encoding: 'buffer',
    buffer: false,
    env: { LC_ALL: 'C' },
  });
}
