// The claude spawner: agents run under SCHED_IDLE and nicer than the orchestrator, so its API stays responsive while they use the cores; they are forked by the command helper, not by the orchestrator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import { AGENT_NICENESS, agentScheduling, createClaudeSpawner } from '../../src/agents/claude-process.ts';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';

/** /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so fields are counted after its closing parenthesis (from field 3). */
function statField(pid: number, field: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3] ?? '';
}

const parentOf = (pid: number): number => Number(statField(pid, 4));
const SCHED_IDLE = 5;

/** The wrappers (chrt, setpriv) exec in turn in the same process; the command is running once /proc names it (waits at most 5 s). */
async function commandRunning(pid: number, name: string): Promise<void> {
  for (let tries = 0; tries < 1_000 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== name; tries++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), name, 'the wrappers exec the command');
}

async function pidOf(child: SpawnedProcess): Promise<number> {
  const started = child as unknown as { pid?: number; once: (event: 'spawn', listener: (pid: number) => void) => void };
  if (started.pid) return started.pid;
  const [pid] = (await once(child as unknown as NodeJS.EventEmitter, 'spawn')) as [number];
  return pid;
}

test('a spawned agent process runs under SCHED_IDLE and AGENT_NICENESS nicer than the orchestrator, forked by the helper rather than by the orchestrator', async () => {
  const pids: number[] = [];
  const spawnClaude = createClaudeSpawner(() => {}, (pid) => {
    pids.push(pid);
    return () => undefined;
  });
  const child = spawnClaude({ command: 'sleep', args: ['30'], cwd: os.tmpdir(), env: { PATH }, signal: new AbortController().signal });
  const pid = await pidOf(child);
  try {
    await commandRunning(pid, 'sleep');
    assert.equal(Number(statField(pid, 41)), SCHED_IDLE, 'its scheduling policy lets any orchestrator thread take the CPU from it at once');
    assert.equal(os.getPriority(pid), Math.min(19, os.getPriority() + AGENT_NICENESS));
    assert.notEqual(parentOf(pid), process.pid, 'not a child of the orchestrator');
    assert.equal(parentOf(parentOf(pid)), process.pid, "a child of the orchestrator's command helper");
    assert.deepEqual(pids, [pid], 'onProcess heard its pid');
    assert.equal(agentScheduling(), `SCHED_IDLE, niceness +${AGENT_NICENESS}`, 'the helper said SCHED_IDLE is allowed here, for /diagnostics');
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});

test("an agent process's stdin and stdout are its own pipes, and its exit code comes back after its last output", async () => {
  const spawnClaude = createClaudeSpawner(() => {});
  const child = spawnClaude({ command: 'sh', args: ['-c', 'read line; echo "got $line"; exit 7'], cwd: os.tmpdir(), env: { PATH }, signal: new AbortController().signal });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (output += text));
  child.stdin.write('hello\n');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  assert.equal(code, 7);
  assert.equal(output, 'got hello\n');
  assert.equal(child.exitCode, 7);
});

test('aborting the signal the SDK gives ends the process', async () => {
  const controller = new AbortController();
  const spawnClaude = createClaudeSpawner(() => {});
  const child = spawnClaude({ command: 'sleep', args: ['30'], cwd: os.tmpdir(), env: { PATH }, signal: controller.signal });
  await pidOf(child);
  controller.abort();
  const signal = await new Promise<string | null>((resolve) => child.once('exit', (_code, exitSignal) => resolve(exitSignal)));
  assert.equal(signal, 'SIGTERM');
});

test("a command that cannot start reaches the SDK as the process's error and exit, never a crash", async () => {
  const errors: string[] = [];
  const spawnClaude = createClaudeSpawner((text) => errors.push(text));
  const child = spawnClaude({ command: '/nonexistent/claude', args: [], cwd: os.tmpdir(), env: { PATH }, signal: new AbortController().signal });
  await new Promise((resolve) => child.once('exit', resolve));
  assert.notEqual(child.exitCode, 0);
});
