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

test('best-of-N fields parse, and each one that needs another names itself', () => {
  const base = { prompt: 'p', agent_count: 5, check_command: 'npm test' };
  assert.deepEqual(OrchestrateRequestSchema.parse({ ...base, stop_when: 'first_pass', start_with: 2, learn_from_failures: true, select: 'check+judge', budget_usd: 1 }), {
    ...base,
    stop_when: 'first_pass',
    start_with: 2,
    learn_from_failures: true,
    select: 'check+judge',
    budget_usd: 1,
  });
  assert.deepEqual(errorFor({ prompt: 'p', agent_count: 3, stop_when: 'first_pass' }), {
    error: 'stop_when "first_pass" needs check_command: it stops at the first attempt that passes it',
    field: 'stop_when',
  });
  assert.deepEqual(errorFor({ ...base, stop_when: 'all' }), { error: 'stop_when must be "first_pass"', field: 'stop_when' });
  assert.deepEqual(errorFor({ ...base, start_with: 6 }), { error: 'start_with must be at most agent_count (the most attempts the run may start)', field: 'start_with' });
  assert.deepEqual(errorFor({ ...base, start_with: 0 }), { error: 'start_with must be at least 1', field: 'start_with' });
  assert.deepEqual(errorFor({ ...base, start_with: 1.5 }), { error: 'start_with must be an integer', field: 'start_with' });
  assert.deepEqual(errorFor({ prompt: 'p', agent_count: 3, start_with: 1 }), {
    error: 'start_with needs check_command: more attempts start only while none has passed it',
    field: 'start_with',
  });
  assert.deepEqual(errorFor({ ...base, learn_from_failures: true }), {
    error: 'learn_from_failures needs start_with (only later batches can learn from earlier ones)',
    field: 'learn_from_failures',
  });
  assert.deepEqual(errorFor({ ...base, learn_from_failures: 'yes' }), { error: 'learn_from_failures must be true or false', field: 'learn_from_failures' });
  assert.deepEqual(errorFor({ ...base, select: 'vote' }), { error: 'select must be "check", "judge" or "check+judge"', field: 'select' });
  assert.deepEqual(errorFor({ prompt: 'p', agent_count: 3, select: 'check+judge' }), { error: 'select "check+judge" needs check_command', field: 'select' });
  assert.equal(OrchestrateRequestSchema.safeParse({ prompt: 'p', agent_count: 3, select: 'judge' }).success, true, 'a judge alone needs no check');
});
