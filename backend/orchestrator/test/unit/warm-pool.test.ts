import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { WarmPool } from '../../src/agents/warm-pool.ts';

/** A spare that starts when the test says so and records its close. */
class FakeSpare {
  closed = false;
  readonly directory: string;
  readonly exited: Promise<void>;
  #exit!: () => void;
  constructor(directory: string) {
    this.directory = directory;
    this.exited = new Promise((resolve) => (this.#exit = resolve));
  }
  async close(): Promise<void> {
    this.closed = true;
    this.#exit();
  }
}

function pool(size: number, idleMs = 60_000) {
  const started: FakeSpare[] = [];
  const pending: Array<() => void> = [];
  const warm = new WarmPool<FakeSpare>({
    size,
    idleMs,
    directory: path.join(os.tmpdir(), `warm-pool-test-${process.pid}`),
    logger: pino({ level: 'silent' }),
    startSpare: (directory) =>
      new Promise((resolve) => {
        pending.push(() => {
          const spare = new FakeSpare(directory);
          started.push(spare);
          resolve(spare);
        });
      }),
  });
  /** Lets every spare being started finish starting. */
  const arrive = async (): Promise<void> => {
    for (const finish of pending.splice(0)) finish();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { warm, started, arrive };
}

test('spares beyond what running agents leave are closed, and the pool fills again when agents end', async () => {
  const { warm, started, arrive } = pool(2);
  await warm.start();
  await arrive();
  assert.equal(warm.ready, 2);
  warm.setAllowance(1);
  assert.equal(warm.ready, 1);
  assert.equal(started.filter((spare) => spare.closed).length, 1, 'one closed to make room for an agent');
  warm.setAllowance(4);
  await arrive();
  assert.equal(warm.ready, 2, 'back to its size, not to the allowance');
  await warm.close();
  assert.ok(started.every((spare) => spare.closed), 'none left after close');
});

test('a run’s agents wait for spares started for them, and an agent cancelled meanwhile stops waiting', async () => {
  const { warm, started, arrive } = pool(1);
  await warm.start();
  await arrive();
  warm.prepare(3);
  assert.equal(warm.spares, 3, 'two more start for the run');
  const first = await warm.take();
  assert.ok(first, 'the ready one at once');
  const second = warm.take();
  const cancelled = new AbortController();
  const third = warm.take(cancelled.signal);
  cancelled.abort();
  assert.equal(await third, undefined, 'a cancelled agent does not wait');
  await arrive();
  const secondSpare = await second;
  assert.ok(secondSpare, 'the next gets a spare started for the run');
  assert.equal(warm.ready, 1, 'the spare the cancelled agent would have had stays ready');
  await warm.close();
  const claimed = [first, secondSpare];
  assert.ok(started.filter((spare) => !claimed.includes(spare)).every((spare) => spare.closed), 'the pool closes what it still holds');
  assert.ok(claimed.every((spare) => !spare.closed), 'claimed spares are their agents’ to end');
});

test('with no spare ready or starting, an agent starts cold at once; size 0 starts nothing', async () => {
  const { warm, arrive } = pool(0);
  await warm.start();
  warm.prepare(5);
  await arrive();
  assert.equal(warm.spares, 0);
  assert.equal(await warm.take(), undefined);
  await warm.close();
});
