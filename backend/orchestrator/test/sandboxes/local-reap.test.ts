// The local runtime's start-up reaper on a machine shared by several orchestrators: it removes the tool servers its own workspace left, never another orchestrator's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { LocalRuntime } from '../../src/sandboxes/local.ts';
import { WorkspaceLayout } from '../../src/workspace/layout.ts';
import { createRunId } from '../../src/workspace/run-id.ts';
import { createRunRepository } from '../../src/git/run-repository.ts';
import { memoryLogger, searchPath } from '../support/harness.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A real tool server of a fresh run in `workspace`, started the way the SDK starts it. */
async function toolServer(workspace: string): Promise<{ runtime: LocalRuntime; child: ChildProcess; stop: () => Promise<void> }> {
  const config = loadConfig({ HOME: workspace, WORKSPACE_LOCAL: workspace });
  const runtime = new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath, workspaceRoot: workspace, uidRange: config.sandbox.uidRange });
  const paths = new WorkspaceLayout(workspace).run(createRunId());
  await createRunRepository({ paths, prompt: 'reap', agentCount: 1, createdAt: new Date() });
  const sandbox = await runtime.start({ run: paths, agent: paths.agent(1), logger: memoryLogger().logger });
  const child = spawn(sandbox.mcpServer.command, sandbox.mcpServer.args, { stdio: ['pipe', 'ignore', 'ignore'] });
  return { runtime, child, stop: () => sandbox.stop() };
}

test('the reaper kills a stale tool server of its own workspace and leaves another orchestrator’s alone', async () => {
  const mine = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-reap-mine-'));
  const theirs = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-reap-theirs-'));
  const own = await toolServer(mine);
  const foreign = await toolServer(theirs);
  try {
    // Both are marked processes by now: the marker is set before the server's own program starts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const removed = await own.runtime.reapStale(() => false);
    assert.equal(removed.length > 0, true, 'its own stale server is removed');
    await new Promise((resolve) => own.child.exitCode !== null || own.child.signalCode !== null ? resolve(null) : own.child.once('exit', resolve));
    assert.equal(alive(foreign.child.pid!), true, 'another orchestrator’s tool server is left alone');
  } finally {
    await own.stop();
    await foreign.stop();
    own.child.kill('SIGKILL');
    foreign.child.kill('SIGKILL');
    await rm(mine, { recursive: true, force: true });
    await rm(theirs, { recursive: true, force: true });
  }
});
