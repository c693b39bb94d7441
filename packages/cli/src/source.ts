// Works out a run's source from --repo/--ref, or from the git repository the command runs in (its top-level directory, at HEAD).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { CliError } from './errors.ts';
import type { RunSource } from './client.ts';

const run = promisify(execFile);
const GIT_TIMEOUT_MS = 10_000;

/** URLs the API takes as they are; anything else is a path on this machine, made absolute. */
function isUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s]+@[^/\s:]+:/.test(repo);
}

async function git(args: string[], cwd: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', args, { cwd, timeout: GIT_TIMEOUT_MS });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

export interface ResolvedSource {
  source: RunSource | undefined;
  /** Things the user should know (uncommitted changes are not part of HEAD). */
  notes: string[];
}

export async function resolveSource(options: { repo?: string | undefined; ref?: string | undefined; cwd: string }): Promise<ResolvedSource> {
  const ref = options.ref?.trim() || undefined;
  if (ref?.startsWith('-')) throw new CliError('usage', `--ref must not start with "-": "${ref}"`);
  if (options.repo !== undefined) {
    const repo = options.repo.trim();
    if (!repo) throw new CliError('usage', '--repo must not be empty');
    if (repo.startsWith('-')) throw new CliError('usage', `--repo must not start with "-": "${repo}"`);
    return { source: { repo: isUrl(repo) ? repo : path.resolve(options.cwd, repo), ...(ref ? { ref } : {}) }, notes: [] };
  }
  const topLevel = await git(['rev-parse', '--show-toplevel'], options.cwd);
  if (!topLevel) {
    if (ref) throw new CliError('usage', '--ref needs a repository: give --repo, or run the command inside a git repository');
    return { source: undefined, notes: [] };
  }
  const notes: string[] = [];
  const changes = await git(['status', '--porcelain', '--untracked-files=no'], topLevel);
  if (changes) notes.push(`${topLevel} has uncommitted changes: the run starts from ${ref ?? 'HEAD'}, without them`);
  return { source: { repo: topLevel, ...(ref ? { ref } : {}) }, notes };
}
