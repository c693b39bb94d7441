// Runs git for the orchestrator — the only place that does — with argument arrays (never a shell string), a fixed configuration that trusts nothing on disk, a timeout and an AbortSignal.
//
// Every repository git touches here may hold what an agent wrote, so no call site chooses how git is
// started: the environment is built from nothing (no variable of the orchestrator's, no system or global
// config, no replace refs, no terminal prompt), and FIXED_CONFIG turns off every setting that would make
// git run a program, follow a planted symlink or reach past a local path. Run repositories are always
// named by their git directory (`--git-dir`), never found by walking up from a directory.
import { execa, type ResultPromise } from 'execa';

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
  /** The repository's git directory (`<run>/.git`); git is given it with `--git-dir` and never searches for one. */
  gitDirectory?: string;
  /** Working directory of the process (for `init`, `clone`, and tests working in a checkout). */
  cwd?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Standard input (e.g. `update-ref --stdin`); none when not given. */
  input?: string;
  /** An index file of this process's own (GIT_INDEX_FILE): the setup tree's checkout leaves the run repository's index alone. */
  indexFile?: string;
  /** Only for the orchestrator's own transfers with a run's source (git/source.ts); every other git process reaches no remote. */
  remote?: RemoteAccess;
}

/**
 * What one git process that talks to a run's source may use: the protocols of that source alone (every
 * other stays `never`), and variables of that process alone: the credential helpers as
 * GIT_CONFIG_COUNT/KEY/VALUE (never argv, never a file), the secrets they read, and the ssh command.
 */
export interface RemoteAccess {
  protocols: readonly RemoteProtocol[];
  environment: Record<string, string>;
}

export type RemoteProtocol = 'file' | 'git' | 'http' | 'https' | 'ssh';

/**
 * Configuration every git process gets on its command line (which outranks the repository's own):
 * nothing runs (hooks, fsmonitor, external diff, pagers, credential helpers, signing), nothing reaches past
 * a local path (protocols), reflogs are not written (a planted reflog symlink is never followed),
 * and auto-gc/maintenance never start in the background.
 */
export const FIXED_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.logAllRefUpdates=false',
  'core.pager=cat',
  'core.askPass=',
  'core.sshCommand=false',
  'credential.helper=',
  'diff.external=',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'protocol.allow=never',
  'protocol.file.allow=always',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'transfer.fsckObjects=true',
  'fetch.fsckObjects=true',
  'receive.fsckObjects=true',
  // Agent repositories belong to the sandbox's user, not to the orchestrator's; they are only ever read
  // through an upload-pack started with this same configuration (agent-import.ts).
  'safe.directory=*',
].flatMap((setting) => ['-c', setting]);

/**
 * A source transfer's configuration: FIXED_CONFIG without what would stop the transfer itself — the
 * empty credential helper (on the command line it would outrank and reset the helpers the process's
 * environment gives), the disabled ssh and the blanket `file` protocol — and with the source's protocols.
 */
function remoteConfiguration(remote: RemoteAccess): string[] {
  const dropped = new Set(['-c credential.helper=', '-c core.sshCommand=false', '-c protocol.file.allow=always']);
  const kept: string[] = [];
  for (let index = 0; index < FIXED_CONFIG.length; index += 2) {
    if (!dropped.has(`${FIXED_CONFIG[index]} ${FIXED_CONFIG[index + 1]}`)) kept.push(FIXED_CONFIG[index]!, FIXED_CONFIG[index + 1]!);
  }
  return [...kept, ...remote.protocols.flatMap((protocol) => ['-c', `protocol.${protocol}.allow=always`])];
}

/** The whole environment of a git process: nothing inherited from the orchestrator (its secrets, GIT_DIR, HOME). */
export function gitEnvironment(): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_OPTIONAL_LOCKS: '0',
    HOME: '/nonexistent',
  };
}

/** Branch names the orchestrator ever passes to git: `main` and `agent-<N>` (a subset of what `git check-ref-format --branch` accepts). */
const BRANCH_NAME = /^(?:main|agent-[1-9][0-9]{0,5})$/;

/** The name, if it is one of the run's branches; throws otherwise, so a value read from disk never reaches git as an option or a path. */
export function checkedBranch(name: string): string {
  if (!BRANCH_NAME.test(name)) throw new GitError([], `not a branch of a run: ${JSON.stringify(name.slice(0, 64))}`);
  return name;
}

function fullArguments(args: readonly string[], options: GitOptions): string[] {
  return [...(options.remote ? remoteConfiguration(options.remote) : FIXED_CONFIG), ...(options.gitDirectory ? [`--git-dir=${options.gitDirectory}`] : []), ...args];
}

/** gitEnvironment() and this process's own additions (its index file, a source transfer's variables). */
function processEnvironment(options: GitOptions): Record<string, string> {
  return {
    ...options.remote?.environment,
    ...gitEnvironment(),
    ...(options.indexFile ? { GIT_INDEX_FILE: options.indexFile } : {}),
  };
}

function execGit(args: readonly string[], options: GitOptions, encoding: 'utf8' | 'buffer', reject: boolean) {
  return execa('git', fullArguments(args, options), {
    cwd: options.cwd ?? '/',
    cancelSignal: options.signal,
    timeout: options.timeoutMs ?? 60_000,
    env: processEnvironment(options),
    extendEnv: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    encoding,
    reject,
    maxBuffer: 64 * 1024 * 1024,
  });
}

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

/** A git process whose stdout is streamed to the caller (exports), with the same configuration as every other. */
export function gitStream(args: readonly string[], options: GitOptions & { timeoutMs: number }): ResultPromise {
  return execa('git', fullArguments(args, options), {
    cwd: options.cwd ?? '/',
    cancelSignal: options.signal,
    timeout: options.timeoutMs,
    env: processEnvironment(options),
    extendEnv: false,
    stdin: 'ignore',
    encoding: 'buffer',
    buffer: false,
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
