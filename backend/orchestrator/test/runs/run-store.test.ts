// The RunStore contract, run against both implementations (embedded SQLite and PostgreSQL): records, paging, leases, exactly-once interruption, live followers across connections, retention and migrations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunEvent, RunState } from '@multiclaude/contract';
import { WorkspaceLayout } from '../../src/workspace/layout.ts';
import { openRunStore, RunStoreError } from '../../src/runs/store/open-run-store.ts';
import { removeExpiredRuns } from '../../src/runs/retention.ts';
import { freePort } from '../support/ports.ts';
import { mkdir, stat } from 'node:fs/promises';
import type { Lease, RunStore } from '../../src/runs/run-store.ts';
import { interruptState } from '../../src/runs/run-state.ts';
import { initialRunState } from '../../src/runs/initial-state.ts';
import type { RunRepository } from '../../src/git/run-repository.ts';
import { SqliteDatabase } from '../../src/runs/store/sqlite-database.ts';
import { PostgresDatabase } from '../../src/runs/store/postgres-database.ts';
import { migrate } from '../../src/runs/store/migrations.ts';
import type { SqlDatabase } from '../../src/runs/store/sql-database.ts';
import { memoryLogger } from '../support/harness.ts';
import { freshDatabase, storeKinds, type StoreKind } from '../support/stores.ts';

interface Opened {
  workspace: string;
  databaseUrl: string | undefined;
  stores: RunStore[];
  open(): Promise<RunStore>;
}

/** One workspace and one database; `open` makes another store on them (another replica's connection). */
async function withStores(kind: StoreKind, body: (opened: Opened) => Promise<void>): Promise<void> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-store-'));
  const database = await freshDatabase(kind);
  const { logger } = memoryLogger();
  const opened: Opened = {
    workspace,
    databaseUrl: database.databaseUrl,
    stores: [],
    open: async () => {
      const store = await openRunStore({ layout: new WorkspaceLayout(workspace), databaseUrl: database.databaseUrl, logger });
      opened.stores.push(store);
      return store;
    },
  };
  try {
    await body(opened);
  } finally {
    for (const store of opened.stores) await store.close().catch(() => undefined);
    await database.drop();
    await rm(workspace, { recursive: true, force: true });
  }
}

let sequence = 0;
function runId(day = 1): string {
  sequence++;
  return `202501${String(day).padStart(2, '0')}_000000_${sequence.toString(16).padStart(8, '0')}`;
}

/** A run's state as the orchestrator makes it (initialRunState over the layout's paths), at the status asked. */
function stateOf(id: string, status: RunState['status'], createdAt = '2025-01-01T00:00:00.000Z'): RunState {
  const paths = new WorkspaceLayout('/nonexistent').run(id);
  const repository: RunRepository = { paths, baseCommit: 'a'.repeat(40), agents: [paths.agent(1)] };
  const state = initialRunState({ prompt: `prompt of ${id} ${'x'.repeat(300)}`, agent_count: 1 }, repository, new Date(createdAt), 1);
  const ended = status !== 'queued' && status !== 'running';
  state.results[0]!.status = status === 'completed' ? 'success' : 'running';
  return { ...state, status, queue_position: null, started_at: createdAt, finished_at: ended ? createdAt : null };
}

function textEvent(id: string, eventId: number): RunEvent {
  return { type: 'agent_text', id: eventId, at: new Date().toISOString(), run_id: id, agent_id: 1, text: `event ${eventId}` };
}

const holder = { owner: 'owner-a', host: 'host-a', pid: 1 };

/** The database under the stores, for what the store's API cannot do (forge a record, read the schema's table). */
async function rawDatabase(kind: StoreKind, opened: Opened, body: (database: SqlDatabase) => Promise<void>): Promise<void> {
  const database =
    kind === 'postgres'
      ? await PostgresDatabase.open(opened.databaseUrl!, memoryLogger().logger)
      : await SqliteDatabase.open(new WorkspaceLayout(opened.workspace).databasePath);
  try {
    await body(database);
  } finally {
    await database.close();
  }
}

function storeTest(name: string, body: (kind: StoreKind) => Promise<void>): void {
  for (const { kind, skip } of storeKinds()) test(`${name} (${kind})`, { skip }, () => body(kind));
}

storeTest('a state written is read back whole, validated; another run id or a record that does not parse reads as no run', async (kind) => {
  await withStores(kind, async (opened) => {
    const { open } = opened;
    const store = await open();
    const id = runId();
    await store.writeState(stateOf(id, 'running'));
    assert.deepEqual(await store.readState(id), stateOf(id, 'running'));
    assert.equal(await store.readState(runId()), undefined);
    assert.equal(await store.readState('../../etc'), undefined);
    const forged = runId();
    await store.writeState(stateOf(forged, 'running'));
    await rawDatabase(kind, opened, async (database) => {
      await database.run('UPDATE runs SET state = ? WHERE run_id = ?', [JSON.stringify(stateOf(runId(), 'running')), forged]);
      assert.equal(await store.readState(forged), undefined, 'a state naming another run is not this run');
      await database.run('UPDATE runs SET state = ? WHERE run_id = ?', ['{"status":"running"', forged]);
      assert.equal(await store.readState(forged), undefined, 'a torn record is no record');
    });
  });
});

storeTest('an ended run is not written over by a late snapshot; updateState changes it in one transaction', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const id = runId();
    await store.writeState(stateOf(id, 'interrupted'));
    await store.writeState(stateOf(id, 'running'));
    assert.equal((await store.readState(id))?.status, 'interrupted', 'a zombie owner cannot bring it back');
    const record = { agent_id: 1, commit: 'b'.repeat(40), fast_forward: true, merged_at: new Date().toISOString() };
    await Promise.all([1, 2, 3].map(() => store.updateState(id, (state) => void state.merges.push(record))));
    assert.equal((await store.readState(id))?.merges.length, 3, 'concurrent updates all land');
    assert.equal(await store.updateState(runId(), () => {}), undefined);
  });
});

storeTest('events come back in order after any id, once each, and only valid ones', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const id = runId();
    await store.writeState(stateOf(id, 'running'));
    await store.appendEvents(id, [1, 2, 3].map((n) => textEvent(id, n)));
    await store.appendEvents(id, [textEvent(id, 3), textEvent(id, 4)]);
    assert.deepEqual((await store.readEvents(id)).map((event) => event.id), [1, 2, 3, 4]);
    assert.deepEqual((await store.readEvents(id, 2)).map((event) => event.id), [3, 4]);
    await store.appendEvents(id, [{ ...textEvent(id, 5), run_id: runId() }]);
    assert.deepEqual((await store.readEvents(id, 4)).map((event) => event.id), [], 'an event naming another run is not read back');
  });
});

storeTest('listing pages newest first through the key, with short prompts and a next_before only when there is more', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const ids = [runId(), runId(), runId(), runId(), runId()];
    for (const id of ids) await store.writeState(stateOf(id, 'completed'));
    const first = await store.list(2);
    assert.deepEqual(first.runs.map((run) => run.run_id), [ids[4], ids[3]]);
    assert.equal(first.nextBefore, ids[3]);
    assert.ok(first.runs[0]!.prompt.length <= 200);
    const last = await store.list(3, ids[2]);
    assert.deepEqual(last.runs.map((run) => run.run_id), [ids[1], ids[0]]);
    assert.equal(last.nextBefore, null);
  });
});

storeTest('leases expire by the database clock, and only unfinished runs are swept candidates', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const [live, stale, none, done] = [runId(), runId(), runId(), runId()];
    for (const id of [live, stale, none]) await store.writeState(stateOf(id, 'running'));
    await store.writeState(stateOf(done, 'completed'));
    await store.renewLease(live, holder, 60_000);
    await store.renewLease(stale, holder, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const unfinished = new Map((await store.unfinishedRuns()).map((run) => [run.runId, run.lease]));
    assert.deepEqual([...unfinished.keys()].sort(), [live, stale, none].sort());
    assert.equal(unfinished.get(live)?.expired, false);
    assert.equal(unfinished.get(live)?.owner, 'owner-a');
    assert.equal(unfinished.get(stale)?.expired, true);
    assert.equal(unfinished.get(none), undefined);
  });
});

storeTest('an orphaned run is interrupted exactly once when several replicas sweep it at the same time', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const replicas = [await open(), await open(), await open()];
    const id = runId();
    await replicas[0]!.writeState(stateOf(id, 'running'));
    await replicas[0]!.renewLease(id, holder, 1);
    await replicas[0]!.appendEvents(id, [textEvent(id, 1), textEvent(id, 2)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = await Promise.all(replicas.map(async (store) => (await store.unfinishedRuns()).find((run) => run.runId === id)?.lease));
    const outcomes = await Promise.all(
      replicas.flatMap((store, index) => [1, 2].map(() => store.interrupt(id, seen[index], (state) => interruptState(state, new Date().toISOString())))),
    );
    assert.equal(outcomes.filter(Boolean).length, 1, 'one replica closed it');
    const events = await replicas[1]!.readEvents(id);
    assert.deepEqual(events.map((event) => [event.id, event.type]), [[1, 'agent_text'], [2, 'agent_text'], [3, 'run_finished']]);
    assert.equal((await replicas[2]!.readState(id))?.status, 'interrupted');
    assert.deepEqual(await replicas[0]!.unfinishedRuns(), []);
  });
});

storeTest('a run whose owner renewed its lease since it was judged is not interrupted', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const id = runId();
    await store.writeState(stateOf(id, 'running'));
    await store.renewLease(id, holder, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const judged = (await store.unfinishedRuns())[0]!.lease as Lease;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.renewLease(id, holder, 60_000);
    assert.equal(await store.interrupt(id, judged, (state) => interruptState(state, new Date().toISOString())), undefined);
    assert.equal((await store.readState(id))?.status, 'running');
  });
});

storeTest('a follower on another connection hears each new event once, in order, after its resume id', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const [writer, reader] = [await open(), await open()];
    const id = runId();
    await writer.writeState(stateOf(id, 'running'));
    await writer.appendEvents(id, [1, 2, 3].map((n) => textEvent(id, n)));
    const heard: number[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const stop = reader.subscribe(id, 1, (event) => {
      heard.push(event.id);
      if (event.id === 8) done();
    });
    for (let n = 4; n <= 8; n++) await writer.appendEvents(id, [textEvent(id, n)]);
    await all;
    stop();
    assert.deepEqual(heard, [2, 3, 4, 5, 6, 7, 8]);
  });
});

storeTest('cancel requests merge until the owner takes them, once', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const id = runId();
    await store.requestCancel(id, [2]);
    await store.requestCancel(id, [3, 2]);
    assert.deepEqual(await store.takeCancelRequest(id), [2, 3]);
    assert.equal(await store.takeCancelRequest(id), undefined);
    await store.requestCancel(id, [1]);
    await store.requestCancel(id, 'all');
    assert.equal(await store.takeCancelRequest(id), 'all');
  });
});

storeTest('retention finds old finished runs by age, and deleting never touches a running one', async (kind) => {
  await withStores(kind, async ({ open }) => {
    const store = await open();
    const [old, oldRunning, recent] = [runId(), runId(), runId()];
    await store.writeState(stateOf(old, 'completed', '2020-01-01T00:00:00.000Z'));
    await store.writeState(stateOf(oldRunning, 'running', '2020-01-01T00:00:00.000Z'));
    await store.writeState(stateOf(recent, 'completed', '2030-01-01T00:00:00.000Z'));
    await store.appendEvents(old, [textEvent(old, 1)]);
    assert.deepEqual(await store.finishedBefore('2025-01-01T00:00:00.000Z', 10), [old]);
    assert.equal(await store.deleteRun(oldRunning), false);
    assert.equal(await store.deleteRun(old), true);
    assert.equal(await store.readState(old), undefined);
    assert.deepEqual(await store.readEvents(old), []);
    assert.equal((await store.readState(oldRunning))?.status, 'running');
  });
});

storeTest('migrations apply once, in order, when many replicas start at the same time', async (kind) => {
  await withStores(kind, async (opened) => {
    const stores = await Promise.all([opened.open(), opened.open(), opened.open(), opened.open()]);
    assert.ok((await stores[0]!.check()).ok);
    await rawDatabase(kind, opened, async (database) => {
      const rows = await database.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((row) => Number(row.version)), [1]);
      assert.deepEqual(await migrate(database), [], 'nothing left to apply');
    });
  });
});

storeTest('RUN_RETENTION_DAYS removes an old ended run’s records and repository together, and never a running one', async (kind) => {
  await withStores(kind, async ({ open, workspace }) => {
    const store = await open();
    const layout = new WorkspaceLayout(workspace);
    const now = new Date('2025-06-01T00:00:00.000Z');
    const [old, oldRunning, young] = [runId(), runId(), runId()];
    await store.writeState(stateOf(old, 'completed', '2025-01-01T00:00:00.000Z'));
    await store.writeState(stateOf(oldRunning, 'running', '2025-01-01T00:00:00.000Z'));
    await store.writeState(stateOf(young, 'completed', '2025-05-30T00:00:00.000Z'));
    for (const id of [old, oldRunning, young]) await mkdir(layout.run(id).directory, { recursive: true });
    const removed = await removeExpiredRuns({ store, layout, logger: memoryLogger().logger, days: 30, now: () => now });
    assert.deepEqual(removed, [old]);
    assert.equal(await store.readState(old), undefined);
    await assert.rejects(stat(layout.run(old).directory), { code: 'ENOENT' });
    for (const id of [oldRunning, young]) {
      assert.ok(await store.readState(id));
      assert.ok((await stat(layout.run(id).directory)).isDirectory());
    }
  });
});

test('a DATABASE_URL nobody answers stops start-up with a message naming it, without the password', async () => {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-store-'));
  try {
    const url = `postgres://multiclaude:hunter2secret@127.0.0.1:${await freePort()}/multiclaude`;
    await assert.rejects(openRunStore({ layout: new WorkspaceLayout(workspace), databaseUrl: url, logger: memoryLogger().logger, connectPatienceMs: 0 }), (error: unknown) => {
      assert.ok(error instanceof RunStoreError);
      assert.match(error.message, /cannot open the run database \(postgres 127\.0\.0\.1:\d+\/multiclaude, from DATABASE_URL\)/);
      assert.doesNotMatch(error.message, /hunter2secret/);
      return true;
    });
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
});
