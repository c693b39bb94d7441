// A first-in, first-out semaphore over agent slots: caps the agents running at once across all runs.

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
  onWaiting: ((ahead: number) => void) | undefined;
}

export class AgentSlots {
  readonly #capacity: number;
  #inUse = 0;
  readonly #waiters: Waiter[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
  }

  /**
   * Resolves with a release function once a slot is free; rejects if the signal aborts first. While it
   * waits, `onWaiting` hears how many waiters are ahead of it, each time that changes.
   */
  acquire(signal?: AbortSignal, onWaiting?: (ahead: number) => void): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inUse < this.#capacity && this.#waiters.length === 0) {
      this.#inUse++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
        this.#tellPositions(index);
      };
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort), onWaiting };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      onWaiting?.(this.#waiters.length - 1);
    });
  }

  /** Tells the waiters from `from` on their new place after one ahead of them left. */
  #tellPositions(from: number): void {
    if (from < 0) return;
    this.#waiters.slice(from).forEach((waiter, offset) => waiter.onWaiting?.(from + offset));
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) {
        next.cleanup();
        next.resolve(this.#releaser());
        this.#tellPositions(0);
      } else {
        this.#inUse--;
      }
    };
  }
}
