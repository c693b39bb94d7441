import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrchestrateRequestSchema, toErrorResponse } from '../src/index.ts';

function errorFor(body: unknown) {
  const parsed = OrchestrateRequestSchema.safeParse(body);
  assert.equal(parsed.success, false);
  return toErrorResponse(parsed.error!);
}

test('a valid request parses', () => {
  assert.deepEqual(OrchestrateRequestSchema.parse({ prompt: 'p', agent_count: 10 }), { prompt: 'p', agent_count: 10 });
});

test('each bad field is named with a plain message', () => {
  assert.deepEqual(errorFor({ prompt: 'p' }), { error: 'agent_count is required', field: 'agent_count' });
  assert.deepEqual(errorFor({ prompt: 'p', agent_count: '3' }), { error: 'agent_count must be an integer', field: 'agent_count' });
  assert.deepEqual(errorFor({ prompt: 'p', agent_count: 2.5 }), { error: 'agent_count must be an integer', field: 'agent_count' });
  assert.deepEqual(errorFor({ prompt: 'p', agent_count: 11 }), { error: 'agent_count must be between 1 and 10', field: 'agent_count' });
  assert.deepEqual(errorFor({ agent_count: 1 }), { error: 'prompt is required', field: 'prompt' });
  assert.deepEqual(errorFor({ prompt: ' ', agent_count: 1 }), { error: 'prompt must not be blank', field: 'prompt' });
});
