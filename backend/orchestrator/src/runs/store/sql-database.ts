// What the run store needs from a SQL database, so one store speaks to SQLite and PostgreSQL alike: statements, transactions, the database's clock, and change notifications.

export interface SqlExecutor {
  /** Rows of a query; `?` marks each parameter (the PostgreSQL driver numbers them). */
  all<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, for people: a file, or a server and database (never a password). */
  readonly description: string;
  /** An SQL expression for the database's clock now, in epoch milliseconds: leases expire by one clock. */
  readonly nowMs: string;
  /** What ends a SELECT that locks the rows it reads until the transaction ends ('' where the transaction already locks the database). */
  readonly forUpdate: string;
  /** Runs `body` as one transaction that holds the database's write lock (SQLite) or its row locks (PostgreSQL). */
  transaction<T>(body: (executor: SqlExecutor) => Promise<T>): Promise<T>;
  /** Inside a transaction: tells every replica, once it commits, that the run has new events. */
  announce(executor: SqlExecutor, runId: string): Promise<void>;
  /**
   * Calls `listener` with a run id when some replica committed events of that run, or with undefined when
   * changes may have been missed (the listener then re-reads whatever it follows). Returns the stop function.
   */
  watch(listener: (runId: string | undefined) => void): () => void;
  close(): Promise<void>;
}

/** Rows hold PostgreSQL's bigint as a string: numbers are read through this. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}
