import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentGrants, budgetMessage } from '../../src/model-proxy/agent-grants.ts';

test('each agent gets its own unguessable token, valid until revoked, and revoking twice is harmless', () => {
  const grants = new AgentGrants();
  const first = grants.issue({ runId: 'r', agentId: 1 });
  const second = grants.issue({ runId: 'r', agentId: 1 });
  assert.notEqual(first.token, second.token, 'a new token for every agent run');
  assert.match(first.token, /^multiclaude-agent-[A-Za-z0-9_-]{43}$/, '256 random bits');
  assert.equal(grants.admit(first.token).admitted, true);
  first.revoke();
  first.revoke();
  assert.deepEqual(grants.admit(first.token), { admitted: false, reason: 'unknown_token' });
  assert.equal(grants.admit(second.token).admitted, true, 'the other token lives on');
  assert.equal(grants.active, 1);
});

test('spend reaching the budget exactly stops the agent; without a budget nothing does', () => {
  const grants = new AgentGrants();
  const capped = grants.issue({ runId: 'r', agentId: 1, budgetUsd: 3 });
  const free = grants.issue({ runId: 'r', agentId: 2 });
  grants.charge(capped, 'claude-sonnet-4-5', { input_tokens: 999_999 });
  assert.equal(grants.admit(capped.token).admitted, true, 'just under $3');
  grants.charge(capped, 'claude-sonnet-4-5', { input_tokens: 1 });
  const refused = grants.admit(capped.token);
  assert.equal(refused.admitted === false && refused.reason, 'budget_reached');
  assert.equal(capped.refusals, 1);
  assert.equal(budgetMessage(capped), "budget reached: agent 1 spent $3.0000 of its $3.0000 share of the run's budget_usd");
  grants.charge(free, 'claude-opus-4-1', { output_tokens: 10_000_000 });
  assert.equal(grants.admit(free.token).admitted, true, `no cap at $${free.spentUsd}`);
});

test('an answer that ends after its agent was revoked is still charged to it', () => {
  const grants = new AgentGrants();
  const grant = grants.issue({ runId: 'r', agentId: 1, budgetUsd: 1 });
  grant.revoke();
  grants.charge(grant, 'claude-haiku-4-5', { output_tokens: 200_000 });
  assert.equal(grant.spentUsd, 1);
});
