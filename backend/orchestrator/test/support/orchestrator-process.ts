// Starts the real orchestrator as a process of its own (AGENT_RUNTIME=local) on a workspace, for tests that SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../../..');

/** Resolves once /health answers; kills the process and throws if it does not within 30 s. */
export async function startOrchestratorProcess(workspace: string, port: number, extra: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'backend/orchestrator/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', HOME: workspace, WORKSPACE_LOCAL: workspace, PORT: String(port), AGENT_RUNTIME: 'local', LOG_LEVEL: 'WARNING', ...extra },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
    if (health?.ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('orchestrator did not start');
}
