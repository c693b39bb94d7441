// Runs the bare-SDK floor script (bench/floor/bare-sdk.ts) as its own process, sampling its process tree like the orchestrator's.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './orchestrator.ts';
import { TreeSampler, type ProcStat, type TreeUsage } from './processes.ts';

export interface FloorOptions {
  directory: string;
  modelUrl: string;
  claude: string;
  agents: number;
  runs?: number;
  concurrency?: number;
  runtime: 'local' | 'docker';
  image: string;
  prompt: string;
  timeoutMs: number;
  /** Called when the script starts its first sessions. */
  onSessionsStarted?: () => void;
}

export interface FloorSession {
  run: number;
  agent: number;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: string;
  texts: Array<{ text: string; at: number }>;
}

export interface FloorResult {
  startedAt: number;
  setupDoneAt: number[];
  sessions: FloorSession[];
  endedAt: number;
  startStat: ProcStat;
  endStat: ProcStat;
  usage: TreeUsage;
}

export async function runFloor(options: FloorOptions): Promise<FloorResult> {
  const args = [
    '--import',
    'tsx',
    path.join('bench', 'floor', 'bare-sdk.ts'),
    '--dir',
    options.directory,
    '--model-url',
    options.modelUrl,
    '--claude',
    options.claude,
    '--agents',
    String(options.agents),
    '--runs',
    String(options.runs ?? 1),
    '--runtime',
    options.runtime,
    '--image',
    options.image,
    '--prompt',
    options.prompt,
    '--timeout-ms',
    String(options.timeoutMs),
    ...(options.concurrency ? ['--concurrency', String(options.concurrency)] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = new TreeSampler(child.pid!);
  await sampler.start();
  let stdout = '';
  let stderr = '';
  let notify = options.onSessionsStarted;
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    if (notify && stdout.includes('"sessions-started"')) {
      notify();
      notify = undefined;
    }
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4_000)));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs + 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`the floor script failed (exit ${code}): ${stderr.trim().slice(-1_000)}`);
  const result = JSON.parse(line) as Omit<FloorResult, 'usage'>;
  const usage = await sampler.stop({ start: result.startStat, end: result.endStat });
  return { ...result, usage };
}
