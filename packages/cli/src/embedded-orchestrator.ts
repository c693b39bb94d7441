// Starts an orchestrator as a child process on a free loopback port for the length of one command, and stops it (SIGTERM, then SIGKILL after a grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from './errors.ts';

export interface EmbeddedOrchestrator {
  url: string;
  pid: number;
  /** Its last lines of output, for a message when it fails. */
  output(): string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const OUTPUT_KEPT_CHARACTERS = 8_000;

/** The orchestrator's entry point, found through the workspace package so it works from any directory. */
export function orchestratorEntry(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@multiclaude/orchestrator/package.json')), 'src', 'main.ts');
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Starts it with the user's environment (so their API key, workspace and token apply), listening on loopback only. */
export async function startEmbeddedOrchestrator(options: { signal?: AbortSignal } = {}): Promise<EmbeddedOrchestrator> {
  const port = await freeLoopbackPort();
  const entry = orchestratorEntry();
  const watcher = path.join(import.meta.dirname, 'parent-watch.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(watcher).href, entry], {
    cwd: path.dirname(path.dirname(entry)),
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
    // Its output is kept, not shown: the command's own stdout may be JSON or an MCP stream. The fourth is the
    // pipe parent-watch.ts reads: it closes when this process dies, however it dies, and the orchestrator then stops.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  // Neither the pipe nor the child may keep the command running once it is done.
  (child.stdio[3] as { unref?: () => void } | null)?.unref?.();
  let text = '';
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-OUTPUT_KEPT_CHARACTERS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (!exited(child)) {
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        await gone;
      } finally {
        clearTimeout(forced);
      }
    }
  };

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      options.signal?.throwIfAborted();
      if (exited(child)) {
        throw new CliError('embedded_start_failed', `the orchestrator started for this command exited (${child.exitCode ?? child.signalCode}) before answering:\n${text.trim()}`);
      }
      const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })
        .then(async (response) => {
          await response.body?.cancel();
          return response.ok;
        })
        .catch(() => false);
      if (healthy) break;
      if (Date.now() > deadline) {
        throw new CliError('embedded_start_failed', `the orchestrator started for this command did not answer ${url}/health within ${START_TIMEOUT_MS / 1000} s:\n${text.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: child.pid!, output: () => text, stop };
}
