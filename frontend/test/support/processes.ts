// Test support: the real orchestrator (offline demo model, local sandboxes) and the real frontend server as child processes, as `npm start` runs them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unusedPort } from './servers.ts';

const repositoryRoot = path.resolve(import.meta.dirname, '..', '..', '..');

export interface Service {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

async function waitForAnswer(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url} exited with ${child.exitCode} before answering:\n${output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function startService(entry: string, environment: NodeJS.ProcessEnv, readyPath: string, port: number): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: repositoryRoot, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(forced);
  };
  try {
    await waitForAnswer(`${url}${readyPath}`, child, () => text, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => text, stop };
}

/** A base environment without the caller's model settings, so the orchestrator always uses its offline demo model. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const environment = { ...process.env };
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'ORCHESTRATOR_TOKEN', 'ORCHESTRATOR_URL', 'HOST', 'PORT']) {
    delete environment[name];
  }
  return environment;
}

export async function startOrchestrator(options: { token?: string; environment?: NodeJS.ProcessEnv } = {}): Promise<Service & { home: string }> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-frontend-e2e-'));
  const port = await unusedPort();
  const service = await startService(
    'backend/orchestrator/src/main.ts',
    {
      ...cleanEnvironment(),
      HOME: home,
      WORKSPACE_LOCAL: path.join(home, 'workspace'),
      LOG_DIR: path.join(home, 'logs'),
      AGENT_RUNTIME: 'local',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...(options.token ? { ORCHESTRATOR_TOKEN: options.token } : {}),
      ...options.environment,
    },
    '/health',
    port,
  );
  return {
    ...service,
    home,
    stop: async () => {
      await service.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export async function startFrontendProcess(options: { orchestratorUrl: string; token?: string }): Promise<Service> {
  const port = await unusedPort();
  return startService(
    'frontend/src/server/main.ts',
    {
      ...cleanEnvironment(),
      PORT: String(port),
      HOST: '127.0.0.1',
      ORCHESTRATOR_URL: options.orchestratorUrl,
      ...(options.token ? { ORCHESTRATOR_TOKEN: options.token } : {}),
    },
    '/',
    port,
  );
}
