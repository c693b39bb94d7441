// A first-in, first-out semaphore over agent slots: caps the agents running at once across all runs, and admits a run's agents together.

interface Waiter {
  /** Waiters of one group (one run's agents) are queued together and admitted together. */
  group: object;
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
  onWaiting: ((ahead: number) => void) | undefined;
  /** The place last told, so a waiter hears of each change once. */
  told?: number;
}

/** One member of a group asking for a slot: its own cancel signal and its place in the queue, as acquire() takes them. */
export interface SlotRequest {
  signal?: AbortSignal;
  onWaiting?: (ahead: number) => void;
}

export class AgentSlots {
  #capacity: number;
  #inUse = 0;
  readonly #waiters: Waiter[] = [];
  /** Told whenever the slots in use change (the warm pool yields memory to running agents). */
  #onChange: (() => void) | undefined;

  constructor(capacity: number) {
    this.#capacity = checkCapacity(capacity);
  }

  get capacity(): number {
    return this.#capacity;
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Changes the number of slots (the memory-based capacity was measured again); running agents keep theirs. */
  setCapacity(capacity: number): void {
    this.#capacity = checkCapacity(capacity);
    this.#dispatch();
  }

  onChange(listener: () => void): void {
    this.#onChange = listener;
  }

  /**
   * Resolves with a release function once a slot is free; rejects if the signal aborts first. While it
   * waits, `onWaiting` hears how many waiters are ahead of it, each time that changes.
   */
  acquire(signal?: AbortSignal, onWaiting?: (ahead: number) => void): Promise<() => void> {
    return this.acquireGroup([{ ...(signal ? { signal } : {}), ...(onWaiting ? { onWaiting } : {}) }])[0]!;
  }

  /**
   * Queues the members of one group (a run's agents) at once: when the slots can hold the whole group it
   * is admitted in one step, never half of it while a later group takes the rest; a group larger than all
   * the slots takes them as they free. Groups behind it wait (first in, first out, so none starves). A
   * member whose signal aborts leaves the queue, and the rest of its group is admitted without it.
   */
  acquireGroup(requests: readonly SlotRequest[]): Array<Promise<() => void>> {
    const group = {};
    const promises = requests.map(
      ({ signal, onWaiting }) =>
        new Promise<() => void>((resolve, reject) => {
          if (signal?.aborted) {
            reject(signal.reason);
            return;
          }
          const onAbort = (): void => {
            const index = this.#waiters.indexOf(waiter);
            if (index < 0) return;
            this.#waiters.splice(index, 1);
            reject(signal?.reason);
            this.#dispatch();
            this.#tellPositions(index);
          };
          const waiter: Waiter = { group, resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort), onWaiting };
          signal?.addEventListener('abort', onAbort, { once: true });
          this.#waiters.push(waiter);
        }),
    );
    const queuedFrom = this.#waiters.findIndex((waiter) => waiter.group === group);
    this.#dispatch();
    if (queuedFrom >= 0) this.#tellPositions(queuedFrom);
    return promises;
  }

  /** Admits the head of the queue while the slots allow: a whole group, or as much of an oversized one as is free. */
  #dispatch(): void {
    let admitted = false;
    while (this.#waiters.length > 0) {
      const free = this.#capacity - this.#inUse;
      if (free <= 0) break;
      const group = this.#waiters[0]!.group;
      let members = 0;
      while (members < this.#waiters.length && this.#waiters[members]!.group === group) members++;
      if (members <= this.#capacity && free < members) break;
      const count = Math.min(members, free);
      this.#inUse += count;
      admitted = true;
      for (const waiter of this.#waiters.splice(0, count)) {
        waiter.cleanup();
        waiter.resolve(this.#releaser());
      }
    }
    if (admitted) {
      this.#tellPositions(0);
      this.#onChange?.();
    }
  }

  /** Tells the waiters from `from` on their new place after one ahead of them left. */
  #tellPositions(from: number): void {
    if (from < 0) return;
    this.#waiters.slice(from).forEach((waiter, offset) => {
      if (waiter.told === from + offset) return;
      waiter.told = from + offset;
      waiter.onWaiting?.(from + offset);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse--;
      this.#dispatch();
      this.#onChange?.();
    };
  }
}

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  return capacity;
}
