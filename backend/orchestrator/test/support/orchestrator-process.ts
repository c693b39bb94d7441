// A real orchestrator process (main.ts, as `npm start` runs it) on a workspace and a run store, for tests that kill, restart or run several of them.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from './ports.ts';

const root = path.resolve(import.meta.dirname, '../../../..');

export interface OrchestratorProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr (its log at LOG_LEVEL, WARNING unless set). */
  output(): string;
  /** SIGTERM (or the signal given) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface OrchestratorProcessOptions {
  workspace: string;
  /** The run store's PostgreSQL database; the workspace's embedded store when undefined. */
  databaseUrl?: string | undefined;
  port?: number;
  env?: Record<string, string>;
  /** A command the orchestrator's node is run through (it ends by exec'ing its arguments), e.g. to enter a memory-limited cgroup. */
  wrapper?: string[];
}

export async function startOrchestratorProcess(options: OrchestratorProcessOptions): Promise<OrchestratorProcess> {
  const port = options.port ?? (await freePort());
  const command = [...(options.wrapper ?? []), process.execPath, '--import', 'tsx', 'backend/orchestrator/src/main.ts'];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: options.workspace,
      WORKSPACE_LOCAL: options.workspace,
      PORT: String(port),
      AGENT_RUNTIME: 'local',
      LOG_LEVEL: 'WARNING',
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => void (output += chunk.toString());
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const health = await fetch(`${url}/health`).catch(() => undefined);
    if (health?.ok) return { url, port, child, output: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop('SIGKILL');
  throw new Error(`the orchestrator did not start: ${output.slice(-2000)}`);
}
