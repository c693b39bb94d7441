// Opens the run store the configuration names — PostgreSQL when DATABASE_URL is set, else the workspace's embedded SQLite file — migrated and with older workspaces imported.
import type { Logger } from 'pino';
import type { WorkspaceLayout } from '../../workspace/layout.ts';
import type { RunStore } from '../run-store.ts';
import type { SqlDatabase } from './sql-database.ts';
import { SqliteDatabase } from './sqlite-database.ts';
import { PostgresDatabase, describeDatabaseUrl } from './postgres-database.ts';
import { migrate } from './migrations.ts';
import { SqlRunStore } from './sql-run-store.ts';
import { importLegacyRuns } from './legacy-import.ts';

export class RunStoreError extends Error {
  readonly code = 'run_store_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunStoreError';
  }
}

/** PostgreSQL may start after the orchestrator (a cluster starting up): it is tried this long before start-up fails. */
const CONNECT_PATIENCE_MS = 60_000;

async function connectPostgres(url: string, logger: Logger, patienceMs: number): Promise<PostgresDatabase> {
  const deadline = Date.now() + patienceMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await PostgresDatabase.open(url, logger);
    } catch (error) {
      if (Date.now() + 2_000 > deadline) throw error;
      logger.warn({ err: error, attempt, database: describeDatabaseUrl(url) }, 'run database not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

export interface OpenRunStoreOptions {
  layout: WorkspaceLayout;
  /** PostgreSQL's URL; the embedded store when undefined. */
  databaseUrl: string | undefined;
  logger: Logger;
  /** How long to keep trying to reach PostgreSQL (default 60 s). */
  connectPatienceMs?: number;
}

export async function openRunStore(options: OpenRunStoreOptions): Promise<RunStore> {
  const { layout, databaseUrl, logger } = options;
  let database: SqlDatabase;
  const where = databaseUrl ? describeDatabaseUrl(databaseUrl) : layout.databasePath;
  try {
    database = databaseUrl
      ? await connectPostgres(databaseUrl, logger, options.connectPatienceMs ?? CONNECT_PATIENCE_MS)
      : await SqliteDatabase.open(layout.databasePath);
  } catch (error) {
    throw new RunStoreError(`cannot open the run database (${where}${databaseUrl ? ', from DATABASE_URL' : ''}): ${(error as Error).message}`, { cause: error });
  }
  try {
    const applied = await migrate(database);
    if (applied.length > 0) logger.info({ database: database.description, versions: applied }, 'run database schema migrated');
    const store = new SqlRunStore(database);
    await importLegacyRuns({ store, layout, logger });
    return store;
  } catch (error) {
    await database.close().catch(() => undefined);
    throw new RunStoreError(`cannot prepare the run database (${where}): ${(error as Error).message}`, { cause: error });
  }
}
