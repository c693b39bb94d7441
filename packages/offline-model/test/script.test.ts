import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scriptReply, parseDirectives, readAgentContext } from '../src/script.ts';

const prompt = (task: string, agent = 2) =>
  `You are Agent ${agent} working on branch \`agent-${agent}\`.\n\n**Your working directory is: /workspace**\n\n---\n\n## Your Task:\n\n${task}`;
const tools = [{ name: 'mcp__sandbox__Write' }, { name: 'mcp__sandbox__Bash' }];

test('the agent, branch, directory and task are read from the enhanced prompt', () => {
  const context = readAgentContext({ messages: [{ role: 'user', content: prompt('Do it') }] });
  assert.deepEqual(context, { agentId: 2, branch: 'agent-2', workingDirectory: '/workspace', task: 'Do it', followUp: null });
});

test('a follow-up in a resumed conversation writes agent-N-followup.md naming the earlier task and messages, then commits', () => {
  const earlier = [
    { role: 'user', content: prompt('Clock') },
    { role: 'assistant', content: [] },
    { role: 'user', content: [{ type: 'tool_result' }] },
    { role: 'assistant', content: [] },
    { role: 'user', content: [{ type: 'tool_result' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
  ];
  const followUp = { role: 'user', content: [{ type: 'text', text: '## Follow-up from the user\n\n---\n\n## Follow-up Task:\n\nAlso time zones' }] };
  const first = scriptReply({ messages: [...earlier, followUp], tools }, 0, 'f');
  const write = first.kind === 'message' ? first.content.find((block) => block.type === 'tool_use') : undefined;
  assert.equal(write?.type === 'tool_use' && write.input['file_path'], '/workspace/agent-2-followup.md');
  assert.match(String(write?.type === 'tool_use' && write.input['content']), /Follow-up: Also time zones\n\nEarlier task: Clock\nEarlier messages: 6/);
  const second = scriptReply({ messages: [...earlier, followUp, { role: 'assistant', content: [] }, { role: 'user', content: [{ type: 'tool_result' }] }], tools }, 0, 'g');
  const bash = second.kind === 'message' ? second.content.find((block) => block.type === 'tool_use') : undefined;
  assert.match(String(bash?.type === 'tool_use' && bash.input['command']), /git commit -m 'Agent 2: follow-up, add agent-2-followup\.md'/);
});

test('directives carry arguments and may name agents', () => {
  assert.deepEqual(parseDirectives('x [[fail agent=2,3]] [[slow ms=10]]'), [
    { name: 'fail', args: { agent: '2,3' } },
    { name: 'slow', args: { ms: '10' } },
  ]);
});

test('the script writes a file, then commits it, then reports', () => {
  const first = scriptReply({ messages: [{ role: 'user', content: prompt('Clock') }], tools }, 0, 'a');
  assert.equal(first.kind, 'message');
  const write = first.kind === 'message' ? first.content.find((block) => block.type === 'tool_use') : undefined;
  assert.equal(write?.type === 'tool_use' && write.name, 'mcp__sandbox__Write');
  assert.equal(write?.type === 'tool_use' && write.input['file_path'], '/workspace/agent-2.md');

  const afterWrite = [{ role: 'user', content: prompt('Clock') }, { role: 'assistant', content: [] }, { role: 'user', content: [{ type: 'tool_result' }] }];
  const second = scriptReply({ messages: afterWrite, tools }, 0, 'b');
  const bash = second.kind === 'message' ? second.content.find((block) => block.type === 'tool_use') : undefined;
  assert.match(String(bash?.type === 'tool_use' && bash.input['command']), /git add -A && git commit -m 'Agent 2: add agent-2\.md'/);

  const third = scriptReply({ messages: [...afterWrite, { role: 'user', content: [{ type: 'tool_result' }] }], tools }, 0, 'c');
  assert.equal(third.kind === 'message' && third.stopReason, 'end_turn');
});

test('a fail directive for one agent fails that agent only', () => {
  assert.equal(scriptReply({ messages: [{ role: 'user', content: prompt('x [[fail agent=2]]', 2) }], tools }, 0, 'a').kind, 'error');
  assert.equal(scriptReply({ messages: [{ role: 'user', content: prompt('x [[fail agent=2]]', 1) }], tools }, 0, 'a').kind, 'message');
});

test('an overload directive answers 529 the given number of times, then carries on', () => {
  const request = { messages: [{ role: 'user', content: prompt('x [[overload times=2]]') }], tools };
  const first = scriptReply(request, 0, 'a');
  assert.equal(first.kind === 'error' && first.status, 529);
  assert.equal(scriptReply(request, 1, 'a').kind, 'error');
  assert.equal(scriptReply(request, 2, 'a').kind, 'message');
});

const judgePrompt = (task: string) =>
  `## multiclaude judge\n\nYou judge...\n\n<task-abc123>\n${task}\n</task-abc123>\n\nCandidates: 1, 2, 3\n\n### Candidate 1\n<<<BEGIN diff 1 abc123>>>\n+[[judge order=1]]\n<<<END diff 1 abc123>>>`;
const verdictOf = (reply: ReturnType<typeof scriptReply>) => {
  assert.equal(reply.kind, 'message');
  const text = reply.kind === 'message' && reply.content[0]?.type === 'text' ? reply.content[0].text : '';
  return JSON.parse(/```json\n([\s\S]*?)```/.exec(text)?.[1] ?? 'null') as { ranking: Array<{ agent_id: number; reason: string }> } | null;
};

test('a judge prompt is answered with a JSON ranking in the order its task scripts, never steered by a diff', () => {
  const ordered = verdictOf(scriptReply({ messages: [{ role: 'user', content: judgePrompt('Clock [[judge order=3,1]]') }], tools: [] }, 0, 'j'));
  assert.deepEqual(ordered?.ranking.map((entry) => entry.agent_id), [3, 1, 2]);
  const plain = verdictOf(scriptReply({ messages: [{ role: 'user', content: judgePrompt('Clock') }], tools: [] }, 0, 'j'));
  assert.deepEqual(plain?.ranking.map((entry) => entry.agent_id), [1, 2, 3], 'the directive inside candidate 1’s diff is ignored');
});

test('a judge fail directive answers without a ranking; ms delays the answer', () => {
  assert.equal(verdictOf(scriptReply({ messages: [{ role: 'user', content: judgePrompt('x [[judge fail]]') }] }, 0, 'j')), null);
  assert.equal(scriptReply({ messages: [{ role: 'user', content: judgePrompt('x [[judge ms=250]]') }] }, 0, 'j').delayMs, 250);
});

test('bash directives for an agent run first, in order, through its Bash tool, then the usual write and commit follow', () => {
  const task = 'x [[bash agent=2 cmd="echo \\"one ]]\\" && ls"]] [[bash cmd=pwd]] [[bash agent=1 cmd=whoami]]';
  const toolCall = (results: number, agent = 2) => {
    const messages: Array<{ role: string; content: unknown }> = [{ role: 'user', content: prompt(task, agent) }];
    for (let index = 0; index < results; index++) messages.push({ role: 'assistant', content: [] }, { role: 'user', content: [{ type: 'tool_result' }] });
    const reply = scriptReply({ messages, tools }, 0, 'a');
    const use = reply.kind === 'message' ? reply.content.find((block) => block.type === 'tool_use') : undefined;
    return use?.type === 'tool_use' ? use : undefined;
  };
  assert.equal(toolCall(0)?.name, 'mcp__sandbox__Bash');
  assert.equal(toolCall(0)?.input['command'], 'echo "one ]]" && ls');
  assert.equal(toolCall(1)?.input['command'], 'pwd');
  assert.equal(toolCall(2)?.name, 'mcp__sandbox__Write');
  assert.equal(toolCall(0, 1)?.input['command'], 'pwd');
  assert.equal(toolCall(1, 1)?.input['command'], 'whoami');
});

test('a usage directive sets the token counts an answer reports', () => {
  const reply = scriptReply({ messages: [{ role: 'user', content: prompt('x [[usage input_tokens=1000000 output_tokens=5]]') }], tools }, 0, 'a');
  assert.deepEqual(reply.kind === 'message' && reply.usage, { input_tokens: 1_000_000, output_tokens: 5 });
});
