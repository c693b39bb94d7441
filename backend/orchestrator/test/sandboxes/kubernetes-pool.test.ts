// The kubernetes runtime's warm pool without a cluster: the pool keeps its size with stand-in pods, replaces what is taken, cleans up failed starts and closes; a claimed slot becomes the agent's repository in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { POOL_DIRECTORY, WarmPool, adoptRepository } from '../../src/sandboxes/kubernetes-pool.ts';

const logger = pino({ level: 'silent' });

function workspace(t: { after(fn: () => void): void }): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'mc-pool-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

const settle = async (until: () => boolean) => {
  for (let i = 0; i < 100 && !until(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

test('the pool starts pods over slot directories of their own until it has its size, and replaces each one taken', async (t) => {
  const root = workspace(t);
  const created: Array<{ name: string; subPath: string }> = [];
  let counter = 0;
  const pool = new WarmPool({
    size: 2,
    workspaceLocal: root,
    nextName: () => `mc-warm-${++counter}`,
    create: async (name, subPath) => void created.push({ name, subPath }),
    remove: async () => undefined,
    logger,
  });
  pool.fill();
  await settle(() => pool.readyCount === 2);
  assert.equal(pool.readyCount, 2);
  // The two start side by side: either may reach its pod first.
  assert.deepEqual(
    [...created].sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: 'mc-warm-1', subPath: `${POOL_DIRECTORY}/mc-warm-1` },
      { name: 'mc-warm-2', subPath: `${POOL_DIRECTORY}/mc-warm-2` },
    ],
  );
  const taken = pool.take();
  assert.ok(taken?.name === 'mc-warm-1' || taken?.name === 'mc-warm-2', 'the first pod ready is taken');
  const slot = path.join(root, '.multiclaude', 'sandbox-pool', taken.name);
  assert.equal(taken.slotDirectory, slot);
  assert.equal(statSync(slot).mode & 0o777, 0o700, 'each slot is private');
  await settle(() => pool.readyCount === 2);
  assert.equal(created.at(-1)?.name, 'mc-warm-3', 'a replacement started');
  await pool.close();
  assert.equal(pool.readyCount, 0);
});

test('a pod that fails to start is removed with its slot, and the pool is empty rather than broken', async (t) => {
  const root = workspace(t);
  const removed: string[] = [];
  const pool = new WarmPool({
    size: 1,
    workspaceLocal: root,
    nextName: () => 'mc-warm-bad',
    create: async () => {
      throw new Error('ErrImageNeverPull');
    },
    remove: async (name) => void removed.push(name),
    logger,
  });
  pool.fill();
  const slot = path.join(root, '.multiclaude', 'sandbox-pool', 'mc-warm-bad');
  await settle(() => removed.length > 0 && !existsSync(slot));
  assert.deepEqual(removed, ['mc-warm-bad']);
  assert.equal(existsSync(slot), false);
  assert.equal(pool.take(), undefined, 'nothing ready: the agent starts cold');
  await pool.close();
});

test("claiming moves the repository into the pod's slot and renames the slot to the repository's path", (t) => {
  const root = workspace(t);
  const repository = path.join(root, 'runs', 'run_x', 'worktrees', 'agent-1');
  mkdirSync(path.join(repository, '.git', 'objects'), { recursive: true });
  writeFileSync(path.join(repository, 'README.md'), 'hello');
  const slot = path.join(root, '.multiclaude', 'sandbox-pool', 'mc-warm-1');
  mkdirSync(slot, { recursive: true, mode: 0o700 });
  const slotInode = statSync(slot).ino;
  return adoptRepository(repository, slot).then(() => {
    assert.equal(statSync(repository).ino, slotInode, 'the repository is now the very directory the pod mounts');
    assert.equal(readFileSync(path.join(repository, 'README.md'), 'utf8'), 'hello');
    assert.ok(existsSync(path.join(repository, '.git', 'objects')));
    assert.equal(existsSync(slot), false);
    assert.equal(statSync(repository).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(path.join(root, '.multiclaude', 'sandbox-pool')), []);
  });
});

test('a claim that cannot complete leaves the repository whole where it was', async (t) => {
  const root = workspace(t);
  const repository = path.join(root, 'repo');
  mkdirSync(repository);
  writeFileSync(path.join(repository, 'a.txt'), 'a');
  await assert.rejects(adoptRepository(repository, path.join(root, 'missing-slot')));
  assert.equal(readFileSync(path.join(repository, 'a.txt'), 'utf8'), 'a');
});
