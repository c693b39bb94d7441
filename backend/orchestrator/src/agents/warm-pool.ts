// Keeps a few warm spare `claude` sessions (WARM_POOL_SIZE) ready for agents to claim, starts more while a run's repository is being set up, reaps spares that idle, counts them against the agent capacity, and leaves none behind when closed.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { CapacityUser } from '../runs/capacity.ts';
import { WarmSpare, type SpareSettings } from './warm-session.ts';

/** What the pool needs of a spare (a WarmSpare; tests give fakes). */
export type PooledSpare = Pick<WarmSpare, 'close' | 'exited' | 'directory'>;

export interface WarmPoolOptions<Spare extends PooledSpare = WarmSpare> {
  /** Spares kept ready (WARM_POOL_SIZE); 0 turns warm starts off. */
  size: number;
  /** A spare nobody claimed for this long is closed (WARM_POOL_IDLE_MS); the pool fills again when the next run arrives. */
  idleMs: number;
  /** Where spares keep their HOME and Claude config dir (emptied at start: spares of a dead orchestrator are gone with it). */
  directory: string;
  /** Starts one spare in the directory given. */
  startSpare: (directory: string) => Promise<Spare>;
  logger: Logger;
}

interface Parked<Spare> {
  spare: Spare;
  timer: NodeJS.Timeout;
}

export class WarmPool<Spare extends PooledSpare = WarmSpare> implements CapacityUser {
  readonly #options: WarmPoolOptions<Spare>;
  readonly #ready: Array<Parked<Spare>> = [];
  /** Spares being started. */
  #starting = 0;
  /** Agents waiting for a spare that is being started for them. */
  readonly #claims: Array<(spare: Spare | undefined) => void> = [];
  /** How many spares are wanted now: the pool's size, more while a run's agents are about to claim them. */
  #wanted: number;
  #allowance = Number.POSITIVE_INFINITY;
  #closed = false;
  #started = false;
  readonly #startups = new Set<Promise<void>>();
  /** Counted for tests and /diagnostics. */
  readonly stats = { started: 0, claimed: 0, reaped: 0, failed: 0 };

  constructor(options: WarmPoolOptions<Spare>) {
    this.#options = options;
    this.#wanted = options.size;
  }

  get size(): number {
    return this.#options.size;
  }

  /** Spares held now, ready or starting: each is counted against the agent capacity. */
  get spares(): number {
    return this.#ready.length + this.#starting;
  }

  get ready(): number {
    return this.#ready.length;
  }

  /** Clears what a dead orchestrator's spares left, then fills the pool. */
  async start(): Promise<void> {
    await rm(this.#options.directory, { recursive: true, force: true }).catch(() => undefined);
    this.#started = true;
    this.#fill();
  }

  /** A run accepted now will want this many agents: start spares for them while its repository is made. */
  prepare(agents: number): void {
    if (this.#options.size === 0 || this.#closed) return;
    this.#wanted = Math.max(this.#wanted, this.#options.size, agents - this.#claims.length);
    this.#fill();
  }

  /** Capacity left by running agents: spares beyond it are closed, so agents always come first. */
  setAllowance(spares: number): void {
    this.#allowance = spares;
    while (this.spares > this.#allowance && this.#ready.length > 0) void this.#discard(this.#ready.pop()!, 'capacity');
    this.#fill();
  }

  /**
   * A spare for an agent about to start: a ready one, else one being started (cheaper to wait for than to
   * start another), else undefined (the agent starts cold).
   */
  async take(signal?: AbortSignal): Promise<Spare | undefined> {
    if (this.#closed || signal?.aborted) return undefined;
    const parked = this.#ready.shift();
    if (parked) {
      clearTimeout(parked.timer);
      this.#claimed();
      return parked.spare;
    }
    if (this.#starting <= this.#claims.length) return undefined;
    return new Promise((resolve) => {
      // A cancelled agent stops waiting at once; the spare it would have had stays for the next.
      const onAbort = (): void => {
        const index = this.#claims.indexOf(claim);
        if (index >= 0) this.#claims.splice(index, 1);
        resolve(undefined);
      };
      const claim = (spare: Spare | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(spare);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#claims.push(claim);
    });
  }

  #claimed(): void {
    this.stats.claimed++;
    this.#wanted = Math.max(this.#options.size, this.#wanted - 1);
    this.#fill();
  }

  #fill(): void {
    while (this.#started && !this.#closed && this.spares < Math.min(this.#wanted, this.#allowance)) this.#startOne();
  }

  #startOne(): void {
    this.#starting++;
    const directory = path.join(this.#options.directory, `spare-${randomBytes(6).toString('hex')}`);
    const startup = this.#options
      .startSpare(directory)
      .then(
        (spare) => {
          this.#starting--;
          this.stats.started++;
          return this.#arrived(spare);
        },
        (error: unknown) => {
          this.#starting--;
          this.stats.failed++;
          this.#options.logger.warn({ err: error }, 'a warm spare session could not start; agents start cold meanwhile');
          // A spare that cannot start now will not start in a loop: wait for the next run to ask again.
          this.#wanted = Math.min(this.#wanted, this.spares);
          while (this.#claims.length > this.#starting) this.#claims.pop()!(undefined);
        },
      )
      .finally(() => this.#startups.delete(startup));
    this.#startups.add(startup);
  }

  async #arrived(spare: Spare): Promise<void> {
    if (this.#closed) {
      await spare.close();
      return;
    }
    const waiting = this.#claims.shift();
    if (waiting) {
      this.#claimed();
      waiting(spare);
      return;
    }
    const parked: Parked<Spare> = { spare, timer: setTimeout(() => void this.#reap(parked), this.#options.idleMs) };
    parked.timer.unref();
    this.#ready.push(parked);
    // A parked spare that dies (killed, out of memory) is dropped and replaced.
    void spare.exited.then(() => {
      const index = this.#ready.indexOf(parked);
      if (index < 0) return;
      this.#ready.splice(index, 1);
      clearTimeout(parked.timer);
      void rm(spare.directory, { recursive: true, force: true }).catch(() => undefined);
      this.#fill();
    });
    if (this.spares > this.#allowance) void this.#discard(this.#ready.pop()!, 'capacity');
  }

  async #reap(parked: Parked<Spare>): Promise<void> {
    const index = this.#ready.indexOf(parked);
    if (index < 0) return;
    this.#ready.splice(index, 1);
    this.stats.reaped++;
    // The pool shrinks while nobody needs it; the next run fills it again (prepare).
    this.#wanted = Math.min(this.#wanted, this.spares);
    this.#options.logger.debug({ idle_ms: this.#options.idleMs }, 'warm spare idle: closed');
    await parked.spare.close();
  }

  async #discard(parked: Parked<Spare>, why: string): Promise<void> {
    clearTimeout(parked.timer);
    this.#options.logger.debug({ why }, 'warm spare closed');
    await parked.spare.close();
  }

  /** Closes every spare, waiting for those still starting: none is left behind. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const resolve of this.#claims.splice(0)) resolve(undefined);
    const parked = this.#ready.splice(0);
    await Promise.all(parked.map((entry) => this.#discard(entry, 'shutdown')));
    // Those still starting are closed as they arrive (#arrived); wait for them.
    while (this.#startups.size > 0) await Promise.allSettled([...this.#startups]);
    await rm(this.#options.directory, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The pool over real spares (prewarm()), their start-ups paced by the same gate as cold ones. */
export function createWarmPool(options: {
  size: number;
  idleMs: number;
  directory: string;
  settings: SpareSettings;
  startupGate?: { acquire(signal?: AbortSignal): Promise<() => void> };
  logger: Logger;
}): WarmPool {
  const logger = options.logger.child({ component: 'warm-pool' });
  return new WarmPool({
    size: options.size,
    idleMs: options.idleMs,
    directory: options.directory,
    logger,
    startSpare: async (directory) => {
      const release = await options.startupGate?.acquire();
      try {
        return await WarmSpare.start(options.settings, directory, logger);
      } finally {
        release?.();
      }
    },
  });
}
