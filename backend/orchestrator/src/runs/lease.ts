// Tells live runs from orphaned ones: the owning process refreshes a lease per run in the store, which expires by the database's clock; an expired lease or a dead local owner means the run was interrupted.
import { randomBytes } from 'node:crypto';
import type { Lease, LeaseHolder, RunStore } from './run-store.ts';

export interface LeaseOptions {
  store: RunStore;
  /** This process's identity; unique per process start. */
  owner: string;
  host: string;
  pid: number;
  /** A lease not refreshed for this long belongs to a dead owner. */
  ttlMs: number;
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
  readonly #holder: LeaseHolder;

  constructor(options: LeaseOptions) {
    this.#options = options;
    this.#holder = { owner: options.owner, host: options.host, pid: options.pid };
  }

  async renew(runId: string): Promise<void> {
    await this.#options.store.renewLease(runId, this.#holder, this.#options.ttlMs);
  }

  /** Whether some live process still holds the lease. */
  isLive(lease: Lease | undefined): boolean {
    if (!lease) return false;
    if (lease.owner === this.#holder.owner) return true;
    // Same host, so a dead pid is certain: no need to wait out the TTL after a crash and restart.
    if (lease.host === this.#holder.host && !processAlive(lease.pid)) return false;
    return !lease.expired;
  }
}

export function newOwnerId(): string {
  return randomBytes(8).toString('hex');
}
