// The real executor's start of an agent, with a stand-in runtime and warm pool (no claude, no git): the sandbox starts while a warm spare is awaited, is reported ready as soon as it runs, and a failed start still hands the awaited spare back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import pino from 'pino';
import { createSandboxExecutor } from '../../src/runs/agent-runner.ts';
import { WorkspaceLayout } from '../../src/workspace/layout.ts';
import { SandboxError, type Sandbox, type SandboxRuntime } from '../../src/sandboxes/runtime.ts';
import type { ModelAccess } from '../../src/model-proxy/model-proxy.ts';
import type { WarmSpare } from '../../src/agents/warm-session.ts';
import type { AgentJob } from '../../src/runs/agent-executor.ts';

const logger = pino({ level: 'silent' });
const run = new WorkspaceLayout(os.tmpdir()).run('20261201_120000_abcdef01');

/** A runtime whose start() resolves or fails when the test says, recording what happened. */
function controlledRuntime(timeline: string[]) {
  let settle: { resolve: (sandbox: Sandbox) => void; reject: (error: Error) => void } | undefined;
  const sandbox: Sandbox = {
    user: undefined,
    workingDirectory: '/workspace',
    mcpServer: { type: 'stdio', command: 'true', args: [], env: {} },
    stop: async () => void timeline.push('sandbox stopped'),
    release: async () => undefined,
  } as unknown as Sandbox;
  const runtime = {
    name: 'controlled',
    start: () => {
      timeline.push('sandbox starting');
      return new Promise<Sandbox>((resolve, reject) => (settle = { resolve, reject }));
    },
  } as unknown as SandboxRuntime;
  return { runtime, sandbox, started: () => settle !== undefined, settle: () => settle! };
}

/** A warm pool whose take() waits until the test hands it a spare (or none). */
function controlledPool(timeline: string[]) {
  let give: ((spare: WarmSpare | undefined) => void) | undefined;
  const pool = {
    take: () => {
      timeline.push('spare awaited');
      return new Promise<WarmSpare | undefined>((resolve) => (give = resolve));
    },
  };
  return { pool, give: (spare: WarmSpare | undefined) => give!(spare) };
}

function executorWith(runtime: SandboxRuntime, pool: { take(): Promise<WarmSpare | undefined> }, modelAccess: ModelAccess) {
  return createSandboxExecutor({
    runtime,
    modelAccess,
    modelName: undefined,
    claudeExecutable: '/bin/false',
    maxTurns: 1,
    agentTimeoutMs: 10_000,
    checkTimeoutMs: 10_000,
    setupTimeoutMs: 10_000,
    diskQuotaBytes: 1 << 30,
    searchPath: '/usr/bin:/bin',
    runningAsRoot: false,
    warmPool: pool,
  });
}

const job = (timeline: string[]): AgentJob => ({
  run,
  agent: run.agent(1),
  userPrompt: 'task',
  logger,
  signal: new AbortController().signal,
  onMessage: () => undefined,
  onSandboxReady: () => void timeline.push('sandbox ready'),
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

test('the sandbox starts while the agent waits for a warm spare, and is reported ready as soon as it runs, before the spare arrives', async () => {
  const timeline: string[] = [];
  const { runtime, sandbox, started, settle } = controlledRuntime(timeline);
  const { pool, give } = controlledPool(timeline);
  // The agent ends right after the start (no grant), so no session is needed to see the order.
  const modelAccess = { grant: () => { timeline.push('grant'); throw new Error('no model in this test'); } } as unknown as ModelAccess;
  const outcome = executorWith(runtime, pool, modelAccess).runAgent(job(timeline));
  await tick();
  assert.ok(started(), 'the sandbox start did not wait for the spare');
  settle().resolve(sandbox);
  await tick();
  assert.deepEqual(timeline, ['sandbox starting', 'spare awaited', 'sandbox ready'], 'ready while the spare is still awaited');
  give(undefined);
  const result = await outcome;
  assert.equal(result.status, 'error');
  assert.deepEqual(timeline.slice(3), ['grant', 'sandbox stopped'], 'the grant comes after both, and the sandbox is stopped at the end');
});

test('a sandbox that fails to start while a spare is awaited fails the agent with its error, is never reported ready, and the spare it got is handed over', async () => {
  const timeline: string[] = [];
  const { runtime, settle } = controlledRuntime(timeline);
  const { pool, give } = controlledPool(timeline);
  const modelAccess = { grant: () => { timeline.push('grant'); throw new Error('not reached'); } } as unknown as ModelAccess;
  const spare = { handOver: async () => void timeline.push('spare handed over') } as unknown as WarmSpare;
  const outcome = executorWith(runtime, pool, modelAccess).runAgent(job(timeline));
  await tick();
  settle().reject(new SandboxError('sandbox_start_failed', 'the sandbox pod did not start'));
  await tick();
  give(spare);
  const result = await outcome;
  assert.equal(result.status, 'error');
  assert.match(result.error ?? '', /the sandbox pod did not start/);
  assert.deepEqual(timeline, ['sandbox starting', 'spare awaited', 'spare handed over']);
});
