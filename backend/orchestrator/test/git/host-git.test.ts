// Host git against repositories an agent wrote, with real git and no model: the import refuses what it cannot read safely, runs nothing planted, and checks what it fetches; merges check nothing out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkspaceLayout, type RunPaths } from '../../src/workspace/layout.ts';
import { createRunId } from '../../src/workspace/run-id.ts';
import { createRunRepository } from '../../src/git/run-repository.ts';
import { importAgentWork, uploadPackCommand } from '../../src/git/agent-import.ts';
import { checkedBranch, FIXED_CONFIG, gitEnvironment } from '../../src/git/git.ts';
import { mergeIntoMain } from '../../src/git/review.ts';

let root: string;
let outside: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-host-git-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-host-git-outside-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

/** Git as the agent would run it, inside its own repository. */
function agentGit(run: RunPaths, agentId: number, ...args: string[]): string {
  return execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd: run.agent(agentId).worktree, encoding: 'utf8' }).trim();
}

function runGit(run: RunPaths, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', run.gitDirectory, ...args], { encoding: 'utf8' }).trim();
}

async function newRun(agents: number): Promise<RunPaths> {
  const paths = new WorkspaceLayout(root).run(createRunId());
  await createRunRepository({ paths, prompt: 'test', agentCount: agents, createdAt: new Date() });
  return paths;
}

test('a run repository is bare with main and one branch per agent, and each agent has a clone of its own on its branch', async () => {
  const run = await newRun(2);
  assert.equal(runGit(run, 'rev-parse', '--is-bare-repository'), 'true');
  assert.deepEqual(runGit(run, 'for-each-ref', '--format=%(refname:short)').split('\n').sort(), ['agent-1', 'agent-2', 'main']);
  assert.equal(agentGit(run, 2, 'branch', '--show-current'), 'agent-2');
  assert.equal(agentGit(run, 2, 'config', 'user.email'), 'agent@claude-mcp.local');
  assert.equal(existsSync(path.join(run.agent(2).gitDirectory, 'objects', 'info', 'alternates')), false, 'objects are copied, not borrowed');
});

test('the import brings the agent’s commit into the run’s agent-N and runs nothing the agent planted in its repository', async () => {
  const run = await newRun(2);
  const agent = run.agent(1);
  await writeFile(path.join(agent.worktree, 'work.txt'), 'work\n');
  agentGit(run, 1, 'add', 'work.txt');
  agentGit(run, 1, 'commit', '-q', '-m', 'Agent 1: work');
  const trap = (name: string) => path.join(outside, `pwned-${name}`);
  agentGit(run, 1, 'config', 'core.fsmonitor', `touch ${trap('fsmonitor')}`);
  agentGit(run, 1, 'config', 'uploadpack.packObjectsHook', `touch ${trap('pack-hook')}; git`);
  agentGit(run, 1, 'config', 'core.hooksPath', agent.worktree);
  await writeFile(path.join(agent.worktree, 'reference-transaction'), `#!/bin/sh\ntouch ${trap('hook')}\n`, { mode: 0o755 });
  const before = runGit(run, 'rev-parse', 'agent-2');
  const outcome = await importAgentWork(run, agent);
  assert.deepEqual(outcome, { imported: true, commit: agentGit(run, 1, 'rev-parse', 'HEAD') });
  assert.equal(runGit(run, 'log', '-1', '--format=%s', 'agent-1'), 'Agent 1: work');
  assert.equal(runGit(run, 'rev-parse', 'agent-2'), before);
  assert.deepEqual(await readdir(outside), []);
});

test('an agent repository that borrows objects, links a ref or an object elsewhere, or whose .git is a symlink, is refused and the run’s branch stays', async () => {
  const run = await newRun(3);
  await symlink(path.join(run.agent(2).gitDirectory, 'refs', 'heads', 'agent-2'), path.join(run.agent(3).gitDirectory, 'refs', 'heads', 'stolen'));
  const linkedRef = await importAgentWork(run, run.agent(3));
  assert.match(linkedRef.imported ? '' : linkedRef.reason, /refs holds a symlink \(refs\/heads\/stolen\)/);
  const base = runGit(run, 'rev-parse', 'agent-1');
  await writeFile(path.join(run.agent(1).gitDirectory, 'objects', 'info', 'alternates'), `${run.agent(2).gitDirectory}/objects\n`);
  const borrowed = await importAgentWork(run, run.agent(1));
  assert.equal(borrowed.imported, false);
  assert.match(borrowed.imported ? '' : borrowed.reason, /borrows objects/);
  await rm(run.agent(2).gitDirectory, { recursive: true });
  await symlink(run.gitDirectory, run.agent(2).gitDirectory);
  const linked = await importAgentWork(run, run.agent(2));
  assert.match(linked.imported ? '' : linked.reason, /not a directory/);
  assert.equal(runGit(run, 'rev-parse', 'agent-1'), base);
});

test('a corrupt object in the agent’s repository fails the import (fsck) and moves nothing', async () => {
  const run = await newRun(1);
  // A tree entry named `.git` is refused by fsck (it would be a repository inside the checkout).
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: run.agent(1).worktree, input: 'x' }).toString().trim();
  const tree = execFileSync('git', ['mktree'], { cwd: run.agent(1).worktree, input: `100644 blob ${blob}\t.git\n` }).toString().trim();
  const commit = agentGit(run, 1, 'commit-tree', '-p', 'HEAD', '-m', 'evil', tree);
  agentGit(run, 1, 'update-ref', 'refs/heads/agent-1', commit);
  const base = runGit(run, 'rev-parse', 'agent-1');
  const outcome = await importAgentWork(run, run.agent(1));
  assert.equal(outcome.imported, false);
  assert.match(outcome.imported ? '' : outcome.reason, /hasDotgit|fsck|\.git/i);
  assert.equal(runGit(run, 'rev-parse', 'agent-1'), base);
});

test('a merge writes no file of the branch to disk, and moves only main', async () => {
  const run = await newRun(2);
  for (const agentId of [1, 2]) {
    const worktree = run.agent(agentId).worktree;
    execFileSync('mkdir', ['-p', path.join(worktree, '.multiclaude'), path.join(worktree, 'worktrees', 'agent-1')]);
    await writeFile(path.join(worktree, '.multiclaude', `run-${agentId}.json`), '{"forged":true}\n');
    await writeFile(path.join(worktree, 'worktrees', 'agent-1', `evil-${agentId}.txt`), 'evil\n');
    agentGit(run, agentId, 'add', '-A');
    agentGit(run, agentId, 'commit', '-q', '-m', `Agent ${agentId}`);
    assert.equal((await importAgentWork(run, run.agent(agentId))).imported, true);
  }
  const listing = async () => (await readdir(run.directory, { recursive: true })).filter((entry) => !entry.startsWith('.git') && !entry.startsWith(`worktrees${path.sep}agent-`)).sort();
  const before = await listing();
  const first = await mergeIntoMain(run.gitDirectory, 'agent-1', 'Merge agent-1');
  const second = await mergeIntoMain(run.gitDirectory, 'agent-2', 'Merge agent-2');
  assert.deepEqual([first.merged, second.merged], [true, true]);
  assert.equal(second.merged && second.fastForward, false);
  assert.deepEqual(await listing(), before, 'nothing new on disk');
  assert.equal(runGit(run, 'show', 'main:worktrees/agent-1/evil-2.txt'), 'evil');
  assert.equal(runGit(run, 'rev-parse', 'main'), second.merged ? second.commit : '');
});

test('only main and agent-<N> reach git as branch names; every such name is one git accepts', () => {
  for (const name of ['main', 'agent-1', 'agent-10']) {
    assert.equal(checkedBranch(name), name);
    execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' });
  }
  for (const name of ['--all', 'agent-0', 'agent-1/../main', 'refs/heads/main', 'agent-01', '', 'main\n']) assert.throws(() => checkedBranch(name), /not a branch/);
});

test('every git process gets no inherited variable and the fixed configuration; the upload-pack runs as the sandbox user', () => {
  const environment = gitEnvironment();
  assert.equal(environment['GIT_CONFIG_NOSYSTEM'], '1');
  assert.equal(environment['GIT_CONFIG_GLOBAL'], '/dev/null');
  assert.ok(!Object.keys(environment).some((name) => /ANTHROPIC|TOKEN|GIT_DIR/.test(name)));
  for (const setting of ['core.fsmonitor=false', 'core.hooksPath=/dev/null', 'core.logAllRefUpdates=false', 'protocol.allow=never']) {
    assert.ok(FIXED_CONFIG.includes(setting), setting);
  }
  const command = uploadPackCommand({ uid: 20001, gid: 20001 }, "/w/it's/.git");
  assert.match(command, /exec \/usr\/bin\/setpriv --reuid=20001 --regid=20001 --clear-groups --no-new-privs -- env GIT_CONFIG_NOSYSTEM=1 .* git .*-c core\.fsmonitor=false .*upload-pack \./);
  assert.ok(command.endsWith(`'/w/it'\\''s/.git'`), command);
  assert.throws(() => uploadPackCommand({ uid: 0, gid: 0 }, '/w'), /not a sandbox user/);
});
