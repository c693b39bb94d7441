import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRunId, isRunId, runDirectoryName } from '../../src/workspace/run-id.ts';

test('a run id is the UTC timestamp then eight hex digits', () => {
  const id = createRunId(new Date(Date.UTC(2026, 1, 4, 12, 34, 56)), () => Buffer.from([0xab, 0xc1, 0x23, 0x45]));
  assert.equal(id, '20260204_123456_abc12345');
  assert.equal(isRunId(id), true);
  assert.equal(runDirectoryName(id), 'run_20260204_123456_abc12345');
});

test('two run ids made in the same second differ', () => {
  const now = new Date();
  assert.notEqual(createRunId(now), createRunId(now));
});

test('run id validation refuses anything that could escape a path', () => {
  for (const bad of ['../etc', '20260204_123456_abc1234', '20260204_123456_ABC12345', '20260204_123456_abc12345/..', '']) {
    assert.equal(isRunId(bad), false, bad);
  }
});
