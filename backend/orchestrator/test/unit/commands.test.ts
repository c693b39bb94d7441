import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { runCommand, runCommandOrThrow, textOf, CommandError } from '../../src/process/commands.ts';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';

test('a command runs with only the environment it is given, and its exit code and output come back', async () => {
  const result = await runCommand({ command: 'sh', args: ['-c', 'echo "out $ONLY $HOME"; echo err >&2; exit 3'], env: { PATH, ONLY: 'given' }, timeoutMs: 10_000 });
  assert.equal(result.exitCode, 3);
  assert.equal(textOf(result.stdout), 'out given ');
  assert.equal(textOf(result.stderr), 'err');
  assert.equal(result.timedOut, false);
});

test('commands run nicer than the orchestrator, so its API is answered first when they compete for a core', async () => {
  const result = await runCommand({ command: 'nice', args: [], env: { PATH }, timeoutMs: 10_000 });
  assert.equal(Number(textOf(result.stdout)), Math.min(19, os.getPriority() + 5));
});

test('standard input reaches the command and binary output comes back byte for byte, final newline included', async () => {
  const bytes = Buffer.from([0, 1, 2, 255, 10]);
  const result = await runCommand({ command: 'cat', args: [], env: { PATH }, input: bytes, timeoutMs: 10_000 });
  assert.equal(result.exitCode, 0);
  assert.deepEqual([...result.stdout], [...bytes]);
});

test('a command that does not exist is a failure in words, not a throw', async () => {
  const result = await runCommand({ command: 'no-such-command-here', args: [], env: { PATH }, timeoutMs: 10_000 });
  assert.equal(result.exitCode, undefined);
  assert.match(result.failure ?? '', /ENOENT/);
  await assert.rejects(runCommandOrThrow({ command: 'no-such-command-here', args: [], env: { PATH }, timeoutMs: 10_000 }), (error: unknown) => {
    assert.ok(error instanceof CommandError);
    assert.equal(error.code, 'command_failed');
    assert.match(error.message, /no-such-command-here.*ENOENT/);
    return true;
  });
});

test('a command past its timeout is killed and says it timed out', async () => {
  const result = await runCommand({ command: 'sleep', args: ['30'], env: { PATH }, timeoutMs: 200 });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGTERM');
  await assert.rejects(runCommandOrThrow({ command: 'sleep', args: ['30'], env: { PATH }, timeoutMs: 200 }), /sleep timed out after 200 ms/);
});

test('an aborted signal cancels the command', async () => {
  const controller = new AbortController();
  const running = runCommand({ command: 'sleep', args: ['30'], env: { PATH }, timeoutMs: 60_000 }, controller.signal);
  setTimeout(() => controller.abort(), 100);
  const result = await running;
  assert.equal(result.canceled, true);
  assert.notEqual(result.exitCode, 0);
});

test('output over the limit stops the command with a failure that says so', async () => {
  const result = await runCommand({ command: 'yes', args: [], env: { PATH }, timeoutMs: 10_000, maxBufferBytes: 64 * 1024 });
  assert.match(result.failure ?? '', /output went over 65536 bytes/);
  assert.ok(result.stdout.length <= 64 * 1024);
});

test('stdout and stderr come interleaved when asked', async () => {
  const result = await runCommand({ command: 'sh', args: ['-c', 'echo one; echo two >&2; sleep 0.05; echo three'], env: { PATH }, timeoutMs: 10_000, interleaved: true });
  assert.equal(textOf(result.all ?? Buffer.alloc(0)), 'one\ntwo\nthree');
});

test('if the helper dies, the commands it ran fail with a clear error and the next command starts a new helper', async () => {
  const running = runCommand({ command: 'sleep', args: ['30'], env: { PATH }, timeoutMs: 60_000 });
  let helperPid = '';
  for (let i = 0; i < 50 && !helperPid; i++) {
    helperPid = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'command-helper.mjs'], { encoding: 'utf8' }).stdout.trim();
    if (!helperPid) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(helperPid, 'the helper runs as a child of this process');
  process.kill(Number(helperPid), 'SIGKILL');
  await assert.rejects(running, /the command helper exited \(SIGKILL\) while commands ran/);
  const next = await runCommand({ command: 'true', args: [], env: { PATH }, timeoutMs: 10_000 });
  assert.equal(next.exitCode, 0);
});
