// One active run's event log: numbers its events, keeps them for replay, tells live subscribers, and writes events and state to the store in order.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { RunEvent, RunEventInput, RunState } from '@multiclaude/contract';
import type { EventListener, RunStore } from './run-store.ts';

export class RunEventLog {
  readonly #runId: string;
  readonly #store: RunStore;
  readonly #logger: Logger;
  readonly #now: () => string;
  /** Every event of this run, for replay to late subscribers without a gap. */
  readonly #events: RunEvent[] = [];
  #nextId: number;
  readonly #bus = new EventEmitter();
  /** Disk writes in order: events and state never overtake each other. */
  #writes: Promise<void> = Promise.resolve();

  constructor(options: { runId: string; store: RunStore; logger: Logger; now: () => string; firstId?: number }) {
    this.#runId = options.runId;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#nextId = options.firstId ?? 1;
    this.#bus.setMaxListeners(0);
  }

  emit(input: RunEventInput): RunEvent {
    const event = { ...input, id: this.#nextId++, at: this.#now(), run_id: this.#runId } as RunEvent;
    this.#events.push(event);
    this.#enqueue(() => this.#store.appendEvents(this.#runId, [event]), 'could not append to the event log');
    this.#bus.emit('event', event);
    return event;
  }

  /** Writes a snapshot of the state after everything emitted so far. */
  persist(state: RunState): void {
    this.#enqueue(() => this.#store.writeState(state), 'could not write run state');
  }

  #enqueue(write: () => Promise<void>, failure: string): void {
    this.#writes = this.#writes.then(write).catch((error: unknown) => this.#logger.error({ err: error }, failure));
  }

  /** Resolves once every write queued so far is done. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  /** Replays the events after `afterId`, then follows live; returns the unsubscribe function. */
  subscribe(afterId: number, listener: EventListener): () => void {
    for (const event of this.#events) if (event.id > afterId) listener(event);
    this.#bus.on('event', listener);
    return () => this.#bus.off('event', listener);
  }
}
