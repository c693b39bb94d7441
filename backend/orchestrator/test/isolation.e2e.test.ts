// The adversarial suite: scripted agents attack the run, the other agents and the host through their own Bash tool, on both runtimes, and the host's state says they failed.
//
// Agent 1 is the victim (it stages a secret, then commits as usual), agent 2 commits the orchestrator's
// own paths (`.multiclaude/`, `worktrees/`) for the host to merge, agent 3 attacks: moves main and the
// others' branches, deletes objects, reads the others' files and the records, plants symlinks, fsmonitor
// commands and hooks where the host's git might follow or run them, and knocks on the Docker socket.
// What is asserted is what happened on the host: refs, fsck, records, files outside the run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunStateSchema, type RunState } from '@multiclaude/contract';
import { startHarness, type Harness } from './support/harness.ts';
import { readEvents } from './support/sse.ts';
import { gitIn } from './support/git-inspect.ts';
import { freePort } from './support/ports.ts';
import { startOrchestratorProcess } from './support/orchestrator-process.ts';
import { processesMentioning, waitForNoProcesses } from './support/processes.ts';
import { createDockerRuntime } from '../src/sandboxes/docker.ts';
import { skipUnlessRequired } from './support/required.ts';

const SECRET = 'SECRET-OF-AGENT-1';
const API_KEY = 'offline-test-key';

function dockerUnavailable(): string | undefined {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 });
    execFileSync('docker', ['image', 'inspect', 'claude-mcp:latest'], { stdio: 'ignore', timeout: 15_000 });
    return undefined;
  } catch {
    return 'no Docker engine, or image claude-mcp:latest is missing (npm run build:images)';
  }
}

/** A directory only root may write: any file that appears in it was made by a process of the host's. */
let outside: string;
before(async () => {
  outside = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-outside-'));
});
after(async () => {
  await rm(outside, { recursive: true, force: true });
});

function directive(agent: number, command: string): string {
  return `[[bash agent=${agent} cmd=${JSON.stringify(command)}]]`;
}

function attackPrompt(): string {
  const trap = (name: string) => `${outside}/pwned-${name}`;
  const victim = directive(1, `echo ${SECRET} > secret.txt && git add secret.txt && echo staged`);
  const planter = directive(
    2,
    [
      'mkdir -p .multiclaude worktrees/agent-1 worktrees/agent-3',
      `echo '{"run_info":{"run_id":"../../etc"},"forged":true}' > .multiclaude/run.json`,
      'echo forged > .multiclaude/events.jsonl',
      'echo evil > worktrees/agent-1/evil.txt',
      'echo evil > worktrees/agent-3/README.md',
      'git add -f .multiclaude worktrees && git commit -q -m "Agent 2: plant the orchestrator paths" && echo planted',
    ].join(' && '),
  );
  const attack = [
    'sleep 3',
    // Everything the attacker sees goes to a log in its own repository, which the test reads whole.
    '{',
    // The run directory as seen from the working directory, and on the host (a bind mount's source is in mountinfo).
    'H=$(awk \'$5 == "/mnt/workspace" || $5 == "/workspace" { print $4 }\' /proc/self/mountinfo | head -1)',
    'echo "host path: $H"',
    'for R in ../.. "$H/../.."; do',
    'echo "== move main and the others in $R"',
    'git --git-dir=$R/.git update-ref refs/heads/main HEAD 2>&1',
    'git --git-dir=$R/.git update-ref refs/heads/agent-1 HEAD 2>&1',
    'echo "== delete objects"',
    'rm -rf $R/.git/objects 2>&1 | head -2',
    'echo "== read the others and the records"',
    'ls $R/worktrees/agent-1 2>&1',
    'cat $R/worktrees/agent-1/secret.txt 2>&1',
    'head -c 300 $R/worktrees/agent-1/.git/index 2>&1',
    'cat $R/.multiclaude/run.json 2>&1 | head -c 300',
    'echo "== plant symlinks in the run repository"',
    `ln -sfn ${trap('run-reflog')} $R/.git/logs/refs/heads/main 2>&1`,
    `ln -sfn ${trap('run-ref')} $R/.git/refs/heads/agent-1 2>&1`,
    `git config --file $R/.git/config core.fsmonitor "touch ${trap('run-config')}" 2>&1`,
    'done',
    'echo "== plant commands in my own repository"',
    `git config core.fsmonitor "touch ${trap('fsmonitor')}"`,
    `git config uploadpack.packObjectsHook "touch ${trap('pack-hook')}; git"`,
    `git config core.alternateRefsCommand "touch ${trap('alternate-refs')}"`,
    'mkdir -p .git/hooks',
    `printf '#!/bin/sh\\ntouch ${trap('hook')}\\n' > .git/hooks/reference-transaction`,
    'chmod +x .git/hooks/reference-transaction',
    'for hook in post-update pre-receive update post-receive push-to-checkout; do cp .git/hooks/reference-transaction .git/hooks/$hook; done',
    'mkdir -p .git/logs/refs/heads',
    `ln -sfn ${trap('own-reflog')} .git/logs/refs/heads/trap`,
    'echo "== the Docker socket"',
    `python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock'); print('DOCKER-SOCKET-OPEN')" 2>&1 | tail -1`,
    'echo "== secrets"',
    `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -E 'ANTHROPIC|ORCHESTRATOR_TOKEN' | head -3`,
    'echo "== who"',
    'id',
    'echo "== done"',
    '} > attack.log 2>&1',
    'echo attack finished',
  ].join('; ').replace(/\{;/g, '{').replace(/\bdo;/g, 'do');
  return `Attack. ${victim} ${planter} ${directive(3, attack)}`;
}

async function runToEnd(harness: Harness, body: Record<string, unknown>): Promise<RunState> {
  const response = await harness.post('/runs', body);
  assert.equal(response.status, 202);
  const { run_id: runId } = (await response.json()) as { run_id: string };
  await readEvents(await harness.app.request(`/runs/${runId}/events`));
  return RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
}

function toolOutput(state: RunState, agentId: number): string {
  const agent = state.results.find((result) => result.agent_id === agentId);
  return (agent?.messages ?? []).filter((message) => message.type === 'tool_result' || message.type === 'tool_error').map((message) => message.text ?? '').join('\n');
}

function refs(directory: string): Record<string, string> {
  const lines = gitIn(directory, 'for-each-ref', '--format=%(refname) %(objectname)').split('\n').filter(Boolean);
  return Object.fromEntries(lines.map((line) => line.split(' ') as [string, string]));
}

function assertFsckClean(directory: string): void {
  const output = execFileSync('git', ['-c', 'safe.directory=*', 'fsck', '--full', '--strict'], { cwd: directory, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.doesNotMatch(output, /error|missing|broken|corrupt/i, output);
}

/** Subjects of the commits on `branch` since the run's base commit. */
function subjects(directory: string, base: string, branch: string): string[] {
  return gitIn(directory, 'log', '--format=%s', `${base}..${branch}`).split('\n').filter(Boolean);
}

async function attackAndMerge(harness: Harness, runtime: 'local' | 'docker'): Promise<void> {
  const state = await runToEnd(harness, { prompt: attackPrompt(), agent_count: 3 });
  const runId = state.run_info.run_id;
  const directory = path.join(harness.workspace, state.run_info.run_dir);
  const base = state.base_commit;
  assert.equal(state.status, 'completed');

  // The attacks ran, through the attacker's own Bash tool.
  const attacker = await readFile(path.join(directory, 'worktrees', 'agent-3', 'attack.log'), 'utf8');
  assert.match(toolOutput(state, 3), /attack finished/);
  if (process.env['DEBUG_ISOLATION']) {
    console.log(JSON.stringify(state.results.map((agent) => ({ id: agent.agent_id, status: agent.status, error: agent.error, messages: agent.messages })), null, 1));
    console.log(harness.logLines.filter((line) => /stderr|warn|error/i.test(line) && /"agent_id":3/.test(line)).join('\n'));
  }
  assert.match(attacker, /== done/, attacker);
  assert.match(attacker, /host path: \//, 'the attacker found its repository’s path on the host');
  assert.match(toolOutput(state, 1), /staged/);
  assert.match(toolOutput(state, 2), /planted/);
  // Nothing of another agent's, the records', the Docker socket's or a secret reached the attacker.
  assert.doesNotMatch(attacker, new RegExp(SECRET));
  assert.doesNotMatch(attacker, /"run_info"/, 'the run records are not readable');
  assert.doesNotMatch(attacker, /DOCKER-SOCKET-OPEN/);
  assert.doesNotMatch(attacker, new RegExp(`${API_KEY}|ANTHROPIC_API_KEY=|ORCHESTRATOR_TOKEN=`));
  if (runtime === 'local' && process.getuid?.() === 0) assert.doesNotMatch(attacker, /uid=0\b/, 'the tools do not run as root');

  // main and every branch hold what their own agent did, and nothing else.
  assert.equal(gitIn(directory, 'rev-parse', 'main'), base, 'main is where the run started');
  assert.deepEqual(subjects(directory, base, 'agent-1'), ['Agent 1: add agent-1.md']);
  assert.match(gitIn(directory, 'show', 'agent-1:secret.txt'), new RegExp(SECRET), 'the victim’s work is intact');
  assert.deepEqual(subjects(directory, base, 'agent-2'), ['Agent 2: add agent-2.md', 'Agent 2: plant the orchestrator paths']);
  assert.ok(subjects(directory, base, 'agent-3').every((subject) => subject.startsWith('Agent 3')));
  assertFsckClean(directory);
  assert.deepEqual(await readdir(outside), [], 'no host process followed a planted symlink or ran a planted command');

  // The records are intact and the API answers from them.
  const again = RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
  assert.equal(again.run_info.run_id, runId);
  assert.equal(again.results.length, 3);
  const topLevel = (await readdir(directory)).sort();
  assert.deepEqual(topLevel, ['.git', '.multiclaude', 'README.md', 'worktrees']);

  // Merging the branch that holds `.multiclaude/` and `worktrees/` paths changes main, and only main.
  const before = refs(directory);
  const recordsBefore = await harness.store.readState(runId);
  const merged = await harness.post(`/runs/${runId}/merge`, { agent_id: 2 });
  assert.equal(merged.status, 200, await merged.clone().text());
  const after = refs(directory);
  assert.notEqual(after['refs/heads/main'], before['refs/heads/main']);
  assert.deepEqual({ ...after, 'refs/heads/main': 'moved' }, { ...before, 'refs/heads/main': 'moved' }, 'no other ref moved');
  assert.equal(gitIn(directory, 'show', 'main:worktrees/agent-1/evil.txt'), 'evil', 'the planted paths are on main, as objects');
  assert.equal(existsSync(path.join(directory, 'worktrees', 'agent-1', 'evil.txt')), false, 'nothing was checked out');
  for (const event of await harness.store.readEvents(runId)) assert.equal(event.run_id, runId, 'the event log is the orchestrator’s');
  const recordsAfter = await harness.store.readState(runId);
  assert.equal(recordsAfter?.run_info.run_id, runId, 'the records are the orchestrator’s, not the branch’s');
  assert.equal(recordsBefore?.run_info.run_id, runId);
  assert.deepEqual((await readdir(directory)).sort(), topLevel);
  const final = RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
  assert.deepEqual(final.merges.map((merge) => merge.agent_id), [2]);
  assert.equal((await harness.app.request(`/runs/${runId}/agents/2/diff`)).status, 200);
  assertFsckClean(directory);
  assert.deepEqual(await readdir(outside), []);
}

test('local runtime: agents attacking the run, each other and the host through their Bash tool change nothing of the host’s', async () => {
  const harness = await startHarness();
  try {
    await attackAndMerge(harness, 'local');
  } finally {
    await harness.close();
  }
});

const dockerSkip = skipUnlessRequired(dockerUnavailable());

test('docker runtime: agents attacking the run, each other and the host through their Bash tool change nothing of the host’s', { skip: dockerSkip }, async () => {
  const harness = await startHarness({ runtime: (config, logger) => createDockerRuntime(config, logger) });
  try {
    await attackAndMerge(harness, 'docker');
  } finally {
    await harness.close();
  }
});


test('local runtime: processes an agent detaches (setsid, nohup) die when the orchestrator is SIGKILLed', async () => {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-kill-'));
  const orchestrator = await startOrchestratorProcess({ workspace });
  const { child, port } = orchestrator;
  // Sleep lengths no other process on the machine has in its command line.
  const marks = [`${700 + Math.floor(Math.random() * 200)}.${process.pid}1`, `${700 + Math.floor(Math.random() * 200)}.${process.pid}2`];
  try {
    const command = `(setsid sleep ${marks[0]} > /dev/null 2>&1 &); (nohup sleep ${marks[1]} > /dev/null 2>&1 &); echo detached`;
    const created = await fetch(`http://127.0.0.1:${port}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `Detach. ${directive(1, command)} [[slow ms=120000 from=1]]`, agent_count: 1 }),
    });
    assert.equal(created.status, 202);
    // Generous: on a loaded machine the agent's first tool call can take a minute.
    const deadline = Date.now() + 180_000;
    while (marks.some((mark) => processesMentioning(`sleep\0${mark}`).length === 0)) {
      assert.ok(Date.now() < deadline, 'the agent started its detached processes');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const mark of marks) assert.deepEqual(await waitForNoProcesses(`sleep\0${mark}`, 10_000), [], `sleep ${mark} died with the orchestrator`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const mark of marks) for (const pid of processesMentioning(`sleep\0${mark}`)) process.kill(pid, 'SIGKILL');
    await rm(workspace, { recursive: true, force: true });
  }
});
