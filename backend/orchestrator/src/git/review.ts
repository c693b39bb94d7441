// Reads and changes a run repository for review: per-branch diffs and stats, files at a branch tip, conflict-safe merges into main, and exports.
//
// Every function takes the run repository's git directory and reads or writes objects and refs only:
// nothing here checks a tree out, so no path an agent committed is ever written to the host's disk.
// Revisions are commit ids or the run's own branch names (checkedBranch), always after `--end-of-options`.
import type { ResultPromise } from 'execa';
import type { DiffStats } from '@multiclaude/contract';
import { git, gitBytes, gitStatus, gitStream, GitError, checkedBranch } from './git.ts';

export interface DiffFile {
  path: string;
  insertions: number | null;
  deletions: number | null;
}

export const MAX_PATCH_BYTES = 2 * 1024 * 1024;

/** Per-file line counts of `head` against `base` (renames not folded, so each path counts once). */
export async function diffFiles(gitDirectory: string, base: string, head: string): Promise<DiffFile[]> {
  const output = await git(['diff', '--no-renames', '--numstat', '-z', '--end-of-options', base, head, '--'], { gitDirectory });
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

export async function diffPatch(gitDirectory: string, base: string, head: string): Promise<{ patch: string; truncated: boolean }> {
  const bytes = await gitBytes(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', '--end-of-options', base, head, '--'], { gitDirectory });
  const truncated = bytes.length > MAX_PATCH_BYTES;
  return { patch: bytes.subarray(0, MAX_PATCH_BYTES).toString('utf8'), truncated };
}

export async function resolveCommit(gitDirectory: string, reference: string): Promise<string> {
  return (await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${reference}^{commit}`], { gitDirectory })).trim();
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
export async function readTreePath(gitDirectory: string, reference: string, treePath: string): Promise<TreeLookup> {
  const spec = `${checkedBranch(reference)}:${treePath}`;
  const type = await gitStatus(['cat-file', '-t', '--end-of-options', spec], { gitDirectory });
  if (type.exitCode !== 0) return { kind: 'missing' };
  if (type.stdout.trim() === 'blob') return { kind: 'file', content: await gitBytes(['cat-file', 'blob', '--end-of-options', spec], { gitDirectory }) };
  if (type.stdout.trim() !== 'tree') return { kind: 'missing' };
  const listing = await git(['ls-tree', '-z', '--long', '--end-of-options', spec], { gitDirectory });
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
export async function mergeConflicts(gitDirectory: string, branch: string): Promise<string[]> {
  const options = { gitDirectory };
  const [main, tip] = await Promise.all([resolveCommit(gitDirectory, 'refs/heads/main'), resolveCommit(gitDirectory, `refs/heads/${checkedBranch(branch)}`)]);
  const probe = await gitStatus(['merge-tree', '--write-tree', '--name-only', '--no-messages', '--end-of-options', main, tip], options);
  if (probe.exitCode === 1) {
    const [, ...files] = probe.stdout.split('\n').filter(Boolean);
    return [...new Set(files)];
  }
  if (probe.exitCode !== 0) throw new GitError(['merge-tree'], `git merge-tree failed: ${probe.stderr.trim()}`);
  return [];
}

/**
 * Merges `branch` into main without a checkout: `git merge-tree --write-tree` builds the merged tree from
 * objects (conflicts are reported, nothing is written but objects), `commit-tree` makes the merge commit,
 * and `update-ref` moves main only if it still points where it did. So a branch holding any path at all
 * (`.multiclaude/`, `worktrees/`, `.git`-like names) changes nothing on disk but objects and `main`.
 */
export async function mergeIntoMain(gitDirectory: string, branch: string, message: string): Promise<MergeOutcome> {
  const options = { gitDirectory };
  const before = await resolveCommit(gitDirectory, 'refs/heads/main');
  const tip = await resolveCommit(gitDirectory, `refs/heads/${checkedBranch(branch)}`);
  const isAncestor = async (ancestor: string, descendant: string) =>
    (await gitStatus(['merge-base', '--is-ancestor', '--end-of-options', ancestor, descendant], options)).exitCode === 0;
  if (await isAncestor(tip, before)) return { merged: true, commit: before, fastForward: false };
  const probe = await gitStatus(['merge-tree', '--write-tree', '--name-only', '--no-messages', '--end-of-options', before, tip], options);
  if (probe.exitCode === 1) {
    const [, ...files] = probe.stdout.split('\n').filter(Boolean);
    return { merged: false, conflictingFiles: [...new Set(files)] };
  }
  if (probe.exitCode !== 0) throw new GitError(['merge-tree'], `git merge-tree failed: ${probe.stderr.trim()}`);
  const fastForward = await isAncestor(before, tip);
  const tree = probe.stdout.split('\n')[0]?.trim() ?? '';
  const commit = fastForward ? tip : (await git(['commit-tree', '-p', before, '-p', tip, '-m', message, '--end-of-options', tree], options)).trim();
  // Refused if main moved since it was read: a concurrent merge never gets lost.
  await git(['update-ref', '--end-of-options', 'refs/heads/main', commit, before], options);
  return { merged: true, commit, fastForward };
}

export type ExportFormat = 'bundle' | 'tar' | 'zip';

/** Streams the branch (an agent's, or main) as a git bundle (full history, opens with `git clone`) or an archive of its tip. */
export function exportBranch(gitDirectory: string, branch: string, format: ExportFormat, signal?: AbortSignal): ResultPromise {
  const name = checkedBranch(branch);
  const args =
    format === 'bundle'
      ? ['bundle', 'create', '-', '--end-of-options', `refs/heads/${name}`]
      : ['archive', `--format=${format}`, `--prefix=${name}/`, '--end-of-options', `refs/heads/${name}`];
  return gitStream(args, { gitDirectory, timeoutMs: 5 * 60_000, ...(signal ? { signal } : {}) });
}
