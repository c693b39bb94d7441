// Tells live runs from orphaned ones: the owning process refreshes a lease per run in the store; a stale lease or a dead local owner means the run was interrupted.
import { randomBytes } from 'node:crypto';
import type { RunStore } from './run-store.ts';

export interface LeaseOptions {
  store: RunStore;
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

  async renew(runId: string): Promise<void> {
    const { owner, host, pid, now } = this.#options;
    await this.#options.store.writeLease(runId, { owner, host, pid, heartbeat_at: new Date((now ?? Date.now)()).toISOString() });
  }

  /** Whether some live process still owns the run. */
  async isLive(runId: string): Promise<boolean> {
    const lease = await this.#options.store.readLease(runId);
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
