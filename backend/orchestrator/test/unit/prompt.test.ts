import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnhancedPrompt } from '../../src/agents/prompt.ts';

test('the enhanced prompt matches the design example, with the user prompt verbatim at the end', () => {
  const prompt = buildEnhancedPrompt({
    agentId: 1,
    branchName: 'agent-1',
    workingDirectory: '/workspace',
    userPrompt: 'Build a clock.\n  keep `this` *verbatim*',
  });
  const expected = [
    '## IMPORTANT: Workspace and Git Instructions',
    '',
    'You are Agent 1 working on branch `agent-1`.',
    '',
    '**Your working directory is: /workspace**',
    '',
    'All files you create should be placed in /workspace.',
    '',
    '**CRITICAL: At the end of your work, you MUST commit all your changes:**',
    '',
    '1. Stage all your changes:',
    '   ```bash',
    '   git add -A',
    '   ```',
    '',
    '2. Commit with a descriptive message:',
    '   ```bash',
    '   git commit -m "Agent 1: <brief description of what you implemented>"',
    '   ```',
    '',
    '---',
    '',
    '## Your Task:',
    '',
    'Build a clock.\n  keep `this` *verbatim*',
  ].join('\n');
  assert.equal(prompt, expected);
});

test('the enhanced prompt names the agent, its branch and the directory its tools see', () => {
  const prompt = buildEnhancedPrompt({ agentId: 7, branchName: 'agent-7', workingDirectory: '/w/agent-7', userPrompt: 'x' });
  assert.match(prompt, /You are Agent 7 working on branch `agent-7`\./);
  assert.match(prompt, /\*\*Your working directory is: \/w\/agent-7\*\*/);
  assert.match(prompt, /git commit -m "Agent 7: /);
});
