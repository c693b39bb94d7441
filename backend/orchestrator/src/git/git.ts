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
  /** Extra environment for this git process only (a source's credential configuration: never argv, never a file). */
  env?: Record<string, string>;
}

// safe.directory: sandboxes may own the files (a different uid from the orchestrator's); hooks and
// signing from a user's global config must not run inside run repositories.
const FIXED_CONFIG = ['-c', 'safe.directory=*', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];

export async function git(args: readonly string[], options: GitOptions): Promise<string> {
  return (await gitRaw(args, options, 'utf8')) as string;
}

/** As git(), with stdout as bytes (file contents, archives). */
export async function gitBytes(args: readonly string[], options: GitOptions): Promise<Buffer> {
  return Buffer.from((await gitRaw(args, options, 'buffer')) as Uint8Array);
}

/** Exit code and output of a git command that may legitimately fail (merge-tree reports conflicts by exit 1). */
export async function gitStatus(args: readonly string[], options: GitOptions): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execGit(args, options, 'utf8', false);
  if (result.exitCode === undefined) throw new GitError(args, `git ${args[0] ?? ''} failed: ${result.message ?? 'did not run'}`);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function execGit(args: readonly string[], options: GitOptions, encoding: 'utf8' | 'buffer', reject: boolean) {
  return execa('git', [...FIXED_CONFIG, ...args], {
    cwd: options.cwd,
    cancelSignal: options.signal,
    timeout: options.timeoutMs ?? 60_000,
    env: { ...options.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    stdin: 'ignore',
    encoding,
    reject,
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function gitRaw(args: readonly string[], options: GitOptions, encoding: 'utf8' | 'buffer'): Promise<string | Uint8Array> {
  try {
    const result = await execGit(args, options, encoding, true);
    return result.stdout as string | Uint8Array;
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
