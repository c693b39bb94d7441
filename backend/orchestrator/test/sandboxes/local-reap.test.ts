// The local runtime's start-up reaper on a machine shared by several orchestrators: it removes the tool servers left in its own workspace, never another orchestrator's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalRuntime } from '../../src/sandboxes/local.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the reaper kills a stale tool server working in its own workspace and leaves one working in another workspace', async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-reap-'));
  const mine = path.join(base, 'mine', 'runs', 'run_20260101_000000_aaaaaaaa', 'worktrees', 'agent-1');
  const theirs = path.join(base, 'theirs', 'runs', 'run_20260101_000000_bbbbbbbb', 'worktrees', 'agent-1');
  await mkdir(mine, { recursive: true });
  await mkdir(theirs, { recursive: true });
  const start = (cwd: string, marker: string) =>
    spawn('sleep', ['60'], { cwd, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MULTICLAUDE_SANDBOX: marker }, stdio: 'ignore' });
  const stale = start(mine, '20260101_000000_aaaaaaaa/agent-1');
  const foreign = start(theirs, '20260101_000000_bbbbbbbb/agent-1');
  try {
    const runtime = new LocalRuntime({ claudeExecutable: 'claude', searchPath: '/usr/bin:/bin', workspaceRoot: path.join(base, 'mine') });
    const removed = await runtime.reapStale(() => false);
    assert.deepEqual(removed, [`pid ${stale.pid} (20260101_000000_aaaaaaaa/agent-1)`]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(alive(stale.pid!), false);
    assert.equal(alive(foreign.pid!), true, 'another orchestrator’s tool server is left alone');
  } finally {
    stale.kill('SIGKILL');
    foreign.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
  }
});
