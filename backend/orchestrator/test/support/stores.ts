// The run stores the tests run against: the embedded SQLite file always, and PostgreSQL on the server .ci/run starts (MULTICLAUDE_TEST_DATABASE_URL), a fresh database per use.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { skipUnlessRequired } from './required.ts';

export type StoreKind = 'sqlite' | 'postgres';

const serverUrl = process.env['MULTICLAUDE_TEST_DATABASE_URL'];

/** The skip reason for PostgreSQL tests (a failure under CI=true: PostgreSQL is a required component). */
export function postgresSkip(): string | undefined {
  return skipUnlessRequired(serverUrl ? false : 'MULTICLAUDE_TEST_DATABASE_URL is not set (scripts/start-test-postgres.sh starts a throwaway server)');
}

/** Both stores, each with its skip reason. */
export function storeKinds(): Array<{ kind: StoreKind; skip: string | undefined }> {
  return [
    { kind: 'sqlite', skip: undefined },
    { kind: 'postgres', skip: postgresSkip() },
  ];
}

export interface TestDatabase {
  /** DATABASE_URL for the store; undefined for the embedded one. */
  databaseUrl: string | undefined;
  drop(): Promise<void>;
}

async function admin<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database of the kind asked (PostgreSQL: on the test server, dropped with everything in it). */
export async function freshDatabase(kind: StoreKind): Promise<TestDatabase> {
  if (kind === 'sqlite') return { databaseUrl: undefined, drop: async () => {} };
  if (!serverUrl) throw new Error('MULTICLAUDE_TEST_DATABASE_URL is not set');
  const name = `multiclaude_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
