// Starts a real orchestrator process (main.ts, as `npm start` runs it) against the probed model, and drives it over HTTP: submit a run, follow its event stream.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createParser } from 'eventsource-parser';
import { now } from './model-probe.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface OrchestratorOptions {
  directory: string;
  modelUrl: string;
  runtime: 'local' | 'docker';
  /** MAX_CONCURRENT_AGENTS; unset, the orchestrator works the capacity out from memory (its default). */
  maxConcurrentAgents?: number;
  maxQueuedRuns?: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Extra environment, e.g. DATABASE_URL. */
  env?: Record<string, string>;
  /** How often /health is asked while it starts (default 100 ms); shorter when start-up is what is measured. */
  healthPollMs?: number;
}

export interface Orchestrator {
  url: string;
  pid: number;
  workspace: string;
  /** Its debug-level log, for the per-phase times. */
  logFile: string;
  stop(): Promise<void>;
}

export async function startOrchestrator(options: OrchestratorOptions): Promise<Orchestrator> {
  const port = await freePort();
  const workspace = path.join(options.directory, 'workspace');
  const logs = path.join(options.directory, 'logs');
  await mkdir(workspace, { recursive: true });
  await mkdir(logs, { recursive: true });
  const output = await open(path.join(options.directory, 'stdout.log'), 'a');
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'backend/orchestrator/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: options.directory,
      WORKSPACE_LOCAL: workspace,
      LOG_DIR: logs,
      HOST: '127.0.0.1',
      PORT: String(port),
      AGENT_RUNTIME: options.runtime,
      ...(options.maxConcurrentAgents !== undefined ? { MAX_CONCURRENT_AGENTS: String(options.maxConcurrentAgents) } : {}),
      MAX_QUEUED_RUNS: String(options.maxQueuedRuns ?? 20),
      ANTHROPIC_BASE_URL: options.modelUrl,
      ...options.env,
    },
    stdio: ['ignore', output.fd, output.fd],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    await output.close();
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const health = await fetch(`${url}/health`).catch(() => undefined);
    if (health?.ok) return { url, pid: child.pid!, workspace, logFile: path.join(logs, 'orchestrator.log'), stop };
    await new Promise((resolve) => setTimeout(resolve, options.healthPollMs ?? 100));
  }
  await stop();
  throw new Error(`the orchestrator did not start (see ${options.directory}/stdout.log)`);
}

export interface Submitted {
  runId: string;
  /** Just before the POST was sent, and when its 202 arrived (epoch ms). */
  sentAt: number;
  acceptedAt: number;
}

export async function submitRun(url: string, prompt: string, agentCount: number, extra: Record<string, unknown> = {}): Promise<Submitted> {
  const sentAt = now();
  const response = await fetch(`${url}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, agent_count: agentCount, ...extra }),
  });
  const acceptedAt = now();
  const body = (await response.json()) as { run_id?: string; error?: string };
  if (response.status !== 202 || !body.run_id) throw new Error(`POST /runs answered ${response.status}: ${body.error ?? ''}`);
  return { runId: body.run_id, sentAt, acceptedAt };
}

export interface ReceivedEvent {
  type: string;
  at: number;
  /** The event as the orchestrator sent it: `at` is its own ISO time of the event, `detail` an agent_status's. */
  data: { agent_id?: number; text?: string; status?: string; detail?: string; at?: string; run?: { results: Array<{ agent_id: number; status: string; error?: string }> } };
}

/** Follows GET /runs/:id/events until run_finished (or the timeout), stamping each event as it arrives; `onEvent` sees each at once. */
export async function followRun(
  url: string,
  runId: string,
  timeoutMs: number,
  onEvent?: (event: ReceivedEvent) => void,
): Promise<{ events: ReceivedEvent[]; finishedAt: number }> {
  const events: ReceivedEvent[] = [];
  const response = await fetch(`${url}/runs/${runId}/events`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok || !response.body) throw new Error(`GET /runs/${runId}/events answered ${response.status}`);
  let finishedAt = Number.NaN;
  const parser = createParser({
    onEvent: (event) => {
      const at = now();
      const received: ReceivedEvent = { type: event.event ?? 'message', at, data: JSON.parse(event.data) as ReceivedEvent['data'] };
      events.push(received);
      onEvent?.(received);
      if (event.event === 'run_finished') finishedAt = at;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (!Number.isNaN(finishedAt)) break;
  }
  if (Number.isNaN(finishedAt)) throw new Error(`run ${runId}: the event stream ended without run_finished`);
  return { events, finishedAt };
}

/** The agents of a finished run that did not succeed, as `agent N: status (error)`. */
export function failedAgents(events: ReceivedEvent[]): string[] {
  const finished = events.find((event) => event.type === 'run_finished');
  const results = finished?.data.run?.results ?? [];
  return results.filter((agent) => agent.status !== 'success').map((agent) => `agent ${agent.agent_id}: ${agent.status} ${agent.error ?? ''}`.trim());
}
