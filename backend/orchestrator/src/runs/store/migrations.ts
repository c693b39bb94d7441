// The run store's schema, as numbered migrations applied in order at start-up: once, idempotently, and safely when several replicas start at the same time.
import type { SqlDatabase, SqlExecutor } from './sql-database.ts';

interface Migration {
  version: number;
  description: string;
  /** Statements valid in both SQLite and PostgreSQL. */
  statements: string[];
}

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, events, leases, cancel requests and marks',
    statements: [
      // The state is the run's document (its agents included); list_item is the small part GET /runs shows.
      `CREATE TABLE runs (
        run_id text PRIMARY KEY,
        status text NOT NULL,
        created_at text NOT NULL,
        finished_at text,
        list_item text NOT NULL,
        state text NOT NULL
      )`,
      // The sweep and start-up look only at unfinished runs; retention only at finished ones.
      `CREATE INDEX runs_unfinished ON runs (run_id) WHERE status IN ('queued', 'running')`,
      `CREATE INDEX runs_finished_by_age ON runs (created_at) WHERE status NOT IN ('queued', 'running')`,
      `CREATE TABLE run_events (
        run_id text NOT NULL,
        id integer NOT NULL,
        event text NOT NULL,
        PRIMARY KEY (run_id, id)
      )`,
      // Times in epoch milliseconds of the database's clock, so replicas on different hosts agree on expiry.
      `CREATE TABLE run_leases (
        run_id text PRIMARY KEY,
        owner text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        heartbeat_ms bigint NOT NULL,
        expires_ms bigint NOT NULL
      )`,
      `CREATE TABLE run_cancel_requests (
        run_id text PRIMARY KEY,
        target text NOT NULL
      )`,
      `CREATE TABLE store_marks (
        name text PRIMARY KEY,
        value text NOT NULL
      )`,
    ],
  },
];

/** Any fixed number: the PostgreSQL advisory lock replicas take while one of them migrates. */
const MIGRATION_LOCK = 7_310_023;

/** Brings the schema up to date; returns the versions it applied (none when it already was). */
export async function migrate(database: SqlDatabase): Promise<number[]> {
  return database.transaction(async (executor) => {
    // SQLite's transaction already holds the write lock; PostgreSQL's replicas queue on this one.
    if (database.kind === 'postgres') await executor.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await executor.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      description text NOT NULL,
      applied_at text NOT NULL
    )`);
    const applied = new Set((await executor.all<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => Number(row.version)));
    const newest = Math.max(0, ...applied);
    const known = MIGRATIONS.at(-1)?.version ?? 0;
    if (newest > known) {
      throw new Error(`the run database has schema version ${newest}, newer than this orchestrator knows (${known}): upgrade the orchestrator`);
    }
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await applyOne(executor, migration);
      done.push(migration.version);
    }
    return done;
  });
}

async function applyOne(executor: SqlExecutor, migration: Migration): Promise<void> {
  for (const statement of migration.statements) await executor.run(statement);
  await executor.run('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)', [
    migration.version,
    migration.description,
    new Date().toISOString(),
  ]);
}
