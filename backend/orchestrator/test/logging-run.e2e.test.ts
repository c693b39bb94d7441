// A real run with one failing agent, logged to rotating files: its whole story in orchestrator.log, its failure in orchestrator-errors.log, and its files browsable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { OrchestrateResponseSchema, type OrchestrateResponse } from '@multiclaude/contract';
import { createFileLogging, MAIN_LOG_FILE, ERROR_LOG_FILE, type FileLogging } from '../src/logging/file-logger.ts';
import { startHarness, type Harness } from './support/harness.ts';

type Line = Record<string, unknown>;
const MAX_FILES = 50;
const MAX_SIZE = 2 * 1024;

let logDirectory: string;
let logging: FileLogging;
let harness: Harness;
let run: OrchestrateResponse;
let main: Line[];
let errors: Line[];
let rawText: string;
const browse: Record<string, { status: number; body: string }> = {};

/** A log and its rotated files, oldest first, as one list of lines. */
async function readLog(name: string): Promise<{ lines: Line[]; files: string[]; text: string }> {
  const generation = (file: string): number => (file === name ? 0 : Number(file.slice(name.length + 1)));
  const files = (await readdir(logDirectory)).filter((file) => file === name || (file.startsWith(name) && /^\.\d+$/.test(file.slice(name.length))));
  const ordered = files.sort((a, b) => generation(b) - generation(a));
  const text = (await Promise.all(ordered.map((file) => readFile(path.join(logDirectory, file), 'utf8')))).join('');
  return { lines: text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line), files, text };
}

before(async () => {
  logDirectory = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-run-logs-'));
  const quiet = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  logging = await createFileLogging({
    logDirectory,
    level: 'info',
    maxSizeBytes: MAX_SIZE,
    maxFiles: MAX_FILES,
    secrets: ['offline-test-key'],
    stdout: quiet,
  });
  harness = await startHarness({ logger: logging.logger });
  const response = await harness.post('/orchestrate', { prompt: 'Write a haiku. [[fail agent=2]]', agent_count: 2 });
  assert.equal(response.status, 200);
  run = OrchestrateResponseSchema.parse(await response.json());
  for (const target of [`/workspace/${run.run_info.run_dir}/worktrees`, `/workspace/${run.run_info.run_dir}/worktrees/agent-1/agent-1.md`, '/diagnostics']) {
    const answer = await harness.app.request(target);
    browse[target] = { status: answer.status, body: await answer.text() };
  }
  await harness.close();
  await logging.close();
  const mainLog = await readLog(MAIN_LOG_FILE);
  const errorLog = await readLog(ERROR_LOG_FILE);
  main = mainLog.lines;
  errors = errorLog.lines;
  rawText = mainLog.text + errorLog.text;
});

after(async () => {
  await rm(logDirectory, { recursive: true, force: true });
});

test('the run itself has one failed and one successful agent', () => {
  assert.deepEqual(run.summary, { total_agents: 2, successful: 1, failed: 1 });
  assert.equal(run.results.find((result) => result.agent_id === 2)?.status, 'error');
});

test('orchestrator.log tells the run story: its id on every run line, debug steps of each agent, and both ends', () => {
  const runId = run.run_info.run_id;
  const ofRun = main.filter((line) => line['run_id'] === runId);
  assert.ok(ofRun.length > 5, `${ofRun.length} lines carry the run id`);
  assert.ok(ofRun.some((line) => line['level'] === 20), 'debug lines about the run');
  for (const agentId of [1, 2]) {
    const ofAgent = ofRun.filter((line) => line['agent_id'] === agentId);
    assert.ok(ofAgent.some((line) => line['msg'] === 'agent started'), `agent ${agentId} start`);
    assert.ok(ofAgent.some((line) => line['msg'] === 'agent finished'), `agent ${agentId} end`);
  }
  assert.ok(ofRun.some((line) => line['agent_id'] === 1 && line['msg'] === 'agent message' && line['level'] === 20), 'agent 1 steps at debug');
  assert.ok(main.some((line) => line['msg'] === 'POST /orchestrate 200' && typeof line['duration_ms'] === 'number'), 'the access line');
});

test('orchestrator-errors.log holds the failed agent with its error, and nothing below error level', () => {
  assert.ok(errors.length > 0);
  assert.ok(errors.every((line) => (line['level'] as number) >= 50), JSON.stringify(errors.map((line) => line['level'])));
  const failure = errors.find((line) => line['run_id'] === run.run_info.run_id && line['agent_id'] === 2 && line['msg'] === 'agent finished');
  assert.ok(failure, 'agent 2 failure is in the error log');
  assert.equal(failure['status'], 'error');
  assert.equal(failure['error'], run.results.find((result) => result.agent_id === 2)?.error);
  assert.ok(!errors.some((line) => line['agent_id'] === 1), 'the successful agent is not in the error log');
});

test('the main log rotated at the configured size and kept within the configured count', async () => {
  const files = (await readdir(logDirectory)).filter((file) => file.startsWith(`${MAIN_LOG_FILE}.`));
  assert.ok(files.length >= 1, 'a run logs more than 2 KiB at debug, so the main log rotated');
  assert.ok(files.length <= MAX_FILES);
});

test('no secret reaches either file', () => {
  assert.ok(!rawText.includes('offline-test-key'));
});

test('the run can be browsed through /workspace, and /diagnostics answers in the wired app', () => {
  const worktrees = browse[`/workspace/${run.run_info.run_dir}/worktrees`];
  assert.equal(worktrees?.status, 200);
  assert.deepEqual(JSON.parse(worktrees?.body ?? '{}').entries.map((entry: { name: string }) => entry.name), ['agent-1', 'agent-2']);
  const file = browse[`/workspace/${run.run_info.run_dir}/worktrees/agent-1/agent-1.md`];
  assert.equal(file?.status, 200);
  assert.ok((file?.body.length ?? 0) > 0);
  const diagnostics = browse['/diagnostics'];
  assert.equal(diagnostics?.status, 200);
  const report = JSON.parse(diagnostics?.body ?? '{}');
  assert.equal(report.runs_in_flight, 0);
  assert.equal(report.checks.workspace.status, 'ok');
  assert.equal(report.checks.claude.status, 'ok', JSON.stringify(report.checks.claude));
});
