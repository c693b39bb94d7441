// Warm pods for the kubernetes runtime: keeps KUBERNETES_WARM_PODS sandbox pods running unclaimed, each over an empty slot directory of the workspace, so an agent's sandbox is ready without waiting for a pod to start.
//
// How a pod made before its run gets the agent's repository: a pod's subPath is fixed when it starts,
// and a bind mount follows the directory, not its name. So each warm pod mounts a slot directory of its
// own (`.multiclaude/sandbox-pool/<pod>`); claiming it moves the repository's entries into the slot and
// then renames the slot to the repository's path. The repository ends where the orchestrator expects it
// (imports, review), and it is the very directory the pod has at /workspace. Nothing else of the
// workspace was ever mounted in the pod.
//
// Pool pods carry the pool label and their owner (this orchestrator), never a run id. An unclaimed pod
// older than MAX_IDLE_MS is replaced, so a pool pod older than STALE_POOL_MS belongs to a dead
// orchestrator and any sweep may delete it.
import { mkdir, readdir, rename, rm, rmdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { RECORDS_DIRECTORY } from '../workspace/layout.ts';

/** Where the slots live, relative to the workspace root (outside every run). */
export const POOL_DIRECTORY = path.posix.join(RECORDS_DIRECTORY, 'sandbox-pool');
export const MAX_IDLE_MS = 10 * 60 * 1000;
export const STALE_POOL_MS = 15 * 60 * 1000;
const RECYCLE_EVERY_MS = 60 * 1000;
const RETRY_AFTER_MS = 10 * 1000;

export interface WarmPod {
  name: string;
  /** The slot directory the pod mounts at /workspace, as this process sees it. */
  slotDirectory: string;
  readyAt: number;
}

export interface WarmPoolOptions {
  size: number;
  workspaceLocal: string;
  /** Creates the pod over the slot (subPath relative to the claim) and resolves once it runs. */
  create(name: string, subPath: string): Promise<void>;
  remove(name: string): Promise<void>;
  /** A fresh, unique pod name. */
  nextName(): string;
  logger: Logger;
}

export class WarmPool {
  readonly #options: WarmPoolOptions;
  readonly #ready: WarmPod[] = [];
  #starting = 0;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(options: WarmPoolOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.#recycle(), RECYCLE_EVERY_MS);
    this.#timer.unref();
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  get size(): number {
    return this.#options.size;
  }

  /** A running pod, taken out of the pool (which starts a replacement), or undefined when none is ready. */
  take(): WarmPod | undefined {
    const pod = this.#ready.shift();
    this.fill();
    return pod;
  }

  /** Starts pods until ready and starting ones make the pool's size. */
  fill(): void {
    while (!this.#closed && this.#ready.length + this.#starting < this.#options.size) {
      this.#starting++;
      void this.#startOne().finally(() => this.#starting--);
    }
  }

  async #startOne(): Promise<void> {
    const { workspaceLocal, create, remove, nextName, logger } = this.#options;
    const name = nextName();
    const subPath = path.posix.join(POOL_DIRECTORY, name);
    const slotDirectory = path.join(workspaceLocal, ...subPath.split('/'));
    try {
      await mkdir(slotDirectory, { recursive: true, mode: 0o700 });
      await create(name, subPath);
      if (this.#closed) throw new Error('pool closed');
      this.#ready.push({ name, slotDirectory, readyAt: Date.now() });
      logger.debug({ pod: name }, 'warm sandbox pod ready');
    } catch (error) {
      await remove(name);
      await rm(slotDirectory, { recursive: true, force: true });
      if (this.#closed) return;
      logger.warn({ err: error, pod: name }, 'could not start a warm sandbox pod; retrying later');
      await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS).unref());
    }
  }

  /** Replaces pods idle for longer than MAX_IDLE_MS (so none outlives STALE_POOL_MS while this process lives). */
  async #recycle(): Promise<void> {
    const now = Date.now();
    const old = this.#ready.filter((pod) => now - pod.readyAt > MAX_IDLE_MS);
    for (const pod of old) {
      this.#ready.splice(this.#ready.indexOf(pod), 1);
      await this.discard(pod);
    }
    this.fill();
  }

  /** Deletes a pod of the pool and its slot. */
  async discard(pod: WarmPod): Promise<void> {
    await this.#options.remove(pod.name);
    await rm(pod.slotDirectory, { recursive: true, force: true });
  }

  /** Deletes every ready pod; nothing more is started. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const pods = this.#ready.splice(0);
    await Promise.all(pods.map((pod) => this.discard(pod)));
  }
}

/**
 * Makes `slot` the agent's repository at `repository`'s path: moves its entries into the slot, removes the
 * emptied directory, and renames the slot into its place (one file system: the workspace claim).
 */
export async function adoptRepository(repository: string, slot: string): Promise<void> {
  const moved: string[] = [];
  let removed = false;
  try {
    for (const entry of await readdir(repository)) {
      await rename(path.join(repository, entry), path.join(slot, entry));
      moved.push(entry);
    }
    await rmdir(repository);
    removed = true;
    await rename(slot, repository);
  } catch (error) {
    // Put back what moved: the repository stays whole where it was (the slot, which the caller removes, is
    // left empty), and the agent starts cold.
    if (removed) await mkdir(repository, { mode: 0o700 }).catch(() => undefined);
    for (const entry of moved) await rename(path.join(slot, entry), path.join(repository, entry)).catch(() => undefined);
    throw error;
  }
  await chmod(repository, 0o700);
}
