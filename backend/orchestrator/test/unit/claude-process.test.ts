// The claude spawner: agents run nicer than the orchestrator, so its API stays responsive while they use the cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { AGENT_NICENESS, createClaudeSpawner } from '../../src/agents/claude-process.ts';

test('a spawned agent process runs AGENT_NICENESS nicer than the orchestrator', async () => {
  const spawnClaude = createClaudeSpawner(() => {});
  const child = spawnClaude({ command: 'sleep', args: ['30'], cwd: os.tmpdir(), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, signal: new AbortController().signal }) as unknown as ChildProcess;
  try {
    assert.ok(child.pid);
    assert.equal(os.getPriority(child.pid), Math.min(19, os.getPriority() + AGENT_NICENESS));
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
  }
});
