// A workspace recorded by the file-backed version (test/fixtures/legacy-workspace) is imported into either run store on the first start-up, whole, and once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunEventSchema, RunStateSchema, type RunEvent, type RunState } from '@multiclaude/contract';
import { startHarness } from '../support/harness.ts';
import { FakeExecutor } from '../support/fake-executor.ts';
import { freshDatabase, storeKinds } from '../support/stores.ts';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'legacy-workspace');

async function legacyRecords(workspace: string, runId: string): Promise<{ state: RunState; events: RunEvent[] }> {
  const records = path.join(workspace, 'runs', `run_${runId}`, '.multiclaude');
  const state = RunStateSchema.parse(JSON.parse(await readFile(path.join(records, 'run.json'), 'utf8')));
  const lines = (await readFile(path.join(records, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const events = lines.flatMap((line) => {
    try {
      return [RunEventSchema.parse(JSON.parse(line))];
    } catch {
      return [];
    }
  });
  return { state, events };
}

for (const { kind, skip } of storeKinds()) {
  test(`an earlier version's workspace is imported on first start-up without loss, a run it left running is interrupted, and a restart imports nothing twice (${kind})`, { skip }, async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-legacy-'));
    const database = await freshDatabase(kind);
    try {
      await cp(FIXTURE, workspace, { recursive: true });
      await rm(path.join(workspace, 'README.md'));
      const finishedIds = (await readdir(path.join(workspace, 'runs'))).map((name) => name.slice(4)).sort();
      // A run the old version was still running when it stopped, its log torn by the crash.
      const runningId = '20261201_090000_0a0b0c0d';
      const source = await legacyRecords(workspace, finishedIds[0]!);
      const runningDirectory = path.join(workspace, 'runs', `run_${runningId}`, '.multiclaude');
      await cp(path.join(workspace, 'runs', `run_${finishedIds[0]}`), path.join(workspace, 'runs', `run_${runningId}`), { recursive: true });
      const rewrite = (text: string): string => text.replaceAll(finishedIds[0]!, runningId);
      await writeFile(path.join(runningDirectory, 'run.json'), rewrite(JSON.stringify({ ...source.state, status: 'running', finished_at: null })));
      const runningEvents = source.events.slice(0, 5).map((event) => rewrite(JSON.stringify(event))).join('\n');
      await writeFile(path.join(runningDirectory, 'events.jsonl'), `${runningEvents}\n{"type":"agent_te`);
      // Something that is not a run's records: ignored, never a path.
      await appendFile(path.join(workspace, 'runs', 'run_not-a-run-id'), 'x');

      const first = await startHarness({ workspace, executor: new FakeExecutor(), ...(database.databaseUrl ? { databaseUrl: database.databaseUrl } : {}) });
      try {
        const listed = (await (await first.app.request('/runs?limit=100')).json()) as { runs: Array<{ run_id: string }> };
        assert.deepEqual(listed.runs.map((run) => run.run_id).sort(), [...finishedIds, runningId].sort());
        for (const runId of finishedIds) {
          const legacy = await legacyRecords(workspace, runId);
          assert.deepEqual(await first.store.readState(runId), legacy.state, `${runId}: the state, every agent and message`);
          assert.deepEqual(await first.store.readEvents(runId), legacy.events, `${runId}: every event, in order`);
          const streamed = await first.app.request(`/runs/${runId}/events`, { headers: { 'Last-Event-ID': '3' } });
          assert.match(await streamed.text(), /event: run_finished/);
        }
        const interrupted = await first.machinery.runs.get(runningId);
        assert.equal(interrupted.status, 'interrupted', 'its owner is gone: the sweep closed it');
        const events = await first.store.readEvents(runningId);
        assert.deepEqual(events.map((event) => event.id), [1, 2, 3, 4, 5, 6], 'the torn line is dropped, run_finished follows');
        assert.equal(events.at(-1)?.type, 'run_finished');
      } finally {
        await first.close();
      }
      // The files are read, never changed; the next start-up does not read them at all.
      assert.deepEqual((await legacyRecords(workspace, finishedIds[1]!)).state.status, 'completed');
      await rm(path.join(workspace, 'runs', `run_${finishedIds[1]}`, '.multiclaude', 'run.json'));
      const second = await startHarness({ workspace, executor: new FakeExecutor(), ...(database.databaseUrl ? { databaseUrl: database.databaseUrl } : {}) });
      try {
        assert.equal((await second.machinery.runs.list(100)).runs.length, finishedIds.length + 1);
        assert.equal((await second.store.readEvents(runningId)).filter((event) => event.type === 'run_finished').length, 1);
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
      await rm(workspace, { recursive: true, force: true });
    }
  });
}
