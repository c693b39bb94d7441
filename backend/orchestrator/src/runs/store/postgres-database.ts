// PostgreSQL for a cluster (`DATABASE_URL`, the pg driver): a connection pool for statements and transactions, and one listening connection that hears every replica's new events (LISTEN/NOTIFY).
import pg from 'pg';
import type { Logger } from 'pino';
import type { SqlDatabase, SqlExecutor } from './sql-database.ts';

const CHANNEL = 'multiclaude_run_events';
/** After the listening connection drops: wait this long, then reconnect and tell followers to re-read. */
const RECONNECT_MS = 1_000;

/** `?` placeholders, numbered as PostgreSQL wants them ($1, $2, …); no statement here has a `?` in a literal. */
function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

function executorOf(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    all: async <Row>(sql: string, params: readonly unknown[] = []) => (await client.query(numbered(sql), [...params])).rows as Row[],
    run: async (sql: string, params: readonly unknown[] = []) => (await client.query(numbered(sql), [...params])).rowCount ?? 0,
  };
}

/** The server and database of a URL, for people: never its password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgres ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'postgres (DATABASE_URL is not a URL)';
  }
}

export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres' as const;
  readonly description: string;
  readonly nowMs = 'CAST(extract(epoch from clock_timestamp()) * 1000 AS bigint)';
  readonly forUpdate = ' FOR UPDATE';
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #logger: Logger;
  readonly #pooled: SqlExecutor;
  readonly #watchers = new Set<(runId: string | undefined) => void>();
  #listener: pg.Client | undefined;
  #closed = false;

  private constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
    this.description = describeDatabaseUrl(url);
    this.#pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
    // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
    this.#pool.on('error', (error) => logger.warn({ err: error }, 'run database: an idle connection failed'));
    this.#pooled = executorOf(this.#pool);
  }

  /** Connects (the pool and the listening connection); throws when the server cannot be reached. */
  static async open(url: string, logger: Logger): Promise<PostgresDatabase> {
    const database = new PostgresDatabase(url, logger);
    try {
      await database.#listen();
    } catch (error) {
      await database.#pool.end().catch(() => undefined);
      throw error;
    }
    return database;
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 10_000 });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL) return;
      for (const watcher of this.#watchers) watcher(message.payload);
    });
    client.on('error', (error) => {
      this.#logger.warn({ err: error }, 'run database: the listening connection failed; reconnecting');
      void client.end().catch(() => undefined);
      if (this.#listener === client) this.#listener = undefined;
      this.#reconnectLater();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#listener = client;
  }

  #reconnectLater(): void {
    if (this.#closed) return;
    setTimeout(() => {
      if (this.#closed || this.#listener) return;
      this.#listen()
        // Notifications sent while it was down are lost: followers re-read.
        .then(() => this.#watchers.forEach((watcher) => watcher(undefined)))
        .catch((error: unknown) => {
          this.#logger.warn({ err: error }, 'run database: could not listen again; retrying');
          this.#reconnectLater();
        });
    }, RECONNECT_MS).unref();
  }

  all<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.#pooled.all<Row>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.#pooled.run(sql, params);
  }

  async transaction<T>(body: (executor: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await body(executorOf(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async announce(executor: SqlExecutor, runId: string): Promise<void> {
    // Delivered when (and only if) the transaction commits, to every listening replica, this one included.
    await executor.all('SELECT pg_notify(?, ?)', [CHANNEL, runId]);
  }

  watch(listener: (runId: string | undefined) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
    await this.#listener?.end().catch(() => undefined);
    await this.#pool.end();
  }
}
