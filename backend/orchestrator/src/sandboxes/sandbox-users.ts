// Gives each sandbox an unprivileged user of its own (from SANDBOX_UID_RANGE) when the orchestrator runs as root, and hands the agent's repository to that user and back.
//
// Why per sandbox: an agent's tools, and the upload-pack that reads its repository for the host
// (agent-import.ts), run as that user, so they can open the agent's own repository and nothing of another
// agent's or the orchestrator's (0700 directories owned by someone else). A user is free again only once
// the repository it owned has been taken back (its top directory root's and 0700), so a later sandbox
// given the same uid cannot open what an earlier one left.
import { chmod, lchown, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { runCommandOrThrow } from '../process/commands.ts';
import { SandboxError } from './runtime.ts';

export interface SandboxUser {
  uid: number;
  gid: number;
}

export interface UidRange {
  first: number;
  last: number;
}

/** SANDBOX_UID_RANGE's default: far from system users (< 1000), people (1000+) and the image's 10001. */
export const DEFAULT_UID_RANGE: UidRange = { first: 20000, last: 29999 };

const CHOWN_TIMEOUT_MS = 120_000;

export class SandboxUsers {
  readonly #range: UidRange;
  readonly #inUse = new Set<number>();
  #next: number;

  constructor(range: UidRange) {
    this.#range = range;
    // A random start: another orchestrator on the same machine (or this one before a restart) is unlikely to hand out the same uids.
    this.#next = range.first + Math.floor(Math.random() * (range.last - range.first + 1));
  }

  /** A user no live sandbox of this process has; throws when the range is used up. */
  allocate(): SandboxUser {
    const size = this.#range.last - this.#range.first + 1;
    for (let tried = 0; tried < size; tried++) {
      const uid = this.#next;
      this.#next = uid >= this.#range.last ? this.#range.first : uid + 1;
      if (this.#inUse.has(uid)) continue;
      this.#inUse.add(uid);
      return { uid, gid: uid };
    }
    throw new SandboxError('sandbox_setup_failed', `every uid of SANDBOX_UID_RANGE (${this.#range.first}-${this.#range.last}) is in use`);
  }

  release(user: SandboxUser | undefined): void {
    if (user) this.#inUse.delete(user.uid);
  }
}

/** Hands the agent's repository (everything in it, symlinks themselves and never their targets) to the sandbox user, 0700. */
export async function handRepositoryTo(repository: string, user: SandboxUser, signal?: AbortSignal): Promise<void> {
  try {
    await runCommandOrThrow({ command: 'chown', args: ['-R', '-P', '-h', `${user.uid}:${user.gid}`, '--', repository], env: process.env, timeoutMs: CHOWN_TIMEOUT_MS }, signal);
    await chmod(repository, 0o700);
  } catch (error) {
    throw new SandboxError('sandbox_setup_failed', `could not hand ${repository} to the sandbox user ${user.uid}: ${(error as Error).message}`, { cause: error });
  }
}

/** Takes the repository back: its top directory becomes root's and 0700, so no sandbox user can open it again. */
export async function takeRepositoryBack(repository: string): Promise<void> {
  await lchown(repository, process.getuid?.() ?? 0, process.getgid?.() ?? 0).catch(() => undefined);
  await chmod(repository, 0o700).catch(() => undefined);
}

/**
 * Lets sandbox users pass through (never list) every directory from `root` down to `directory`: adds the
 * search bit for others, and refuses, naming it, a directory above `root` they cannot pass (e.g. /root).
 */
export async function allowPassage(directory: string, root: string): Promise<void> {
  const relative = path.relative(root, directory);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new SandboxError('sandbox_setup_failed', `${directory} is not inside ${root}`);
  const parts = relative.split(path.sep).filter(Boolean);
  for (let index = 0; index <= parts.length; index++) {
    const current = path.join(root, ...parts.slice(0, index));
    const { mode } = await stat(current);
    if ((mode & 0o011) !== 0o011) await chmod(current, (mode & 0o7777) | 0o011);
  }
  for (let parent = path.dirname(root); ; parent = path.dirname(parent)) {
    const { mode } = await stat(parent);
    if ((mode & 0o001) === 0) {
      throw new SandboxError(
        'sandbox_setup_failed',
        `sandbox users cannot reach the workspace: ${parent} is not searchable by others; put WORKSPACE_LOCAL where they can pass (e.g. /var/lib/multiclaude)`,
      );
    }
    if (parent === path.dirname(parent)) break;
  }
}

/** A directory the sandbox user owns (0700), reachable through `root` when one is given. */
export async function makeUserDirectory(directory: string, root: string | undefined, user: SandboxUser): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o711 });
  if (root) await allowPassage(path.dirname(directory), root);
  await lchown(directory, user.uid, user.gid);
  await chmod(directory, 0o700);
}

/** Who a sandbox runs as, and the user of its own it was given (undefined: this process's own user). */
export interface SandboxOwnership {
  uid: number;
  gid: number;
  user: SandboxUser | undefined;
}

/**
 * The sandbox's user: with `users` (this process is root), a user of its own that the agent's repository
 * is handed to; otherwise this process's own, which already owns it.
 */
export async function claimRepository(users: SandboxUsers | undefined, repository: string, signal?: AbortSignal): Promise<SandboxOwnership> {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0 || !users) return { uid, gid: process.getgid?.() ?? uid, user: undefined };
  const user = users.allocate();
  try {
    await handRepositoryTo(repository, user, signal);
  } catch (error) {
    users.release(user);
    throw error;
  }
  return { ...user, user };
}

/** Undoes claimRepository: the repository back to this process, the user free again. */
export async function returnRepository(users: SandboxUsers | undefined, repository: string, user: SandboxUser | undefined): Promise<void> {
  if (!user) return;
  await takeRepositoryBack(repository);
  users?.release(user);
}
