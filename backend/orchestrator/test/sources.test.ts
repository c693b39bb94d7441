// Runs from a source repository (a local path, file://, git:// on loopback, credentialed HTTP on loopback) at a branch, a tag or a commit; pushes back as new branches; bad sources refused with nothing created; the setup step's output in every agent's tree. Agents are the fake executor; git and the servers are real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { DiffResponseSchema, RunStateSchema, type RunState, type CheckResult } from '@multiclaude/contract';
import { startHarness, type Harness, type HarnessOptions } from './support/harness.ts';
import { FakeExecutor } from './support/fake-executor.ts';
import { readEvents } from './support/sse.ts';
import { makeSourceRepository, startGitDaemon, startHttpGitServer, type GitServer, type HttpGitServer, type SourceRepository } from './support/git-servers.ts';
import { git, gitStatus } from '../src/git/git.ts';
import { SourceRepositories } from '../src/git/source.ts';
import { storeKinds } from './support/stores.ts';

let sources: string;
let project: SourceRepository;
let daemon: GitServer;

before(async () => {
  sources = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-sources-'));
  project = await makeSourceRepository(sources);
  daemon = await startGitDaemon(sources);
});
after(async () => {
  await daemon.close();
  await rm(sources, { recursive: true, force: true });
});

async function withHarness(options: HarnessOptions, body: (harness: Harness, executor: FakeExecutor) => Promise<void>): Promise<void> {
  const executor = (options.executor as FakeExecutor | undefined) ?? new FakeExecutor({ hold: false });
  const harness = await startHarness({ ...options, executor });
  try {
    await body(harness, executor);
  } finally {
    await harness.close();
  }
}

async function runToEnd(harness: Harness, body: Record<string, unknown>): Promise<RunState> {
  const response = await harness.post('/runs', body);
  assert.equal(response.status, 202, await response.clone().text());
  const { run_id: runId } = (await response.json()) as { run_id: string };
  await readEvents(await harness.app.request(`/runs/${runId}/events`));
  return RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
}

/** The branch's commit in a repository named by its git directory (a bare source, or a run's `.git`). */
async function branchTip(gitDirectory: string, branch: string): Promise<string | undefined> {
  const found = await gitStatus(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { gitDirectory });
  return found.exitCode === 0 ? found.stdout.trim() : undefined;
}

async function runDirectories(harness: Harness): Promise<string[]> {
  return readdir(path.join(harness.workspace, 'runs')).catch(() => []);
}

for (const store of storeKinds()) {
  test(`a run from a local path at a branch starts main and every agent from that commit, and review works against it (${store.kind})`, { skip: store.skip }, async () => {
    await withHarness({ store: store.kind }, async (harness) => {
      const state = await runToEnd(harness, { prompt: 'Change it.', agent_count: 2, source: { repo: project.path, ref: 'feature' } });
      assert.deepEqual(state.run_info.source, { repo: project.path, ref: 'feature', commit: project.commits.feature });
      assert.equal(state.base_commit, project.commits.feature);
      const directory = path.join(harness.workspace, state.run_info.run_dir);
      const gitDirectory = path.join(directory, '.git');
      assert.equal(await branchTip(gitDirectory, 'main'), project.commits.feature, 'main is the source commit exactly: no commit of ours on top');
      for (const agent of [1, 2]) {
        const parent = (await git(['rev-parse', `agent-${agent}~1`], { gitDirectory })).trim();
        assert.equal(parent, project.commits.feature, `agent-${agent} starts from the source commit`);
        const clone = path.join(directory, 'worktrees', `agent-${agent}`);
        assert.equal(await readFile(path.join(clone, 'feature.txt'), 'utf8'), 'feature\n', `agent-${agent}'s own repository has the source's files`);
        const origin = (await git(['config', '--get', 'remote.origin.url'], { gitDirectory: path.join(clone, '.git') })).trim();
        assert.equal(origin, gitDirectory, `agent-${agent}'s clone names the run repository, never the source`);
      }
      const diff = DiffResponseSchema.parse(await (await harness.app.request(`/runs/${state.run_info.run_id}/agents/1/diff`)).json());
      assert.equal(diff.base, project.commits.feature);
      assert.deepEqual(diff.files.map((file) => file.path), ['agent-1.md'], 'the diff is against the source commit, not the source’s whole history');
      const merged = await harness.post(`/runs/${state.run_info.run_id}/merge`, { agent_id: 1 });
      assert.equal(merged.status, 200);
      const exported = await harness.app.request(`/runs/${state.run_info.run_id}/agents/2/export?format=tar`);
      assert.equal(exported.status, 200);
      assert.ok((await exported.arrayBuffer()).byteLength > 0);
      const listed = (await (await harness.app.request('/runs')).json()) as { runs: Array<{ run_id: string; source?: unknown }> };
      assert.deepEqual(listed.runs.find((run) => run.run_id === state.run_info.run_id)?.source, state.run_info.source, 'the history shows the source');
      const remotes = await git(['config', '--local', '--get-regexp', '^(remote|credential|url)\\.'], { gitDirectory }).catch(() => '');
      assert.equal(remotes, '', 'the run repository’s config keeps no remote and no credential');
    });
  });
}

test('a file:// URL at an annotated tag, a git:// server at a full commit id, and a git:// default HEAD each give the commit they name', async () => {
  await withHarness({}, async (harness) => {
    const tagged = await runToEnd(harness, { prompt: 'p', agent_count: 1, source: { repo: `file://${project.path}`, ref: 'v1' } });
    assert.equal(tagged.run_info.source?.commit, project.commits.first, 'an annotated tag names the commit it points at');
    const byCommit = await runToEnd(harness, { prompt: 'p', agent_count: 1, source: { repo: `${daemon.url}/project.git`, ref: project.commits.feature } });
    assert.equal(byCommit.base_commit, project.commits.feature);
    const byHead = await runToEnd(harness, { prompt: 'p', agent_count: 1, source: { repo: `${daemon.url}/project.git` } });
    assert.deepEqual(byHead.run_info.source, { repo: `${daemon.url}/project.git`, ref: 'HEAD', commit: project.commits.second });
    const synchronous = await harness.post('/orchestrate', { prompt: 'p', agent_count: 1, source: { repo: project.path, ref: 'v1' } });
    assert.equal(synchronous.status, 200);
    const answer = (await synchronous.json()) as { status: string; run_info: { source?: { commit: string } } };
    assert.equal(answer.status, 'completed');
    assert.equal(answer.run_info.source?.commit, project.commits.first);
  });
});

test('a push lands as a new branch on the source, again is a no-op, and onto another branch’s content is refused without force', async () => {
  const target = await makeSourceRepository(sources, 'pushed');
  await withHarness({}, async (harness) => {
    const state = await runToEnd(harness, { prompt: 'p', agent_count: 2, source: { repo: `${daemon.url}/pushed.git`, ref: 'main' } });
    const id = state.run_info.run_id;
    const tip = (await git(['rev-parse', 'agent-1'], { gitDirectory: path.join(harness.workspace, state.run_info.run_dir, '.git') })).trim();
    const pushed = await harness.app.request(`/runs/${id}/agents/1/push`, { method: 'POST' });
    assert.equal(pushed.status, 200, await pushed.clone().text());
    assert.deepEqual(await pushed.json(), { remote: `${daemon.url}/pushed.git`, branch: `multiclaude/${id}/agent-1`, commit: tip });
    assert.equal(await branchTip(target.path, `multiclaude/${id}/agent-1`), tip, 'the branch is on the source');
    const again = await harness.post(`/runs/${id}/agents/1/push`, {});
    assert.equal(again.status, 200, 'the same commit to the same branch is already there');
    const named = await harness.post(`/runs/${id}/agents/2/push`, { branch: 'try/agent-two' });
    assert.equal(named.status, 200);
    const refused = await harness.post(`/runs/${id}/agents/2/push`, { branch: 'feature' });
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as { field?: string }).field, 'branch');
    assert.equal(await branchTip(target.path, 'feature'), target.commits.feature, 'the existing branch is untouched');
    const overOther = await harness.post(`/runs/${id}/agents/2/push`, { branch: `multiclaude/${id}/agent-1` });
    assert.equal(overOther.status, 409, 'another agent’s pushed branch is not overwritten');
    const badName = await harness.post(`/runs/${id}/agents/1/push`, { branch: 'bad..name' });
    assert.equal(badName.status, 400);
    assert.equal(((await badName.json()) as { field?: string }).field, 'branch');
    const recorded = RunStateSchema.parse(await (await harness.app.request(`/runs/${id}`)).json());
    assert.deepEqual(recorded.pushes.map((push) => push.branch), [`multiclaude/${id}/agent-1`, 'try/agent-two']);
    const fresh = await runToEnd(harness, { prompt: 'p', agent_count: 1 });
    const noSource = await harness.post(`/runs/${fresh.run_info.run_id}/agents/1/push`, {});
    assert.equal(noSource.status, 400, 'a run without a source has nowhere to push');
  });
});

test('every bad source is refused with a 4xx naming the field and why, and creates no run directory', async () => {
  await withHarness({ sources: { allowedPrefixes: [sources, daemon.url, 'https://git.example.invalid/team'] } }, async (harness) => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ repo: '-uhelp' }, 'source.repo', /must not start with "-"/],
      [{ repo: 'relative/path' }, 'source.repo', /URL or an absolute path/],
      [{ repo: 'ext::sh -c touch% /tmp/pwned' }, 'source.repo', /URL or an absolute path/],
      [{ repo: `https://someone:hunter2@git.example.invalid/team/x.git` }, 'source.repo', /must not carry credentials/],
      [{ repo: '/etc' }, 'source.repo', /ALLOWED_SOURCES/],
      [{ repo: `${sources}-evil/x.git` }, 'source.repo', /ALLOWED_SOURCES/],
      [{ repo: path.join(sources, 'missing.git') }, 'source.repo', /cannot be read: .*(does not appear to be a git repository|not a git repository)/i],
      [{ repo: `${daemon.url}/missing.git` }, 'source.repo', /cannot be read/],
      [{ repo: project.path, ref: 'bad..ref' }, 'source.ref', /check-ref-format/],
      [{ repo: project.path, ref: '--upload-pack=touch' }, 'source.ref', /must not start with "-"/],
      [{ repo: project.path, ref: 'no-such-branch' }, 'source.ref', /no branch, tag or commit/],
      [{ repo: project.path, ref: 'deadbee' }, 'source.ref', /in full/],
      [{ repo: project.path, ref: 'f'.repeat(40) }, 'source.ref', /could not be fetched/],
      [{ repo: project.path, extra: 1 }, '', /unrecognized|Unrecognized/],
    ];
    for (const [source, field, message] of cases) {
      const response = await harness.post('/runs', { prompt: 'p', agent_count: 1, source });
      const body = (await response.json()) as { error: string; field?: string };
      assert.equal(response.status, 400, `${JSON.stringify(source)}: ${body.error}`);
      if (field) assert.equal(body.field, field, JSON.stringify(source));
      assert.match(body.error, message, JSON.stringify(source));
      assert.doesNotMatch(body.error, /hunter2/);
    }
    assert.deepEqual(await runDirectories(harness), [], 'no run directory was made for any of them');
  });
});

test('a credentialed HTTP source is read and pushed with the orchestrator’s credential, which appears in no record, log or event', async () => {
  const password = ['s3cret', 'token', String(process.pid)].join('-');
  const server: HttpGitServer = await startHttpGitServer(sources, 'owner', password);
  const credentials = path.join(sources, 'credentials');
  await writeFile(credentials, `${server.url.replace('http://', 'http://owner:' + password + '@')}\n`, { mode: 0o600 });
  try {
    const repo = `${server.url}/project.git`;
    await withHarness({}, async (harness) => {
      const refused = await harness.post('/runs', { prompt: 'p', agent_count: 1, source: { repo } });
      assert.equal(refused.status, 400, 'without credentials the source cannot be read');
      assert.match(((await refused.json()) as { error: string }).error, /cannot be read: .*(Authentication failed|could not read Username|401)/i);
    });
    for (const sourceSettings of [{ credentialsFile: credentials }, { httpToken: password, httpUser: 'owner' }]) {
      await withHarness({ sources: sourceSettings }, async (harness) => {
        const state = await runToEnd(harness, { prompt: 'p', agent_count: 2, source: { repo, ref: 'main' }, check_command: 'env' });
        assert.equal(state.base_commit, project.commits.second);
        const id = state.run_info.run_id;
        const pushed = await harness.post(`/runs/${id}/agents/1/push`, {});
        assert.equal(pushed.status, 200, await pushed.clone().text());
        assert.equal(await branchTip(project.path, `multiclaude/${id}/agent-1`), (await pushed.json() as { commit: string }).commit);
        const events = await (await harness.app.request(`/runs/${id}/events`)).text();
        const everything = [events, JSON.stringify(state), harness.logLines.join('\n'), await filesUnder(harness.workspace)].join('\n');
        assert.ok(everything.includes(repo), 'the source is recorded');
        assert.ok(!everything.includes(password), 'the credential is nowhere in the workspace, events or logs');
        assert.ok(!everything.includes(Buffer.from(`owner:${password}`).toString('base64')));
        for (const result of state.results) {
          const clone = path.join(harness.workspace, result.workspace.worktree_path);
          assert.ok(!(await filesUnder(clone)).includes(server.url), `agent ${result.agent_id}'s repository does not even name the source`);
        }
      });
    }
    assert.ok(server.authorizations.length > 0);
  } finally {
    await server.close();
  }
});

/** Every file's bytes under a directory (git objects are compressed, so config, refs, logs and records are what this reads). */
async function filesUnder(directory: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    parts.push(await readFile(path.join(entry.parentPath, entry.name), 'latin1'));
  }
  return parts.join('\n');
}

test('a setup_command fills an ignored directory once, and every agent’s check finds its own private copy', async () => {
  const seen: Array<{ agent: number; content: string; inode: number }> = [];
  const executor = new FakeExecutor({
    hold: false,
    check: (job): CheckResult => {
      seen.push({ agent: job.agent.agentId, content: '', inode: 0 });
      return { status: 'passed', exit_code: 0, duration_ms: 1, output_tail: job.agent.worktree };
    },
  });
  await withHarness({ executor }, async (harness) => {
    const state = await runToEnd(harness, {
      prompt: 'p',
      agent_count: 3,
      source: { repo: project.path },
      setup_command: 'mkdir -p deps/lib && echo installed > deps/lib/a && ln -s lib/a deps/link && echo "setup ran"',
      check_command: 'test -f deps/lib/a',
    });
    assert.equal(state.setup?.status, 'passed');
    assert.match(state.setup?.output_tail ?? '', /setup ran/);
    assert.deepEqual(state.setup?.copied_paths, ['deps']);
    const inodes = new Set<number>();
    for (const result of state.results) {
      const tree = path.join(harness.workspace, result.workspace.worktree_path);
      assert.equal(await readFile(path.join(tree, 'deps/lib/a'), 'utf8'), 'installed\n', `agent ${result.agent_id} has the setup's output`);
      inodes.add((await stat(path.join(tree, 'deps/lib/a'))).ino);
      const status = await git(['status', '--porcelain'], { cwd: tree });
      assert.equal(status.includes('deps'), false, 'the output is ignored by git, as the source says');
    }
    assert.equal(inodes.size, 3, 'each agent has a copy of its own, not a shared hard link');
    assert.equal(seen.length, 3);
    const events = await (await harness.app.request(`/runs/${state.run_info.run_id}/events`)).text();
    assert.match(events, /event: setup_result/);
    assert.ok(events.indexOf('event: setup_result') < events.indexOf('event: agent_status'), 'the setup ends before any agent starts');
    assert.equal((await readdir(path.join(harness.workspace, state.run_info.run_dir, 'worktrees'))).includes('setup'), false, 'the setup tree is removed');
  });
});

test('a failed setup_command fails the run before any agent starts, with its output', async () => {
  await withHarness({}, async (harness, executor) => {
    const state = await runToEnd(harness, { prompt: 'p', agent_count: 2, setup_command: 'echo "cannot install"; exit 3' });
    assert.deepEqual(executor.started, [], 'no agent ran');
    assert.equal(state.setup?.status, 'failed');
    assert.equal(state.setup?.exit_code, 3);
    for (const result of state.results) {
      assert.equal(result.status, 'error');
      assert.match(result.error ?? '', /setup_command failed \(exit code 3\).*cannot install/s);
    }
    assert.match(state.error ?? '', /cannot install/);
    assert.equal(state.summary.failed, 2);
  });
});

test('a push request body over the control limit is refused with 413 naming branch, before it is read', async () => {
  await withHarness({}, async (harness) => {
    const response = await harness.post('/runs/20260101_000000_abcdef01/agents/1/push', JSON.stringify({ branch: 'x'.repeat(20_000) }));
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { field?: string }).field, 'branch');
  });
});

test('a source transfer may use its own source’s protocol and no other, and no other git process reaches a remote at all', async () => {
  const sourcesAccess = new SourceRepositories({ httpToken: ['sk', 'never-sent'].join('-') });
  const daemonRepo = `${daemon.url}/project.git`;
  const listed = await gitStatus(['ls-remote', '--end-of-options', daemonRepo], { remote: sourcesAccess.access(daemonRepo) });
  assert.equal(listed.exitCode, 0, listed.stderr);
  const wrongProtocol = await gitStatus(['ls-remote', '--end-of-options', daemonRepo], { remote: sourcesAccess.access(project.path) });
  assert.notEqual(wrongProtocol.exitCode, 0, 'access for a path allows file, not git');
  assert.match(wrongProtocol.stderr, /transport 'git' not allowed/);
  const ordinary = await gitStatus(['ls-remote', '--end-of-options', daemonRepo], {});
  assert.notEqual(ordinary.exitCode, 0, 'the ordinary runner reaches no remote');
  assert.match(ordinary.stderr, /transport 'git' not allowed/);
  const access = sourcesAccess.access(daemonRepo);
  assert.deepEqual(access.protocols, ['git']);
  assert.equal(access.environment['GIT_CONFIG_VALUE_0'], '', 'the helper list starts afresh');
});
