// A full or nearly full workspace never leaves a run stuck: MIN_FREE_DISK refuses new runs with 507, a run whose end cannot be written is served from memory and recorded later, and an agent over SANDBOX_DISK is stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunStateSchema, type RunEvent } from '@multiclaude/contract';
import { startHarness } from '../support/harness.ts';
import { FakeExecutor } from '../support/fake-executor.ts';
import { skipUnlessRequired } from '../support/required.ts';
import { bytesUsed } from '../../src/workspace/disk.ts';

const notRoot = process.getuid?.() === 0 ? undefined : 'mounting a small tmpfs as the workspace needs root';
const skip = skipUnlessRequired(notRoot);

/** A tmpfs of `megabytes` as a workspace, unmounted afterwards. */
async function smallDisk(megabytes: number): Promise<{ directory: string; release: () => Promise<void> }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', directory]);
  return {
    directory,
    release: async () => {
      execFileSync('umount', ['-l', directory]);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Writes zeros into `file` until the file system refuses. */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(256 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function eventsOf(response: Response): Promise<RunEvent[]> {
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as RunEvent);
}

test('below MIN_FREE_DISK a new run gets 507 naming the space, and nothing is created', { skip }, async () => {
  const disk = await smallDisk(16);
  const harness = await startHarness({ workspace: disk.directory, executor: new FakeExecutor(), minFreeDiskBytes: 64 * 1024 * 1024 });
  try {
    const answer = await harness.post('/runs', { prompt: 'no room', agent_count: 1 });
    assert.equal(answer.status, 507);
    assert.match(((await answer.json()) as { error: string }).error, /free on the workspace's file system, below MIN_FREE_DISK/);
    assert.deepEqual(await readdir(path.join(disk.directory, 'runs')).catch(() => []), [], 'no run directory');
    assert.deepEqual((await harness.machinery.runs.list(10)).runs, [], 'no run recorded');
    const ready = await harness.app.request('/ready');
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(await ready.json()), /new runs are refused/);
  } finally {
    await harness.close();
    await disk.release();
  }
});

test('a disk that fills during a run: its end is served from memory with the reason, its stream ends, new runs get 507, and freeing space records it', { skip }, async () => {
  const disk = await smallDisk(24);
  const executor = new FakeExecutor();
  const harness = await startHarness({ workspace: disk.directory, executor, minFreeDiskBytes: 1 });
  const filler = path.join(disk.directory, 'filler');
  try {
    const accepted = (await (await harness.post('/runs', { prompt: 'fills up', agent_count: 2 })).json()) as { run_id: string };
    await executor.whenRunning(2);
    await fill(filler);
    executor.release(accepted.run_id, 1);
    executor.release(accepted.run_id, 2);
    const finished = await harness.manager.waitForRun(accepted.run_id);
    assert.equal(finished.status, 'completed');
    // The file system's ENOSPC, or SQLite's words for it (the embedded run store).
    assert.match(finished.error ?? '', /could not be recorded \((.*ENOSPC.*|database or disk is full)\)/);
    const state = RunStateSchema.parse(await (await harness.app.request(`/runs/${accepted.run_id}`)).json());
    assert.equal(state.status, 'completed', 'the API answers from memory, not the stale record');
    const events = await eventsOf(await harness.app.request(`/runs/${accepted.run_id}/events`));
    assert.equal(events.at(-1)?.type, 'run_finished', 'the event stream ends');
    const refused = await harness.post('/runs', { prompt: 'no room now', agent_count: 1 });
    assert.equal(refused.status, 507);
    assert.match(((await refused.json()) as { error: string }).error, /full|space/);
    const diagnostics = (await (await harness.app.request('/diagnostics')).json()) as { checks: Record<string, { status: string; unrecorded_runs?: string[] }> };
    assert.equal(diagnostics.checks['records']?.status, 'error');
    assert.deepEqual(diagnostics.checks['records']?.unrecorded_runs, [accepted.run_id]);

    await rm(filler);
    const deadline = Date.now() + 30_000;
    while (harness.manager.unrecordedRunIds.length > 0) {
      assert.ok(Date.now() < deadline, 'the retries record the run once there is room');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const recorded = await harness.store.readState(accepted.run_id);
    assert.equal(recorded?.status, 'completed');
    assert.equal(recorded?.error, undefined);
    assert.equal((await harness.store.readEvents(accepted.run_id)).at(-1)?.type, 'run_finished');
  } finally {
    await harness.close();
    await disk.release();
  }
});

test('the bytes an agent holds are measured as the disk holds them', async () => {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-usage-'));
  try {
    await writeFile(path.join(directory, 'two-megabytes'), Buffer.alloc(2 * 1024 * 1024, 1));
    const used = await bytesUsed([directory]);
    assert.ok(used >= 2 * 1024 * 1024 && used < 3 * 1024 * 1024, `${used} bytes`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('an agent over its SANDBOX_DISK quota is stopped with an error naming the quota', async () => {
  // A quota smaller than a fresh checkout: the first measurement finds the agent over it.
  const harness = await startHarness({ diskQuotaBytes: 1024 });
  try {
    const answer = await harness.post('/orchestrate', { prompt: 'Write a note, slowly. [[slow ms=3000]]', agent_count: 1 });
    const body = (await answer.json()) as { results: Array<{ status: string; error?: string }> };
    assert.equal(body.results[0]?.status, 'error');
    assert.match(body.results[0]?.error ?? '', /over its disk quota of 1\.0 KiB \(SANDBOX_DISK\)/);
  } finally {
    await harness.close();
  }
});
