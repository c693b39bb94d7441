// Bad input to POST /orchestrate: a clear JSON error naming the field, nothing created on disk, no stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { startHarness, type Harness } from './support/harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

/** No run recorded, and nothing in the workspace but the run store's own directory. */
async function assertNothingCreated(): Promise<void> {
  assert.deepEqual((await readdir(harness.workspace)).filter((name) => name !== '.multiclaude'), [], 'nothing is written to the workspace');
  assert.deepEqual((await harness.machinery.runs.list(100)).runs, [], 'no run is recorded');
}

const cases: Array<{ name: string; body: unknown; status: number; field?: string }> = [
  { name: 'agent_count is missing', body: { prompt: 'hi' }, status: 400, field: 'agent_count' },
  { name: 'agent_count is a fraction', body: { prompt: 'hi', agent_count: 2.5 }, status: 400, field: 'agent_count' },
  { name: 'agent_count is a numeric string', body: { prompt: 'hi', agent_count: '3' }, status: 400, field: 'agent_count' },
  { name: 'agent_count is a word', body: { prompt: 'hi', agent_count: 'three' }, status: 400, field: 'agent_count' },
  { name: 'agent_count is zero', body: { prompt: 'hi', agent_count: 0 }, status: 400, field: 'agent_count' },
  { name: 'agent_count is eleven', body: { prompt: 'hi', agent_count: 11 }, status: 400, field: 'agent_count' },
  { name: 'agent_count is null', body: { prompt: 'hi', agent_count: null }, status: 400, field: 'agent_count' },
  { name: 'prompt is missing', body: { agent_count: 1 }, status: 400, field: 'prompt' },
  { name: 'prompt is not a string', body: { prompt: 42, agent_count: 1 }, status: 400, field: 'prompt' },
  { name: 'prompt is blank', body: { prompt: '   \n\t', agent_count: 1 }, status: 400, field: 'prompt' },
  { name: 'prompt is over 100,000 characters', body: { prompt: 'x'.repeat(100_001), agent_count: 1 }, status: 413, field: 'prompt' },
  { name: 'the body is malformed JSON', body: '{"prompt": "hi", "agent_count": ', status: 400 },
  { name: 'the body is a JSON array', body: '[1,2]', status: 400 },
  { name: 'the body is JSON null', body: 'null', status: 400 },
  { name: 'the body is a JSON string', body: '"hello"', status: 400 },
  { name: 'the body is empty', body: '', status: 400 },
  { name: 'stop_when has no check_command', body: { prompt: 'hi', agent_count: 3, stop_when: 'first_pass' }, status: 400, field: 'stop_when' },
  { name: 'start_with exceeds agent_count', body: { prompt: 'hi', agent_count: 3, check_command: 'true', start_with: 4 }, status: 400, field: 'start_with' },
  { name: 'learn_from_failures has no start_with', body: { prompt: 'hi', agent_count: 3, check_command: 'true', learn_from_failures: true }, status: 400, field: 'learn_from_failures' },
  { name: 'select is unknown', body: { prompt: 'hi', agent_count: 3, select: 'vote' }, status: 400, field: 'select' },
];

for (const testCase of cases) {
  test(`answers ${testCase.status} and creates nothing when ${testCase.name}`, async () => {
    const response = await harness.post('/orchestrate', testCase.body);
    assert.equal(response.status, testCase.status);
    const text = await response.text();
    const body = JSON.parse(text) as { error?: unknown; field?: unknown };
    assert.equal(typeof body.error, 'string');
    if (testCase.field) assert.equal(body.field, testCase.field);
    assert.doesNotMatch(text, /\n\s+at |node_modules|\.ts:\d+/, 'no stack trace');
    await assertNothingCreated();
  });
}

test('a body that is not JSON by Content-Type gets 415 and creates nothing', async () => {
  const response = await harness.app.request('/orchestrate', {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'prompt=hi',
  });
  assert.equal(response.status, 415);
  await assertNothingCreated();
});

test('an unknown route answers a JSON 404', async () => {
  const response = await harness.app.request('/nope');
  assert.equal(response.status, 404);
  assert.match(((await response.json()) as { error: string }).error, /no route/);
});
