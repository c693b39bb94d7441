// Runs git with argument arrays (never a shell string), a timeout and an AbortSignal.
import { execa } from 'execa';

export class GitError extends Error {
  readonly code = 'git_failed';
  readonly args: readonly string[];
  constructor(args: readonly string[], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitError';
    this.args = args;
  }
}

export interface GitOptions {
  cwd: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

// safe.directory: sandboxes may own the files (a different uid from the orchestrator's); hooks and
// signing from a user's global config must not run inside run repositories.
const FIXED_CONFIG = ['-c', 'safe.directory=*', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];

export async function git(args: readonly string[], options: GitOptions): Promise<string> {
  try {
    const result = await execa('git', [...FIXED_CONFIG, ...args], {
      cwd: options.cwd,
      cancelSignal: options.signal,
      timeout: options.timeoutMs ?? 60_000,
      env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdin: 'ignore',
    });
    return result.stdout;
  } catch (error) {
    const detail =
      error && typeof error === 'object' && 'stderr' in error && typeof error.stderr === 'string' && error.stderr
        ? error.stderr.trim()
        : error instanceof Error
          ? error.message
          : String(error);
    throw new GitError(args, `git ${args[0] ?? ''} failed: ${detail}`, { cause: error });
  }
}
