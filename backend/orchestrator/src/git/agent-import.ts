// Imports an agent's work into the run repository: fetches its branch from the agent's own repository with every object checked, as the agent's user, and moves `agent-N` in the run repository.
//
// The agent's repository is attacker-controlled: its config, hooks, refs, alternates and object files
// are whatever the agent wrote. So the host never runs git *in* it with its own configuration. The run
// repository (the host's) runs `git fetch`, whose only contact with the agent's repository is an
// `upload-pack` started (1) with the fixed configuration on its command line (a local upload-pack does
// not inherit `-c`), so a planted `core.fsmonitor`, hook or `uploadpack.packObjectsHook` never runs,
// and (2) when the orchestrator is root, as the agent's own user (setpriv), so a symlink or an
// `include.path` planted there can read nothing that user could not read already (it is handed the
// repository's directory, so it needs no way through the workspace's parents). What arrives is
// checked (`fetch.fsckObjects`) before any ref moves; `refs/heads/` refuses anything but a commit.
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { git, GitError } from './git.ts';
import type { AgentPaths, RunPaths } from '../workspace/layout.ts';

/** A user to read an agent's repository as (the sandbox's); none means this process's own. */
export interface RepositoryUser {
  uid: number;
  gid: number;
}

export interface ImportOptions {
  user?: RepositoryUser | undefined;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type ImportOutcome = { imported: true; commit: string } | { imported: false; reason: string };

const SETPRIV = '/usr/bin/setpriv';

/** Configuration of the upload-pack that reads the agent's repository: nothing it finds there may run a program. */
const UPLOAD_PACK_CONFIG = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.alternateRefsCommand=',
  'uploadpack.allowFilter=false',
  'uploadpack.allowAnySHA1InWant=false',
  'safe.directory=*',
];

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `--upload-pack` command line. git runs it through `sh -c`, appending the repository path, which is
 * ignored: the shell enters `gitDirectory` (a physical path, as this process's user, so the sandbox user
 * needs no way through the directories above it), refuses it if it is not that very directory (a symlink
 * swapped in), and only then becomes the sandbox user and serves `.`.
 */
export function uploadPackCommand(user: RepositoryUser | undefined, gitDirectory: string): string {
  for (const id of user ? [user.uid, user.gid] : []) {
    if (!Number.isSafeInteger(id) || id <= 0) throw new GitError(['fetch'], `not a sandbox user id: ${id}`);
  }
  const asUser = user ? [SETPRIV, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--no-new-privs', '--'] : [];
  const environment = ['env', 'GIT_CONFIG_NOSYSTEM=1', 'GIT_CONFIG_GLOBAL=/dev/null', 'HOME=/nonexistent'];
  const uploadPack = [...asUser, ...environment, 'git', ...UPLOAD_PACK_CONFIG.flatMap((setting) => ['-c', setting]), 'upload-pack', '.'].join(' ');
  const script = `cd -P -- "$0" && [ "$(pwd -P)" = "$0" ] && exec ${uploadPack}`;
  return `sh -c ${shellQuote(script)} ${shellQuote(gitDirectory)}`;
}

/** Why the agent's repository cannot be read safely, or undefined when it can. */
async function refuseReason(agent: AgentPaths): Promise<string | undefined> {
  const gitDirectory = await lstat(agent.gitDirectory).catch(() => undefined);
  if (!gitDirectory?.isDirectory()) return `${agent.relativeWorktree}/.git is not a directory (replaced or removed)`;
  // An alternates file would make upload-pack serve objects from wherever it points.
  for (const name of ['alternates', 'http-alternates']) {
    if (await lstat(path.join(agent.gitDirectory, 'objects', 'info', name)).catch(() => undefined)) {
      return `${agent.relativeWorktree} borrows objects from another repository (objects/info/${name})`;
    }
  }
  // A symlink among the objects or refs would make upload-pack serve whatever it points at (as this
  // process's user when there is no sandbox user to read as).
  for (const name of ['objects', 'refs']) {
    const entries = await readdir(path.join(agent.gitDirectory, name), { recursive: true, withFileTypes: true }).catch(() => []);
    const link = entries.find((entry) => entry.isSymbolicLink());
    if (link) return `${agent.relativeWorktree}/.git/${name} holds a symlink (${path.relative(agent.gitDirectory, path.join(link.parentPath ?? link.path, link.name))})`;
  }
  for (const name of ['HEAD', 'packed-refs', 'shallow', 'commondir']) {
    if ((await lstat(path.join(agent.gitDirectory, name)).catch(() => undefined))?.isSymbolicLink()) return `${agent.relativeWorktree}/.git/${name} is a symlink`;
  }
  return undefined;
}

/**
 * Fetches `agent-N` from the agent's repository into the run repository's `agent-N`. Call it once the
 * agent's processes have ended (its repository is quiescent). Never throws: a refused or failed import
 * leaves the run's `agent-N` where it was and says why.
 */
export async function importAgentWork(run: RunPaths, agent: AgentPaths, options: ImportOptions = {}): Promise<ImportOutcome> {
  const refused = await refuseReason(agent);
  if (refused) return { imported: false, reason: refused };
  // The worktrees directory is the orchestrator's, so its physical path is no agent's choice.
  const physical = path.join(await realpath(run.worktreesDirectory), agent.branchName, '.git');
  const branch = `refs/heads/${agent.branchName}`;
  const gitOptions = { gitDirectory: run.gitDirectory, timeoutMs: options.timeoutMs ?? 5 * 60_000, ...(options.signal ? { signal: options.signal } : {}) };
  try {
    await git(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        '--no-recurse-submodules',
        '--no-auto-gc',
        `--upload-pack=${uploadPackCommand(options.user, physical)}`,
        '--end-of-options',
        agent.gitDirectory,
        `+${branch}:${branch}`,
      ],
      gitOptions,
    );
    return { imported: true, commit: (await git(['rev-parse', '--verify', '--end-of-options', `${branch}^{commit}`], gitOptions)).trim() };
  } catch (error) {
    return { imported: false, reason: (error as Error).message };
  }
}

/** How often a running agent's commits are imported, so a crash of the orchestrator loses at most this much of them. */
export const IMPORT_INTERVAL_MS = 5_000;

export interface ImportSchedule {
  /** Stops the periodic imports, then imports once more (call after the agent's processes have ended). */
  finish(): Promise<ImportOutcome>;
}

/**
 * What the agent's branch looks like on disk (its loose ref and packed-refs), only to tell whether it
 * moved since the last import: compared, never parsed or trusted. Symlinks are not followed.
 */
async function branchFingerprint(agent: AgentPaths): Promise<string> {
  const read = async (file: string) => ((await lstat(file).catch(() => undefined))?.isFile() ? await readFile(file, 'utf8').catch(() => '') : '?');
  return `${await read(path.join(agent.gitDirectory, 'refs', 'heads', agent.branchName))}\0${await read(path.join(agent.gitDirectory, 'packed-refs'))}`;
}

/**
 * Imports the agent's work every `intervalMs` while it runs, one import at a time and only when its
 * branch moved (so ten idle agents cost ten small file reads, not ten fetches); failures wait for the next turn.
 */
export function scheduleImports(run: RunPaths, agent: AgentPaths, options: ImportOptions & { intervalMs?: number }): ImportSchedule {
  let last: Promise<unknown> = Promise.resolve();
  let busy = false;
  let imported = '';
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    last = (async () => {
      const fingerprint = await branchFingerprint(agent);
      if (fingerprint === imported) return;
      if ((await importAgentWork(run, agent, options)).imported) imported = fingerprint;
    })().finally(() => (busy = false));
  }, options.intervalMs ?? IMPORT_INTERVAL_MS);
  timer.unref();
  return {
    finish: async () => {
      clearInterval(timer);
      await last;
      return importAgentWork(run, agent, options);
    },
  };
}
