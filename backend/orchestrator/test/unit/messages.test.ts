import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toAgentMessages, displayToolName, summarizeToolInput } from '../../src/agents/messages.ts';

test('tool names lose their MCP server prefix', () => {
  assert.equal(displayToolName('mcp__sandbox__Write'), 'Write');
  assert.equal(displayToolName('Bash'), 'Bash');
});

test('a tool input is summarised by its command or path, cut short', () => {
  assert.equal(summarizeToolInput({ command: 'ls -la' }), 'ls -la');
  assert.equal(summarizeToolInput({ file_path: '/w/a.txt', content: 'x'.repeat(10_000) }), '/w/a.txt');
  assert.ok(summarizeToolInput({ other: 'y'.repeat(1_000) }).length <= 200);
});

test('assistant text, tool calls and tool results become short records; other messages none', () => {
  const records = toAgentMessages({
    type: 'assistant',
    message: { content: [{ type: 'text', text: 'hi' }, { type: 'tool_use', name: 'mcp__sandbox__Bash', input: { command: 'ls' } }] },
  });
  assert.deepEqual(records, [
    { type: 'text', text: 'hi' },
    { type: 'tool_use', tool: 'Bash', input_summary: 'ls' },
  ]);
  assert.deepEqual(
    toAgentMessages({ type: 'user', message: { content: [{ type: 'tool_result', content: [{ type: 'text', text: 'ok' }] }] } }),
    [{ type: 'tool_result', text: 'ok' }],
  );
  assert.deepEqual(toAgentMessages({ type: 'system' }), []);
});
