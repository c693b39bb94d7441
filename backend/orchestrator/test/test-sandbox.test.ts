// GET /test-sandbox starts a throwaway sandbox of the runtime in use (local, docker; kubernetes in test/cluster) and leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { registerOperationsRoutes } from '../src/http/operations-routes.ts';
import { loadConfig } from '../src/config.ts';
import { SandboxError, type SandboxRuntime } from '../src/sandboxes/runtime.ts';
import { DockerRuntime } from '../src/sandboxes/docker.ts';
import { LocalRuntime } from '../src/sandboxes/local.ts';
import { memoryLogger, searchPath } from './support/harness.ts';
import { skipUnlessRequired } from './support/required.ts';
import { dockerUnavailable } from './support/docker.ts';

const IMAGE = 'claude-mcp:latest';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const skipDocker = skipUnlessRequired(dockerUnavailable(IMAGE));

let workspace: string;
const config = loadConfig({ HOME: os.tmpdir() });

before(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-test-sandbox-'));
  await mkdir(path.join(workspace, 'runs'));
});
after(async () => {
  await rm(workspace, { recursive: true, force: true });
});

function appWith(sandboxRuntime: Pick<SandboxRuntime, 'name' | 'runCommand'>): Hono {
  const app = new Hono();
  registerOperationsRoutes(app, {
    runtime: { name: sandboxRuntime.name, check: async () => ({ ok: true, detail: 'fine' }), diagnostics: () => ({}) },
    sandboxRuntime,
    dockerImage: IMAGE,
    workspaceLocal: workspace,
    claudeExecutable: config.claudeExecutable,
    runsInFlight: () => 0,
    logger: memoryLogger().logger,
  });
  return app;
}

/** What the throwaway sandbox left in the workspace: nothing under runs/ nor the orchestrator's per-agent files. */
async function leftovers(): Promise<string[]> {
  const runs = await readdir(path.join(workspace, 'runs')).catch(() => []);
  const agents = await readdir(path.join(workspace, '.multiclaude', 'agents')).catch(() => []);
  return [...runs, ...agents];
}

test('test-sandbox runs a probe in a throwaway local sandbox and leaves nothing in the workspace', async () => {
  const runtime = new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath, workspaceRoot: workspace, uidRange: config.sandbox.uidRange });
  const response = await appWith(runtime).request('/test-sandbox');
  const body: Json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.success, true);
  assert.equal(body.runtime, 'local');
  assert.match(body.output, /^sandbox ok: user \S+ \(\d+\), Linux .*, in \/\S+$/m);
  assert.ok(body.duration_ms >= 0);
  assert.deepEqual(await leftovers(), []);
});

test('test-sandbox runs the probe in a throwaway docker sandbox (the MCP image, its claude) and leaves nothing behind', { skip: skipDocker }, async () => {
  const runtime = new DockerRuntime({
    image: IMAGE,
    workspaceLocal: workspace,
    workspacePath: workspace,
    memory: config.sandbox.memory,
    cpus: config.sandbox.cpus,
    pidsLimit: config.sandbox.pidsLimit,
    uidRange: config.sandbox.uidRange,
    dockerCommand: 'docker',
    logger: memoryLogger().logger,
  });
  const response = await appWith(runtime).request('/test-sandbox');
  const body: Json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.runtime, 'docker');
  assert.match(body.output, /sandbox ok: user \S+ \(\d+\), Linux /);
  assert.match(body.output, /Claude Code/);
  assert.deepEqual(await leftovers(), []);
  const left = execFileSync('docker', ['ps', '--all', '--quiet', '--filter', 'label=multiclaude.managed=true', '--filter', 'name=-setup-check'], { encoding: 'utf8' });
  assert.equal(left.trim(), '', 'no check container left');
});

test('a runtime that cannot start a sandbox answers 503 with its error code and words; a failing probe answers 500 with its output', async () => {
  const refusing: Pick<SandboxRuntime, 'name' | 'runCommand'> = {
    name: 'docker',
    runCommand: async () => {
      throw new SandboxError('sandbox_start_failed', 'could not create the sandbox pod: forbidden');
    },
  };
  let response = await appWith(refusing).request('/test-sandbox');
  let body: Json = await response.json();
  assert.equal(response.status, 503);
  assert.deepEqual([body.success, body.code, body.error], [false, 'sandbox_start_failed', 'could not create the sandbox pod: forbidden']);
  assert.deepEqual(await leftovers(), []);

  const failing: Pick<SandboxRuntime, 'name' | 'runCommand'> = {
    name: 'docker',
    runCommand: async () => ({ exitCode: 127, timedOut: false, durationMs: 5, outputTail: 'sh: claude: not found\n' }),
  };
  response = await appWith(failing).request('/test-sandbox');
  body = await response.json();
  assert.equal(response.status, 500);
  assert.equal(body.error, "the test sandbox's probe exited with 127");
  assert.equal(body.output, 'sh: claude: not found');
});
