// The embedded database: one SQLite file in the workspace (better-sqlite3), serialized through one queue so a transaction's awaits never interleave with other statements.
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { SqlDatabase, SqlExecutor } from './sql-database.ts';

/**
 * How often a follower of runs written by another process (a second orchestrator on the same host and file)
 * asks SQLite whether anything was committed: `PRAGMA data_version`, which reads no table, so it costs the
 * same whatever the history. Events written by this process reach followers at once, without it.
 */
const CHANGE_POLL_MS = 50;

export class SqliteDatabase implements SqlDatabase {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  readonly nowMs = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
  readonly forUpdate = '';
  readonly #database: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  /**
   * Every statement and transaction on the file, one after another, for all connections of this process: a
   * second connection's BEGIN would otherwise wait for the lock synchronously, on the very thread the first
   * connection needs to finish its transaction.
   */
  static readonly #shared = new Map<string, { tail: Promise<unknown>; connections: Set<SqliteDatabase> }>();
  readonly #queue: { tail: Promise<unknown>; connections: Set<SqliteDatabase> };
  readonly #watchers = new Set<(runId: string | undefined) => void>();
  #poller: NodeJS.Timeout | undefined;
  #dataVersion = 0;
  /** Runs announced inside the current transaction, told to watchers once it commits. */
  #announced: string[] = [];

  private constructor(file: string, database: Database.Database) {
    this.description = file;
    this.#database = database;
    let queue = SqliteDatabase.#shared.get(file);
    if (!queue) SqliteDatabase.#shared.set(file, (queue = { tail: Promise.resolve(), connections: new Set() }));
    queue.connections.add(this);
    this.#queue = queue;
  }

  static async open(location: string): Promise<SqliteDatabase> {
    const file = path.resolve(location);
    // The orchestrator's alone: agents' tools (another uid in the local runtime) can neither read nor write it.
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const database = new Database(file, { timeout: 10_000 });
    await chmod(file, 0o600);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    return new SqliteDatabase(file, database);
  }

  #exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    const result = this.#queue.tail.then(work);
    this.#queue.tail = result.catch(() => undefined);
    return result;
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#database.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Statements run directly: for the queue's current holder only. */
  readonly #direct: SqlExecutor = {
    all: async <Row>(sql: string, params: readonly unknown[] = []) => {
      const statement = this.#prepare(sql);
      return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as Row[];
    },
    run: async (sql: string, params: readonly unknown[] = []) => {
      const statement = this.#prepare(sql);
      return statement.reader ? (statement.all(...params), 0) : statement.run(...params).changes;
    },
  };

  all<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.#exclusive(() => this.#direct.all<Row>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.#exclusive(() => this.#direct.run(sql, params));
  }

  transaction<T>(body: (executor: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      // IMMEDIATE takes the write lock at once: two processes never both read, then both write.
      this.#database.exec('BEGIN IMMEDIATE');
      this.#announced = [];
      try {
        const result = await body(this.#direct);
        this.#database.exec('COMMIT');
        const announced = this.#announced;
        this.#announced = [];
        // Every connection of this process to the file hears at once; other processes at their next poll.
        for (const runId of new Set(announced)) {
          for (const connection of this.#queue.connections) for (const watcher of connection.#watchers) watcher(runId);
        }
        return result;
      } catch (error) {
        this.#announced = [];
        if (this.#database.inTransaction) this.#database.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async announce(_executor: SqlExecutor, runId: string): Promise<void> {
    this.#announced.push(runId);
  }

  watch(listener: (runId: string | undefined) => void): () => void {
    this.#watchers.add(listener);
    if (!this.#poller) {
      this.#dataVersion = this.#readDataVersion();
      this.#poller = setInterval(() => {
        const version = this.#readDataVersion();
        if (version === this.#dataVersion) return;
        this.#dataVersion = version;
        // Another connection committed something: followers re-read what they follow (an indexed query each).
        for (const watcher of this.#watchers) watcher(undefined);
      }, CHANGE_POLL_MS);
      this.#poller.unref();
    }
    return () => {
      this.#watchers.delete(listener);
      if (this.#watchers.size === 0 && this.#poller) {
        clearInterval(this.#poller);
        this.#poller = undefined;
      }
    };
  }

  #readDataVersion(): number {
    return this.#database.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.#poller) clearInterval(this.#poller);
    this.#watchers.clear();
    this.#queue.connections.delete(this);
    await this.#exclusive(() => this.#database.close());
  }
}
