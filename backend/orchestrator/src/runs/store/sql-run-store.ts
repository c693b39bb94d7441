// The RunStore over a SQL database (SQLite or PostgreSQL): one transaction per change, one index per query, records validated with the contract's schemas as they are read back.
import { RunEventSchema, RunListItemSchema, RunStateSchema, type RunEvent, type RunListItem, type RunState } from '@multiclaude/contract';
import type { z } from 'zod';
import {
  CancelTargetSchema,
  listItemOf,
  mergeCancelTargets,
  type CancelTarget,
  type EventListener,
  type Lease,
  type LeaseHolder,
  type RunPage,
  type RunStore,
  type StoreCheck,
  type UnfinishedRun,
} from '../run-store.ts';
import { toNumber, type SqlDatabase, type SqlExecutor } from './sql-database.ts';

const UNFINISHED = "status IN ('queued', 'running')";

/** Parses a stored JSON column with its schema; a record that does not parse reads as no record. */
function parseStored<T>(text: string, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

interface LeaseRow {
  owner: string | null;
  host: string | null;
  pid: number | string | null;
  heartbeat_ms: number | string | null;
  expired: number | boolean | null;
}

function leaseOf(row: LeaseRow): Lease | undefined {
  if (row.owner === null || row.host === null || row.pid === null || row.heartbeat_ms === null) return undefined;
  return {
    owner: row.owner,
    host: row.host,
    pid: toNumber(row.pid),
    heartbeat_at: new Date(toNumber(row.heartbeat_ms)).toISOString(),
    expired: row.expired === true || row.expired === 1,
  };
}

interface Subscription {
  runId: string;
  lastId: number;
  listener: EventListener;
  closed: boolean;
  reading: boolean;
  again: boolean;
}

export class SqlRunStore implements RunStore {
  readonly #database: SqlDatabase;
  readonly #subscriptions = new Map<string, Set<Subscription>>();
  #stopWatching: (() => void) | undefined;

  constructor(database: SqlDatabase) {
    this.#database = database;
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.#database.kind;
  }

  async #writeRun(executor: SqlExecutor, state: RunState, onlyUnfinished: boolean): Promise<void> {
    const values = [state.status, state.finished_at, JSON.stringify(listItemOf(state)), JSON.stringify(state)];
    await executor.run(
      `INSERT INTO runs (run_id, created_at, status, finished_at, list_item, state) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
         list_item = excluded.list_item, state = excluded.state
       ${onlyUnfinished ? `WHERE runs.${UNFINISHED}` : ''}`,
      [state.run_info.run_id, state.created_at, ...values],
    );
  }

  /**
   * The owner's snapshots. A run that has ended is not written over: an owner that lost its lease (and whose
   * run another replica closed as interrupted) cannot bring it back.
   */
  async writeState(state: RunState): Promise<void> {
    await this.#writeRun(this.#database, state, true);
  }

  async readState(runId: string): Promise<RunState | undefined> {
    const [row] = await this.#database.all<{ state: string }>('SELECT state FROM runs WHERE run_id = ?', [runId]);
    return row ? this.#stateOf(runId, row.state) : undefined;
  }

  #stateOf(runId: string, text: string): RunState | undefined {
    const state = parseStored(text, RunStateSchema);
    return state && state.run_info.run_id === runId ? state : undefined;
  }

  async #lockedState(executor: SqlExecutor, runId: string): Promise<RunState | undefined> {
    const [row] = await executor.all<{ state: string }>(`SELECT state FROM runs WHERE run_id = ?${this.#database.forUpdate}`, [runId]);
    return row ? this.#stateOf(runId, row.state) : undefined;
  }

  async updateState(runId: string, change: (state: RunState) => void): Promise<RunState | undefined> {
    return this.#database.transaction(async (executor) => {
      const state = await this.#lockedState(executor, runId);
      if (!state) return undefined;
      change(state);
      await this.#writeRun(executor, state, false);
      return state;
    });
  }

  async #insertEvents(executor: SqlExecutor, runId: string, events: RunEvent[]): Promise<void> {
    const rows = events.map(() => '(?, ?, ?)').join(', ');
    const params = events.flatMap((event) => [runId, event.id, JSON.stringify(event)]);
    // A repeated id is the same event written again (a retry): kept once.
    await executor.run(`INSERT INTO run_events (run_id, id, event) VALUES ${rows} ON CONFLICT (run_id, id) DO NOTHING`, params);
    await this.#database.announce(executor, runId);
  }

  async appendEvents(runId: string, events: RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#database.transaction((executor) => this.#insertEvents(executor, runId, events));
  }

  async readEvents(runId: string, afterId = 0): Promise<RunEvent[]> {
    const rows = await this.#database.all<{ event: string }>('SELECT event FROM run_events WHERE run_id = ? AND id > ? ORDER BY id', [runId, afterId]);
    const events: RunEvent[] = [];
    for (const row of rows) {
      const event = parseStored(row.event, RunEventSchema);
      if (event && event.run_id === runId && event.id > afterId) events.push(event);
    }
    return events;
  }

  subscribe(runId: string, afterId: number, listener: EventListener): () => void {
    const subscription: Subscription = { runId, lastId: afterId, listener, closed: false, reading: false, again: false };
    let set = this.#subscriptions.get(runId);
    if (!set) this.#subscriptions.set(runId, (set = new Set()));
    set.add(subscription);
    this.#stopWatching ??= this.#database.watch((changed) => this.#onChange(changed));
    void this.#deliver(subscription);
    return () => {
      subscription.closed = true;
      const current = this.#subscriptions.get(runId);
      current?.delete(subscription);
      if (current?.size === 0) this.#subscriptions.delete(runId);
      if (this.#subscriptions.size === 0) {
        this.#stopWatching?.();
        this.#stopWatching = undefined;
      }
    };
  }

  #onChange(runId: string | undefined): void {
    const targets = runId === undefined ? [...this.#subscriptions.values()].flatMap((set) => [...set]) : [...(this.#subscriptions.get(runId) ?? [])];
    for (const subscription of targets) void this.#deliver(subscription);
  }

  /** Reads what the subscriber has not seen yet; one read at a time per subscriber, again if told meanwhile. */
  async #deliver(subscription: Subscription): Promise<void> {
    if (subscription.reading) {
      subscription.again = true;
      return;
    }
    subscription.reading = true;
    try {
      do {
        subscription.again = false;
        const events = await this.readEvents(subscription.runId, subscription.lastId).catch(() => [] as RunEvent[]);
        for (const event of events) {
          if (subscription.closed) return;
          subscription.lastId = event.id;
          subscription.listener(event);
        }
      } while (subscription.again && !subscription.closed);
    } finally {
      subscription.reading = false;
    }
  }

  async list(limit: number, before?: string): Promise<RunPage> {
    // One more than asked tells whether there is a next page; the primary key orders and bounds the scan.
    type Row = { run_id: string; list_item: string };
    const rows =
      before === undefined
        ? await this.#database.all<Row>('SELECT run_id, list_item FROM runs ORDER BY run_id DESC LIMIT ?', [limit + 1])
        : await this.#database.all<Row>('SELECT run_id, list_item FROM runs WHERE run_id < ? ORDER BY run_id DESC LIMIT ?', [before, limit + 1]);
    const page = rows.slice(0, limit);
    const runs: RunListItem[] = [];
    for (const row of page) {
      const item = parseStored(row.list_item, RunListItemSchema);
      if (item && item.run_id === row.run_id) runs.push(item);
    }
    return { runs, nextBefore: rows.length > limit ? page.at(-1)!.run_id : null };
  }

  async unfinishedRuns(): Promise<UnfinishedRun[]> {
    const rows = await this.#database.all<LeaseRow & { run_id: string }>(
      `SELECT r.run_id, l.owner, l.host, l.pid, l.heartbeat_ms,
         CASE WHEN l.expires_ms < ${this.#database.nowMs} THEN 1 ELSE 0 END AS expired
       FROM runs r LEFT JOIN run_leases l ON l.run_id = r.run_id
       WHERE r.${UNFINISHED}`,
    );
    return rows.map((row) => ({ runId: row.run_id, lease: leaseOf(row) }));
  }

  async renewLease(runId: string, holder: LeaseHolder, ttlMs: number): Promise<void> {
    const now = this.#database.nowMs;
    await this.#database.run(
      `INSERT INTO run_leases (run_id, owner, host, pid, heartbeat_ms, expires_ms) VALUES (?, ?, ?, ?, ${now}, ${now} + ?)
       ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
         heartbeat_ms = excluded.heartbeat_ms, expires_ms = excluded.expires_ms`,
      [runId, holder.owner, holder.host, holder.pid, Math.round(ttlMs)],
    );
  }

  async interrupt(runId: string, expected: Lease | undefined, close: (state: RunState) => RunState): Promise<RunState | undefined> {
    return this.#database.transaction(async (executor) => {
      // The run's row lock: a second replica sweeping the same run waits here, then finds it closed.
      const state = await this.#lockedState(executor, runId);
      if (!state || (state.status !== 'queued' && state.status !== 'running')) return undefined;
      if (expected) {
        // Dropped only if it is still the lease the caller judged dead; a renewal since means the owner lives.
        const dropped = await executor.run('DELETE FROM run_leases WHERE run_id = ? AND owner = ? AND heartbeat_ms = ?', [
          runId,
          expected.owner,
          Date.parse(expected.heartbeat_at),
        ]);
        if (dropped !== 1) return undefined;
      } else {
        const [lease] = await executor.all('SELECT owner FROM run_leases WHERE run_id = ?', [runId]);
        if (lease) return undefined;
      }
      const next = close(state);
      const [last] = await executor.all<{ id: number | string }>('SELECT COALESCE(MAX(id), 0) AS id FROM run_events WHERE run_id = ?', [runId]);
      const finished: RunEvent = { type: 'run_finished', id: toNumber(last?.id ?? 0) + 1, at: next.finished_at ?? new Date().toISOString(), run_id: runId, run: next };
      await this.#insertEvents(executor, runId, [finished]);
      await this.#writeRun(executor, next, false);
      return next;
    });
  }

  async requestCancel(runId: string, target: CancelTarget): Promise<void> {
    await this.#database.transaction(async (executor) => {
      const [row] = await executor.all<{ target: string }>(`SELECT target FROM run_cancel_requests WHERE run_id = ?${this.#database.forUpdate}`, [runId]);
      const merged = mergeCancelTargets(row ? parseStored(row.target, CancelTargetSchema) : undefined, target);
      await executor.run(
        'INSERT INTO run_cancel_requests (run_id, target) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET target = excluded.target',
        [runId, JSON.stringify(merged)],
      );
    });
  }

  async takeCancelRequest(runId: string): Promise<CancelTarget | undefined> {
    const [row] = await this.#database.all<{ target: string }>('DELETE FROM run_cancel_requests WHERE run_id = ? RETURNING target', [runId]);
    return row ? parseStored(row.target, CancelTargetSchema) : undefined;
  }

  async finishedBefore(createdBefore: string, limit: number): Promise<string[]> {
    const rows = await this.#database.all<{ run_id: string }>(
      `SELECT run_id FROM runs WHERE status NOT IN ('queued', 'running') AND created_at < ? ORDER BY created_at LIMIT ?`,
      [createdBefore, limit],
    );
    return rows.map((row) => row.run_id);
  }

  async deleteRun(runId: string): Promise<boolean> {
    return this.#database.transaction(async (executor) => {
      const [row] = await executor.all<{ status: string }>(`SELECT status FROM runs WHERE run_id = ?${this.#database.forUpdate}`, [runId]);
      if (!row || row.status === 'queued' || row.status === 'running') return false;
      for (const table of ['run_events', 'run_leases', 'run_cancel_requests', 'runs']) {
        await executor.run(`DELETE FROM ${table} WHERE run_id = ?`, [runId]);
      }
      return true;
    });
  }

  async hasRun(runId: string): Promise<boolean> {
    return (await this.#database.all('SELECT 1 AS found FROM runs WHERE run_id = ?', [runId])).length > 0;
  }

  async readMark(name: string): Promise<string | undefined> {
    const [row] = await this.#database.all<{ value: string }>('SELECT value FROM store_marks WHERE name = ?', [name]);
    return row?.value;
  }

  async writeMark(name: string, value: string): Promise<void> {
    await this.#database.run('INSERT INTO store_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  async check(): Promise<StoreCheck> {
    const started = performance.now();
    try {
      await this.#database.all('SELECT 1 AS ok');
      return { ok: true, kind: this.kind, detail: `${this.#database.description} answers (${Math.round(performance.now() - started)} ms)` };
    } catch (error) {
      return { ok: false, kind: this.kind, detail: `${this.#database.description} does not answer: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    this.#stopWatching?.();
    this.#subscriptions.clear();
    await this.#database.close();
  }
}
