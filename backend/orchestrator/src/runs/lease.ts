// Tells live runs from orphaned ones: the owning process refreshes a lease file per run; a stale lease or a dead local owner means the run was interrupted.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Lease {
  owner: string;
  host: string;
  pid: number;
  heartbeat_at: string;
}

export interface LeaseOptions {
  /** This process's identity; unique per process start. */
  owner: string;
  host: string;
  pid: number;
  /** A lease not refreshed for this long belongs to a dead owner. */
  ttlMs: number;
  now?: () => number;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Leases {
  readonly #options: LeaseOptions;

  constructor(options: LeaseOptions) {
    this.#options = options;
  }

  #path(metadataDirectory: string): string {
    return path.join(metadataDirectory, 'lease.json');
  }

  async renew(metadataDirectory: string): Promise<void> {
    const lease: Lease = {
      owner: this.#options.owner,
      host: this.#options.host,
      pid: this.#options.pid,
      heartbeat_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
    };
    const target = this.#path(metadataDirectory);
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(lease));
    await rename(temporary, target);
  }

  async read(metadataDirectory: string): Promise<Lease | undefined> {
    try {
      return JSON.parse(await readFile(this.#path(metadataDirectory), 'utf8')) as Lease;
    } catch {
      return undefined;
    }
  }

  /** Whether some live process still owns the run. */
  async isLive(metadataDirectory: string): Promise<boolean> {
    const lease = await this.read(metadataDirectory);
    if (!lease) return false;
    if (lease.owner === this.#options.owner) return true;
    // Same host, so a dead pid is certain: no need to wait out the TTL after a crash and restart.
    if (lease.host === this.#options.host && !processAlive(lease.pid)) return false;
    const age = (this.#options.now ?? Date.now)() - Date.parse(lease.heartbeat_at);
    return age < this.#options.ttlMs;
  }
}

export function newOwnerId(): string {
  return randomBytes(8).toString('hex');
}
