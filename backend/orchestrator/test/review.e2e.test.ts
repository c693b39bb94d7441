// End-to-end review: diffs, files, compare, check and ranking, conflict-safe merges and exports, on real run repositories.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DiffResponseSchema, RunStateSchema, type RunState } from '@multiclaude/contract';
import { startHarness, type Harness } from './support/harness.ts';
import { readEvents } from './support/sse.ts';
import { gitIn } from './support/git-inspect.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

async function runToEnd(body: Record<string, unknown>): Promise<RunState> {
  const response = await harness.post('/runs', body);
  assert.equal(response.status, 202);
  const { run_id: runId } = (await response.json()) as { run_id: string };
  await readEvents(await harness.app.request(`/runs/${runId}/events`));
  return RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
}

function runDirectory(state: RunState): string {
  return path.join(harness.workspace, state.run_info.run_dir);
}

test('an agent’s diff holds its own file and not the other agent’s, as JSON or as a patch', async () => {
  const state = await runToEnd({ prompt: 'Write notes.', agent_count: 2 });
  const id = state.run_info.run_id;
  const diff = DiffResponseSchema.parse(await (await harness.app.request(`/runs/${id}/agents/1/diff`)).json());
  assert.deepEqual(diff.files.map((file) => file.path), ['agent-1.md']);
  assert.deepEqual(diff.stats, { files: 1, insertions: 5, deletions: 0 });
  assert.equal(diff.base, state.base_commit);
  assert.match(diff.patch, /\+\+\+ b\/agent-1\.md/);
  assert.doesNotMatch(diff.patch, /agent-2\.md/);
  const patch = await harness.app.request(`/runs/${id}/agents/2/diff`, { headers: { accept: 'text/x-diff' } });
  assert.match(patch.headers.get('content-type') ?? '', /text\/x-diff/);
  assert.match(await patch.text(), /agent-2\.md/);
  const compare = DiffResponseSchema.parse(await (await harness.app.request(`/runs/${id}/compare?a=1&b=2`)).json());
  assert.deepEqual(compare.files.map((file) => file.path).sort(), ['agent-1.md', 'agent-2.md']);
  assert.equal((await harness.app.request(`/runs/${id}/agents/7/diff`)).status, 404);
  assert.equal(state.results[0]?.diff_stats?.files, 1);
});

test('files at a branch tip are served, and paths that would leave the branch are refused', async () => {
  const state = await runToEnd({ prompt: 'Write a file.', agent_count: 1 });
  const base = `/runs/${state.run_info.run_id}/agents/1/files`;
  const file = await harness.app.request(`${base}/agent-1.md`);
  assert.equal(file.status, 200);
  assert.match(await file.text(), /# Agent 1/);
  const listing = (await (await harness.app.request(`${base}/`)).json()) as { entries: Array<{ name: string; type: string }> };
  assert.deepEqual(listing.entries.map((entry) => entry.name).sort(), ['README.md', 'agent-1.md']);
  for (const escape of ['/../../README.md', '/%2e%2e/%2e%2e/etc/passwd', '//etc/passwd', '/a/../../x']) {
    const response = await harness.app.request(`${base}${escape}`);
    assert.ok([403, 404].includes(response.status), `${escape} → ${response.status}`);
  }
  assert.equal((await harness.app.request(`${base}/missing.txt`)).status, 404);
});

test('merging an agent puts its file on main; a second agent editing the same file conflicts with 409 and main is untouched', async () => {
  const state = await runToEnd({ prompt: 'Edit the shared file. [[file name=shared.md]]', agent_count: 2 });
  const id = state.run_info.run_id;
  const directory = runDirectory(state);
  const first = await harness.post(`/runs/${id}/merge`, { agent_id: 2 });
  assert.equal(first.status, 200);
  const merged = (await first.json()) as { fast_forward: boolean; commit: string };
  assert.equal(merged.fast_forward, true);
  assert.equal(gitIn(directory, 'rev-parse', 'main'), gitIn(directory, 'rev-parse', 'agent-2'));
  assert.match(gitIn(directory, 'show', 'main:shared.md'), /Agent 2/);

  const mainBefore = gitIn(directory, 'rev-parse', 'main');
  const second = await harness.post(`/runs/${id}/merge`, { agent_id: 1 });
  assert.equal(second.status, 409);
  const conflict = (await second.json()) as { error: string; conflicting_files: string[] };
  assert.deepEqual(conflict.conflicting_files, ["shared.md"], JSON.stringify(conflict));
  assert.equal(gitIn(directory, 'rev-parse', 'main'), mainBefore, 'main has not moved');
  assert.equal(existsSync(path.join(directory, 'shared.md')), false, 'no merge writes a file into the run directory');
  const recorded = RunStateSchema.parse(await (await harness.app.request(`/runs/${id}`)).json());
  assert.deepEqual(recorded.merges.map((merge) => merge.agent_id), [2]);
});

test('merging two agents with different files makes a merge commit naming the second', async () => {
  const state = await runToEnd({ prompt: 'Write separately.', agent_count: 2 });
  const id = state.run_info.run_id;
  assert.equal((await harness.post(`/runs/${id}/merge`, { agent_id: 1 })).status, 200);
  const second = (await (await harness.post(`/runs/${id}/merge`, { agent_id: 2 })).json()) as { fast_forward: boolean };
  assert.equal(second.fast_forward, false);
  const directory = runDirectory(state);
  assert.match(gitIn(directory, 'log', '-1', '--format=%s', 'main'), /Merge agent-2: Agent 2/);
  assert.deepEqual(gitIn(directory, 'ls-tree', '--name-only', 'main').split('\n').sort(), ['README.md', 'agent-1.md', 'agent-2.md']);
});

test('merge answers 404 for a missing run or agent, 400 for a bad body, and 409 while the run is running', async () => {
  assert.equal((await harness.post('/runs/20990101_000000_deadbeef/merge', { agent_id: 1 })).status, 404);
  const done = await runToEnd({ prompt: 'Quick.', agent_count: 1 });
  assert.equal((await harness.post(`/runs/${done.run_info.run_id}/merge`, { agent_id: 5 })).status, 404);
  const bad = await harness.post(`/runs/${done.run_info.run_id}/merge`, { agent_id: 'one' });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { field: string }).field, 'agent_id');
  const response = await harness.post('/runs', { prompt: 'Slow. [[slow ms=60000]]', agent_count: 1 });
  const { run_id: runId } = (await response.json()) as { run_id: string };
  const refused = await harness.post(`/runs/${runId}/merge`, { agent_id: 1 });
  assert.equal(refused.status, 409);
  assert.match(((await refused.json()) as { error: string }).error, /still/);
  await harness.app.request(`/runs/${runId}/cancel`, { method: 'POST' });
});

test('a check that passes for one agent and fails for another ranks the passing one first and recommends it', async () => {
  const state = await runToEnd({
    prompt: 'Write your file.',
    agent_count: 2,
    check_command: 'if grep -q "Agent 2" agent-*.md; then echo "FAIL: agent 2 is not wanted"; exit 1; else echo "all good"; fi',
  });
  const [first, second] = state.results;
  assert.equal(first?.check?.status, 'passed');
  assert.equal(first?.check?.exit_code, 0);
  assert.match(first?.check?.output_tail ?? '', /all good/);
  assert.equal(second?.check?.status, 'failed');
  assert.equal(second?.check?.exit_code, 1);
  assert.equal(first?.rank, 1);
  assert.equal(second?.rank, 2);
  assert.equal(first?.recommended, true);
  assert.equal(state.recommended_agent_id, 1);
  assert.ok(first?.rank_reasons.includes('check passed'));
  assert.ok(second?.rank_reasons.some((reason) => /failing line/.test(reason)));
});

test('a check that outlives its timeout is timed_out', async () => {
  const quick = await startHarness({ checkTimeoutMs: 500 });
  try {
    const response = await quick.post('/runs', { prompt: 'Write.', agent_count: 1, check_command: 'sleep 5' });
    const { run_id: runId } = (await response.json()) as { run_id: string };
    await readEvents(await quick.app.request(`/runs/${runId}/events`));
    const state = RunStateSchema.parse(await (await quick.app.request(`/runs/${runId}`)).json());
    assert.equal(state.results[0]?.check?.status, 'timed_out');
    assert.equal(state.results[0]?.check?.exit_code, null);
  } finally {
    await quick.close();
  }
});

test('an agent’s branch exports as a git bundle that clones, and as tar and zip archives', async () => {
  const state = await runToEnd({ prompt: 'Write for export.', agent_count: 1 });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-export-'));
  try {
    const bundle = await harness.app.request(`/runs/${state.run_info.run_id}/agents/1/export?format=bundle`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-disposition') ?? '', /agent-1\.bundle/);
    await writeFile(path.join(scratch, 'agent-1.bundle'), Buffer.from(await bundle.arrayBuffer()));
    execFileSync('git', ['clone', '-q', '--branch', 'agent-1', path.join(scratch, 'agent-1.bundle'), path.join(scratch, 'clone')]);
    assert.equal(gitIn(path.join(scratch, 'clone'), 'log', '-1', '--format=%s'), 'Agent 1: add agent-1.md');
    const tar = await harness.app.request(`/runs/${state.run_info.run_id}/agents/1/export?format=tar`);
    await writeFile(path.join(scratch, 'agent-1.tar'), Buffer.from(await tar.arrayBuffer()));
    assert.match(execFileSync('tar', ['-tf', path.join(scratch, 'agent-1.tar')], { encoding: 'utf8' }), /agent-1\/agent-1\.md/);
    const zip = await harness.app.request(`/runs/${state.run_info.run_id}/agents/1/export?format=zip`);
    assert.equal(Buffer.from(await zip.arrayBuffer()).subarray(0, 2).toString(), 'PK');
    assert.equal((await harness.app.request(`/runs/${state.run_info.run_id}/agents/1/export?format=rar`)).status, 400);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
