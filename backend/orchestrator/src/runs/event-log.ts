// One active run's event log: numbers its events, keeps them for replay, tells live subscribers, and writes events and state to the store in order, retrying until they are recorded.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { RunEvent, RunEventInput, RunState } from '@multiclaude/contract';
import type { EventListener, RunStore } from './run-store.ts';

/** Waits between attempts to record after a failed write (a full disk, a lost volume): quick at first, then steady. */
const RETRY_DELAYS_MS = [100, 500, 2_000, 5_000];

export class RunEventLog {
  readonly #runId: string;
  readonly #store: RunStore;
  readonly #logger: Logger;
  readonly #now: () => string;
  /** Every event of this run, for replay to late subscribers without a gap. */
  readonly #events: RunEvent[] = [];
  #nextId: number;
  readonly #bus = new EventEmitter();
  /** How many of #events the store has. */
  #recordedEvents = 0;
  /** The newest state not yet recorded. */
  #pendingState: RunState | undefined;
  #draining: Promise<void> | undefined;
  #failures = 0;
  #lastError: Error | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #settled = new Set<() => void>();
  readonly #onChange: (() => void) | undefined;

  /**
   * `history`: the run's earlier events (a follow-up's run), replayed to subscribers and numbered after.
   * `onChange`: told of each event and state written, before the event's subscribers hear of it.
   */
  constructor(options: { runId: string; store: RunStore; logger: Logger; now: () => string; history?: RunEvent[]; onChange?: () => void }) {
    this.#runId = options.runId;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#events.push(...(options.history ?? []));
    this.#nextId = (this.#events.at(-1)?.id ?? 0) + 1;
    this.#bus.setMaxListeners(0);
    this.#onChange = options.onChange;
  }

  emit(input: RunEventInput): RunEvent {
    const event = { ...input, id: this.#nextId++, at: this.#now(), run_id: this.#runId } as RunEvent;
    this.#events.push(event);
    this.#onChange?.();
    this.#bus.emit('event', event);
    this.#drain();
    return event;
  }

  /** Records a snapshot of the state after everything emitted so far. */
  persist(state: RunState): void {
    this.#pendingState = state;
    this.#onChange?.();
    this.#drain();
  }

  /** Why the last write failed, while something is still unrecorded; undefined when all is recorded. */
  get unrecordedBecause(): Error | undefined {
    return this.#hasPending() ? this.#lastError : undefined;
  }

  #hasPending(): boolean {
    return this.#recordedEvents < this.#events.length || this.#pendingState !== undefined;
  }

  #drain(): void {
    if (this.#draining || this.#retryTimer) return;
    this.#draining = this.#write().finally(() => {
      this.#draining = undefined;
      if (this.#hasPending() && !this.#retryTimer) this.#drain();
      else if (!this.#hasPending()) this.#notifySettled();
    });
  }

  async #write(): Promise<void> {
    // Events before state: a reader never sees a state newer than the events that led to it.
    try {
      const events = this.#events.slice(this.#recordedEvents);
      if (events.length > 0) {
        await this.#store.appendEvents(this.#runId, events);
        this.#recordedEvents += events.length;
      }
      const state = this.#pendingState;
      if (state) {
        await this.#store.writeState(state);
        if (this.#pendingState === state) this.#pendingState = undefined;
      }
      if (this.#failures > 0) this.#logger.info({ attempts: this.#failures + 1 }, 'run records written again after failures');
      this.#failures = 0;
      this.#lastError = undefined;
    } catch (error) {
      this.#lastError = error as Error;
      const delay = RETRY_DELAYS_MS[Math.min(this.#failures, RETRY_DELAYS_MS.length - 1)]!;
      if (this.#failures === 0 || this.#failures === RETRY_DELAYS_MS.length) {
        this.#logger.error({ err: error, retry_in_ms: delay }, 'could not write the run’s records; retrying');
      }
      this.#failures++;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#drain();
      }, delay);
      this.#retryTimer.unref();
      // Waiters learn of the failure now rather than after every retry: the run must not hang on a full disk.
      if (this.#failures >= RETRY_DELAYS_MS.length) this.#notifySettled();
    }
  }

  #notifySettled(): void {
    const waiters = [...this.#settled];
    this.#settled.clear();
    for (const resolve of waiters) resolve();
  }

  /**
   * Resolves once everything emitted so far is recorded, or once the writes have failed several times
   * in a row (then `unrecordedBecause` says why, and retries go on in the background).
   */
  flushed(): Promise<void> {
    if (!this.#hasPending() || this.#failures >= RETRY_DELAYS_MS.length) return Promise.resolve();
    return new Promise((resolve) => this.#settled.add(resolve));
  }

  /** Resolves once everything is recorded, however long the retries take. */
  recorded(): Promise<void> {
    if (!this.#hasPending()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.#hasPending()) resolve();
        else this.#settled.add(check);
      };
      this.#settled.add(check);
    });
  }

  /** Stops retrying (shutdown); what is unrecorded stays so, and a restart's sweep closes the run. */
  close(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#notifySettled();
  }

  /** Replays the events after `afterId`, then follows live; returns the unsubscribe function. */
  subscribe(afterId: number, listener: EventListener): () => void {
    for (const event of this.#events) if (event.id > afterId) listener(event);
    this.#bus.on('event', listener);
    return () => this.#bus.off('event', listener);
  }
}
