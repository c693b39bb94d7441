// The API client's answers to the orchestrator's refusals, against a stand-in server on loopback: each becomes a CliError whose message names the fix.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OrchestratorClient } from '../src/client.ts';
import { CliError } from '../src/errors.ts';
import { followEvents } from '../src/events.ts';
import type { RunState } from '@multiclaude/contract';
import { recommendation, runSummary, shortenPaths, toolName } from '../src/format.ts';
import { resolveSource } from '../src/source.ts';
import { cleanEnvironment, makeRepository, runCli, scratchHome, unusedPort } from './support/processes.ts';

type Answer = { status: number; body: unknown; headers?: Record<string, string> };
const answers = new Map<string, Answer>([
  ['GET /runs?limit=20', { status: 401, body: { error: 'unauthorized' } }],
  ['POST /runs', { status: 429, body: { error: 'too many queued runs' }, headers: { 'retry-after': '7' } }],
  ['POST /runs/r1/merge', { status: 409, body: { error: 'merging agent-2 conflicts with main', conflicting_files: ['a.md', 'b.md'] } }],
  ['POST /runs/r1/agents/1/push', { status: 404, body: { error: 'no route for POST /runs/r1/agents/1/push' } }],
  ['GET /runs/nope', { status: 404, body: { error: 'no run nope' } }],
  ['GET /runs/r1/agents/1/diff', { status: 500, body: { error: 'internal error' } }],
  ['GET /runs/r1', { status: 200, body: { status: 'completed' } }],
  ['GET /health', { status: 200, body: { status: 'ok' } }],
  ['POST /runs/r2/agents/3/push', { status: 200, body: { remote: 'file:///home/me/app', branch: 'try-3', commit: '0123456789abcdef0123' } }],
]);
/** Bodies the stand-in received, by "METHOD path". */
const received = new Map<string, string>();
let server: Server;
let url = '';

before(async () => {
  server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    received.set(`${request.method} ${request.url}`, body);
    const answer = answers.get(`${request.method} ${request.url}`) ?? { status: 404, body: { error: 'no route for this' } };
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.body));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  url = `http://127.0.0.1:${port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function failure(work: Promise<unknown>): Promise<CliError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
  return error;
}

test('401 says to set ORCHESTRATOR_TOKEN, or that the one set is wrong', async () => {
  const without = await failure(new OrchestratorClient({ url }).listRuns());
  assert.equal(without.code, 'unauthorized');
  assert.match(without.message, /set ORCHESTRATOR_TOKEN to the token the orchestrator was started with/);
  const wrong = await failure(new OrchestratorClient({ url, token: 'wrong' }).listRuns());
  assert.match(wrong.message, /ORCHESTRATOR_TOKEN is set but the orchestrator refused it/);
});

test('429 says when to try again, from Retry-After', async () => {
  const error = await failure(new OrchestratorClient({ url }).startRun({ prompt: 'x', agent_count: 1 }));
  assert.equal(error.code, 'queue_full');
  assert.match(error.message, /queue is full; try again in 7 s \(Retry-After\)/);
  assert.deepEqual(error.detail, { retry_after_seconds: 7 });
});

test('409 on merge names the conflicting files', async () => {
  const error = await failure(new OrchestratorClient({ url }).merge('r1', 2));
  assert.equal(error.code, 'conflict');
  assert.match(error.message, /conflicting files: a\.md, b\.md/);
  assert.deepEqual(error.detail, { conflicting_files: ['a.md', 'b.md'] });
});

test('a route the server lacks is "unsupported", a missing run is "not found" with where to look', async () => {
  const push = await failure(new OrchestratorClient({ url }).push('r1', 1));
  assert.equal(push.code, 'unsupported');
  const missing = await failure(new OrchestratorClient({ url }).getRun('nope'));
  assert.equal(missing.code, 'not_found');
  assert.match(missing.message, /no run nope \(`multiclaude runs` lists the runs\)/);
});

test('a 5xx points at the orchestrator\'s logs; an answer that is not the API\'s shape says so', async () => {
  const broken = await failure(new OrchestratorClient({ url }).getDiff('r1', 1));
  assert.equal(broken.code, 'server_error');
  assert.match(broken.message, /view-logs/);
  const odd = await failure(new OrchestratorClient({ url }).getRun('r1'));
  assert.equal(odd.code, 'bad_answer');
  assert.match(odd.message, /does not match the API/);
});

test('an orchestrator that is not there: unreachable, naming the url and how to start one', async () => {
  const port = await unusedPort();
  const error = await failure(new OrchestratorClient({ url: `http://127.0.0.1:${port}` }).listRuns());
  assert.equal(error.code, 'unreachable');
  assert.match(error.message, new RegExp(`cannot reach the orchestrator at http://127\\.0\\.0\\.1:${port} .*npm start`));
  // The event stream gives up after its reconnections, saying how to resume.
  const stream = await failure((async () => {
    for await (const _event of followEvents(new OrchestratorClient({ url: `http://127.0.0.1:${port}` }), 'r1', { after: 4, maxReconnects: 0 })) void _event;
  })());
  assert.equal(stream.code, 'stream_failed');
  assert.match(stream.message, /multiclaude logs r1 --after 4/);
});

test('the source: --repo paths are made absolute, URLs kept; without --repo the enclosing repository, outside one none', async () => {
  const scratch = await scratchHome();
  try {
    assert.deepEqual((await resolveSource({ repo: 'https://example.invalid/a.git', ref: 'v1', cwd: '/' })).source, { repo: 'https://example.invalid/a.git', ref: 'v1' });
    assert.deepEqual((await resolveSource({ repo: 'git@example.invalid:a.git', cwd: '/' })).source, { repo: 'git@example.invalid:a.git' });
    assert.deepEqual((await resolveSource({ repo: 'sub/dir', cwd: '/base' })).source, { repo: '/base/sub/dir' });
    await assert.rejects(resolveSource({ repo: '--upload-pack=x', cwd: '/' }), /must not start with "-"/);
    const repository = await makeRepository(scratch.home);
    const inside = await resolveSource({ cwd: repository });
    assert.deepEqual(inside, { source: { repo: repository }, notes: [] });
    await writeFile(path.join(repository, 'README.md'), 'changed\n');
    await mkdir(path.join(repository, 'src'));
    // From a subdirectory too: the source is the repository's top level.
    assert.deepEqual(await resolveSource({ cwd: path.join(repository, 'src'), ref: 'main' }), { source: { repo: repository, ref: 'main' }, notes: [
      `${repository} has uncommitted changes: the run starts from main, without them`,
    ] });
    assert.deepEqual(await resolveSource({ cwd: scratch.home }), { source: undefined, notes: [] });
    await assert.rejects(resolveSource({ ref: 'main', cwd: scratch.home }), /--ref needs a repository/);
  } finally {
    await scratch.remove();
  }
});

test('progress lines name tools as people know them and drop the agent\'s own worktree path', () => {
  assert.equal(toolName('mcp__sandbox__Write'), 'Write');
  assert.equal(toolName('Bash'), 'Bash');
  assert.equal(shortenPaths('/w/runs/run_1/worktrees/agent-2/src/a.ts'), './src/a.ts');
  assert.equal(shortenPaths("cd '/w/runs/run_1/worktrees/agent-10' && git add ."), "cd '.' && git add .");
  // Where the sandboxes show the repository: Docker's /workspace, the local runtime's /mnt/workspace; not a path that merely ends so.
  assert.equal(shortenPaths('Write /mnt/workspace/agent-1.md'), 'Write ./agent-1.md');
  assert.equal(shortenPaths('cat /workspace/a.ts'), 'cat ./a.ts');
  assert.equal(shortenPaths('ls /home/me/workspace/b'), 'ls /home/me/workspace/b');
});

test('a best-of-N run prints the judge\'s order and summary, the savings, that the judge chose, and the run\'s cost with the judge\'s', () => {
  const run = {
    run_info: { run_id: '20261201_120000_abcd1234', run_dir: 'runs/run_20261201_120000_abcd1234' },
    status: 'completed',
    summary: { total_agents: 2, successful: 2, failed: 0, cancelled: 0 },
    results: [1, 2].map((agentId) => ({ agent_id: agentId, workspace: { branch_name: `agent-${agentId}` }, usage: { input_tokens: 100, output_tokens: 10 }, cost_usd: 0.01 })),
    recommended_agent_id: 2,
    no_recommendation_reason: null,
    ranked_by: 'judge',
    ranking_note: null,
    judge: { status: 'ranked', ranking: [2, 1], summary: 'agent 2 handles the edge case', usage: { input_tokens: 50, output_tokens: 5 }, cost_usd: 0.002 },
    savings: { agents_stopped: 1, agents_not_started: 2, estimated_cost_usd: 0.03, basis: 'mean cost' },
  } as unknown as RunState;
  assert.equal(
    recommendation(run),
    'judge: agent 2 > agent 1 ($0.0020): agent 2 handles the edge case\nsaved: about $0.0300 (1 stopped, 2 not started)\n' +
      'recommended: agent 2 (branch agent-2, chosen by the judge): multiclaude diff 20261201_120000_abcd1234 2; multiclaude merge 20261201_120000_abcd1234 2',
  );
  assert.match(runSummary(run), /tokens 275, cost \$0\.0220;/);
  const fallback = { ...run, ranked_by: 'rules', judge: { ...run.judge!, status: 'failed' }, ranking_note: 'the judge failed (no JSON): ranked by the check and diff rules instead', savings: null } as RunState;
  assert.match(recommendation(fallback), /^ranking: the judge failed \(no JSON\): ranked by the check and diff rules instead\nrecommended: agent 2 \(branch agent-2\): /);
});

test('push, as it will work once the orchestrator has the route: the branch is sent, the answer printed (a real multiclaude process)', async () => {
  const result = await runCli(['push', 'r2', '3', '--branch', 'try-3'], { env: cleanEnvironment({ ORCHESTRATOR_URL: url }) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'pushed agent 3 of run r2 to file:///home/me/app as branch try-3 (0123456789ab)\n');
  assert.deepEqual(JSON.parse(received.get('POST /runs/r2/agents/3/push')!), { branch: 'try-3' });
  const refused = await runCli(['push', 'r1', '1'], { env: cleanEnvironment({ ORCHESTRATOR_URL: url }) });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not support push \(it has no POST \/runs\/:id\/agents\/:n\/push\)/);
  assert.deepEqual(JSON.parse(received.get('POST /runs/r1/agents/1/push')!), {});
});
