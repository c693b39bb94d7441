// Test support: a real orchestrator process (offline demo model, local sandboxes), the CLI run as a user runs it (a real process, with or without a pseudo-terminal), and a git repository to run in.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../../src/embedded-orchestrator.ts';

export const CLI_BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'multiclaude.js');
const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const run = promisify(execFile);

/** The caller's environment without anything that would point the processes at a real model or another orchestrator. */
export function cleanEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const environment = { ...process.env };
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'ORCHESTRATOR_TOKEN', 'ORCHESTRATOR_URL', 'HOST', 'PORT', 'DEBUG']) {
    delete environment[name];
  }
  return { ...environment, AGENT_RUNTIME: 'local', ...extra };
}

/** A free loopback port: the one helper the CLI itself uses for the orchestrator it starts. */
export const unusedPort = freeLoopbackPort;

/** A directory for one test's HOME, workspace and logs, so nothing reaches the user's ~/.multiclaude. */
export async function scratchHome(): Promise<{ home: string; environment: NodeJS.ProcessEnv; remove(): Promise<void> }> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-cli-test-'));
  return {
    home,
    environment: { HOME: home, WORKSPACE_LOCAL: path.join(home, 'workspace'), LOG_DIR: path.join(home, 'logs') },
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

export interface Orchestrator {
  url: string;
  home: string;
  token: string;
  stop(): Promise<void>;
}

export async function startOrchestrator(): Promise<Orchestrator> {
  const scratch = await scratchHome();
  const port = await unusedPort();
  const token = `cli-test-${process.pid}-${port}`;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'backend/orchestrator/src/main.ts'], {
    cwd: REPOSITORY_ROOT,
    env: cleanEnvironment({ ...scratch.environment, HOST: '127.0.0.1', PORT: String(port), ORCHESTRATOR_TOKEN: token }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(forced);
    }
    await scratch.remove();
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the orchestrator exited with ${child.exitCode}:\n${output}`);
      const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
      if (healthy) break;
      if (Date.now() > deadline) throw new Error(`the orchestrator did not answer within 60 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, home: scratch.home, token, stop };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run under a pseudo-terminal (util-linux `script`): stdout and stderr then arrive together in stdout. */
  tty?: boolean;
  timeoutMs?: number;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Runs `multiclaude <args>` as a user would and waits for it; killed (and reported) if it outlives the timeout. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = [process.execPath, CLI_BIN, ...args];
  const [file, argv] = options.tty
    ? ['script', ['-q', '-e', '-f', '-c', `stty cols 160 rows 50; exec ${command.map(shellQuote).join(' ')}`, '/dev/null']]
    : [process.execPath, [CLI_BIN, ...args]];
  const child = spawn(file as string, argv as string[], { cwd: options.cwd ?? os.tmpdir(), env: options.env ?? cleanEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
    if (timedOut) throw new Error(`multiclaude ${args.join(' ')} did not end within ${timeoutMs} ms:\n${stdout}\n${stderr}`);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** A git repository with one commit, as a user's project would be. */
export async function makeRepository(parent: string): Promise<string> {
  const directory = path.join(parent, 'project');
  await run('git', ['init', '-q', '-b', 'main', directory]);
  await writeFile(path.join(directory, 'README.md'), '# project\n');
  const identity = ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid'];
  await run('git', [...identity, 'add', '.'], { cwd: directory });
  await run('git', [...identity, 'commit', '-q', '-m', 'initial'], { cwd: directory });
  return directory;
}

export interface RecordingProxy {
  url: string;
  /** Bodies of the POST /runs requests that passed through, parsed. */
  runRequests: unknown[];
  close(): Promise<void>;
}

/** Forwards everything to the orchestrator (event streams included) and keeps what the CLI sent to POST /runs. */
export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const runRequests: unknown[] = [];
  const server = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (request.method === 'POST' && request.url === '/runs') runRequests.push(JSON.parse(body.toString()));
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>;
      const answer = await fetch(`${target}${request.url}`, { method: request.method ?? 'GET', headers, ...(body.length > 0 ? { body } : {}) });
      response.writeHead(answer.status, Object.fromEntries(answer.headers));
      if (answer.body) Readable.fromWeb(answer.body as never).pipe(response);
      else response.end();
    })().catch((error: unknown) => {
      response.writeHead(502);
      response.end(String(error));
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    runRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Whether a process id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr matches; rejects if the process ends first. */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** Starts `multiclaude <args>` without waiting for it, for tests that interact with it while it runs (a signal). */
export function spawnCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunningCli {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: options.cwd ?? os.tmpdir(), env: options.env ?? cleanEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForStderr: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(stderr);
          if (match) {
            listeners.delete(check);
            resolve(match);
          }
        };
        listeners.add(check);
        void exited.then((code) => {
          listeners.delete(check);
          reject(new Error(`multiclaude ${args.join(' ')} exited (${code}) before its stderr matched ${pattern}:\n${stderr}`));
        });
        check();
      }),
  };
}
