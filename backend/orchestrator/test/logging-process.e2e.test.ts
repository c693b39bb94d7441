// The real orchestrator process: main.ts writes LOG_DIR's two files from config, flushes them on SIGTERM, and never writes its key or token anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startOfflineModel } from '@multiclaude/offline-model';
import { freePort } from './support/ports.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const API_KEY = 'sk-' + 'ant-api03-PROCESSlevelTESTkey_0123456789abcdef';
const TOKEN = 'process-test-token-5b7d2e';

test('the orchestrator process logs a run to LOG_DIR, flushes on SIGTERM, and leaks no key or token', async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-process-logs-'));
  const logDirectory = path.join(scratch, 'logs');
  const model = await startOfflineModel();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'backend/orchestrator/src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: scratch,
      WORKSPACE_LOCAL: path.join(scratch, 'workspace'),
      LOG_DIR: logDirectory,
      LOG_LEVEL: 'INFO',
      PORT: String(port),
      AGENT_RUNTIME: 'local',
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: model.url,
      ORCHESTRATOR_TOKEN: TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const authorization = { authorization: `Bearer ${TOKEN}` };
  try {
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`${url}/health`).catch(() => undefined))?.ok) {
      assert.ok(Date.now() < deadline, `orchestrator did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal((await fetch(`${url}/diagnostics`, { headers: { authorization: 'Bearer wrong-token-value' } })).status, 401);
    const diagnostics = await fetch(`${url}/diagnostics`, { headers: authorization });
    assert.equal(diagnostics.status, 200);
    const report = (await diagnostics.json()) as { checks: Record<string, { status: string; directory?: string; path?: string }> };
    assert.deepEqual([report.checks['logs']?.status, report.checks['logs']?.path], ['ok', logDirectory]);
    const run = await fetch(`${url}/orchestrate`, {
      method: 'POST',
      headers: { ...authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `Echo my key ${API_KEY} back. [[fail agent=2]]`, agent_count: 2 }),
    });
    assert.equal(run.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);

    const main = await readFile(path.join(logDirectory, 'orchestrator.log'), 'utf8');
    const errors = await readFile(path.join(logDirectory, 'orchestrator-errors.log'), 'utf8');
    // The last line before exit is on disk: the files were flushed, not cut off.
    assert.match(main, /"msg":"shutting down"/);
    assert.match(main.trimEnd().split('\n').at(-1) ?? '', /"msg":"stopped"/);
    for (const access of ['GET /diagnostics 401', 'GET /diagnostics 200', 'POST /orchestrate 200']) assert.ok(main.includes(`"msg":"${access}"`), access);
    assert.match(main, /"level":20,/);
    assert.match(errors, /"agent_id":2,.*"msg":"agent finished"/);
    assert.ok(errors.split('\n').filter(Boolean).every((line) => (JSON.parse(line) as { level: number }).level >= 50));
    assert.ok(!/"level":20,/.test(stdout), 'no debug lines on stdout at LOG_LEVEL=INFO');
    assert.match(stdout, /"msg":"orchestrator listening"/);
    for (const [name, text] of Object.entries({ main, errors, stdout, stderr })) {
      assert.ok(!text.includes(API_KEY), `the API key is in ${name}`);
      assert.ok(!text.includes(TOKEN), `the token is in ${name}`);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await model.close();
    await rm(scratch, { recursive: true, force: true });
  }
});
