// End-to-end for warm starts: spare `claude` sessions started with the SDK's prewarm(), claimed by a run's agents, refilled, reaped after idling, holding no valid model token before a claim, and none left after shutdown — with the real SDK, claude, git and the offline model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { startHarness, type Harness } from './support/harness.ts';
import { WorkspaceLayout } from '../src/workspace/layout.ts';
import { gitIn } from './support/git-inspect.ts';
import { dockerUnavailable } from './support/docker.ts';
import { skipUnlessRequired } from './support/required.ts';
import { createDockerRuntime } from '../src/sandboxes/docker.ts';

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Processes whose environment names a Claude config dir under `directory`: the spares' claude processes, as the host sees them. */
async function processesUnder(directory: string): Promise<Array<{ pid: number; apiKey: string | undefined }>> {
  const found: Array<{ pid: number; apiKey: string | undefined }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    const variables = new Map(environ.split('\0').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]));
    if (variables.get('CLAUDE_CONFIG_DIR')?.startsWith(directory)) found.push({ pid: Number(entry), apiKey: variables.get('ANTHROPIC_API_KEY') });
  }
  return found;
}

async function modelRequest(harness: Harness, apiKey: string | undefined): Promise<number> {
  const response = await fetch(`${harness.modelProxy.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey ?? '' },
    body: JSON.stringify({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

test('a run’s agents claim warm spares, whose model tokens the proxy refused until the claim, and the pool fills again', async () => {
  // Two slots: the run's two agents leave no room for spares, so they must claim them rather than see them closed.
  const harness = await startHarness({ warmPoolSize: 2, maxConcurrentAgents: 2 });
  const pool = harness.warmPool!;
  const warmDirectory = new WorkspaceLayout(harness.workspace).warmSparesDirectory;
  try {
    await waitFor(() => pool.ready === 2, 'two ready spares');
    const spares = await processesUnder(warmDirectory);
    assert.ok(spares.length >= 2, `the spares' claude processes run (saw ${spares.length})`);
    for (const spare of spares) {
      assert.ok(spare.apiKey?.startsWith('multiclaude-agent-'), 'a spare holds a proxy token, never the real key');
      assert.notEqual(spare.apiKey, harness.apiKey);
      assert.equal(await modelRequest(harness, spare.apiKey), 401, 'an unclaimed spare’s token is refused by the proxy');
    }

    const response = await harness.post('/runs', { prompt: 'Write a poem.', agent_count: 2 });
    assert.equal(response.status, 202);
    const { run_id: runId } = (await response.json()) as { run_id: string };
    const final = await harness.manager.waitForRun(runId);
    if (process.env['WARM_DEBUG']) console.log(harness.logLines.filter((line) => /"level":(40|50)/.test(line)).join('\n'));
    assert.equal(final.status, "completed", JSON.stringify(final.results.map((result) => [result.error, result.output])));
    for (const result of final.results) {
      assert.equal(result.status, 'success', `${result.error} ${JSON.stringify(result.messages?.slice(-3))}`);
      assert.equal(result.diff_stats?.files, 1, `agent ${result.agent_id} committed its work`);
      assert.ok(result.session_id, 'the session id is kept for a follow-up');
      // The transcript was handed over to the agent's own config dir, where a follow-up resumes it.
      const agentPaths = harness.machinery.layout.run(runId).agent(result.agent_id);
      const projects = await readdir(`${agentPaths.claudeConfigDirectory}/projects`).catch(() => [] as string[]);
      assert.ok(projects.length > 0, `agent ${result.agent_id}'s transcript is in its own config dir`);
    }
    const started = harness.logLines.map((line) => JSON.parse(line) as { msg: string; warm?: boolean; run_id?: string }).filter((line) => line.msg === 'agent started' && line.run_id === runId);
    assert.deepEqual(started.map((line) => line.warm), [true, true], 'both agents ran in claimed spares');
    assert.equal(pool.stats.claimed, 2);
    // The tokens activated at the claim die with their agents.
    for (const spare of spares) assert.equal(await modelRequest(harness, spare.apiKey), 401, 'a claimed spare’s token is revoked when its agent ends');
    await waitFor(() => pool.ready === 2, 'the pool filled again');
    assert.ok(pool.stats.started >= 4, 'two more spares were started after the claims');

    // A follow-up (cold: it resumes) finds the session the spare ran, in the agent's own config dir.
    const claimedBefore = pool.stats.claimed;
    assert.equal((await harness.post(`/runs/${runId}/agents/1/continue`, { prompt: 'Now also handle time zones.' })).status, 202);
    const followed = await harness.manager.waitForRun(runId);
    const agent = followed.results[0]!;
    assert.equal(agent.status, 'success', agent.error);
    const directory = harness.machinery.layout.run(runId).directory;
    const written = gitIn(directory, 'show', 'agent-1:agent-1-followup.md');
    assert.match(written, /Earlier task: Write a poem\./, 'the resumed request carried the first session');
    assert.equal(pool.stats.claimed, claimedBefore, 'a follow-up does not take a spare');
  } finally {
    await harness.close();
  }
});

test('spares that idle are reaped, a run’s submission starts new ones, and none is left behind after shutdown', async () => {
  const harness = await startHarness({ warmPoolSize: 1, warmPoolIdleMs: 1_500 });
  const pool = harness.warmPool!;
  const warmDirectory = new WorkspaceLayout(harness.workspace).warmSparesDirectory;
  let closed = false;
  try {
    await waitFor(() => pool.ready === 1, 'a ready spare');
    await waitFor(() => pool.stats.reaped >= 1 && pool.spares === 0, 'the idle spare reaped');
    await waitFor(async () => (await processesUnder(warmDirectory)).length === 0, 'the reaped spare’s process gone', 10_000);
    assert.equal(pool.ready, 0, 'the pool stays empty while nobody needs it');

    // A run arriving asks for spares while its repository is made: three for its three agents.
    pool.prepare(3);
    assert.equal(pool.spares, 3, 'three spares start at once');
    await waitFor(() => pool.ready + pool.stats.reaped >= 4 || undefined, 'the spares started');
    assert.ok((await processesUnder(warmDirectory)).length >= 1);

    await harness.close();
    closed = true;
    assert.equal(pool.spares, 0);
    assert.deepEqual(await processesUnder(warmDirectory), [], 'no spare process is left after shutdown');
    assert.equal(await exists(warmDirectory), false, 'nor any spare’s directory');
  } finally {
    if (!closed) await harness.close();
  }
});

test('with the Docker runtime, a claimed spare connects to the agent’s container as its tool server and the agent’s work lands', { skip: skipUnlessRequired(dockerUnavailable()) }, async () => {
  const harness = await startHarness({ warmPoolSize: 1, runtime: (config, logger) => createDockerRuntime(config, logger) });
  const pool = harness.warmPool!;
  try {
    await waitFor(() => pool.ready === 1, 'a ready spare');
    const response = await harness.post('/runs', { prompt: 'Write a poem.', agent_count: 1 });
    const { run_id: runId } = (await response.json()) as { run_id: string };
    const final = await harness.manager.waitForRun(runId);
    const agent = final.results[0]!;
    assert.equal(agent.status, 'success', agent.error);
    assert.equal(agent.diff_stats?.files, 1, 'the file written in the container was committed and imported');
    const started = harness.logLines.map((line) => JSON.parse(line) as { msg: string; warm?: boolean; runtime?: string; run_id?: string }).find((line) => line.msg === 'agent started' && line.run_id === runId);
    assert.deepEqual([started?.runtime, started?.warm], ['docker', true]);
  } finally {
    await harness.close();
  }
});
