// The orchestrator's stdout as a person sees it on a terminal: pino-pretty lines (time, level, message, fields), not JSON; off a terminal it stays JSON (backend/orchestrator/test/logging-process.e2e.test.ts).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { alive, cleanEnvironment, scratchHome, unusedPort } from './support/processes.ts';

const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

test('on a pseudo-terminal the orchestrator pretty-prints its log lines', async () => {
  const scratch = await scratchHome();
  const port = await unusedPort();
  // util-linux `script` gives the orchestrator a terminal as its stdout.
  const terminal = spawn('script', ['-q', '-e', '-f', '-c', `exec ${process.execPath} --import tsx backend/orchestrator/src/main.ts`, '/dev/null'], {
    cwd: REPOSITORY_ROOT,
    env: cleanEnvironment({ ...scratch.environment, HOST: '127.0.0.1', PORT: String(port), NO_COLOR: '1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = new Promise<void>((resolve, reject) => {
    terminal.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (/orchestrator listening/.test(output)) resolve();
    });
    terminal.once('close', (code) => reject(new Error(`the orchestrator ended (${code}) before listening:\n${output}`)));
  });
  const closed = new Promise<void>((resolve) => terminal.once('close', () => resolve()));
  let orchestratorPid = 0;
  try {
    await listening;
    const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(terminal.pid)]);
    orchestratorPid = Number(stdout.trim().split('\n')[0]);
    assert.ok(orchestratorPid > 0, 'the orchestrator runs under script');
    process.kill(orchestratorPid, 'SIGTERM');
    await closed;
  } finally {
    if (orchestratorPid && alive(orchestratorPid)) process.kill(orchestratorPid, 'SIGKILL');
    if (terminal.exitCode === null) terminal.kill('SIGKILL');
    await scratch.remove();
  }
  const text = output.replace(/\r/g, '');
  assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: orchestrator listening$/m);
  assert.match(text, /^ {4}url: "http:\/\/127\.0\.0\.1:\d+"$/m);
  assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: DEMO MODE/m);
  assert.match(text, /INFO: shutting down/);
  assert.doesNotMatch(text, /^\{"level"/m, 'no JSON lines on a terminal');
});
