// `multiclaude mcp` reached by the MCP SDK's own client over stdio (tools listed with schemas, a 2-agent run started, waited for with progress notifications, its diff read), and by Claude Code as the README configures it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { DiffResponseSchema, MergeResponseSchema } from '@multiclaude/contract';
import { alive, CLI_BIN, cleanEnvironment, makeRepository, scratchHome, startOrchestrator, unusedPort, type Orchestrator } from './support/processes.ts';

const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
let orchestrator: Orchestrator;
let scratch: Awaited<ReturnType<typeof scratchHome>>;

before(async () => {
  orchestrator = await startOrchestrator();
  scratch = await scratchHome();
});
after(async () => {
  await orchestrator?.stop();
  await scratch?.remove();
});

async function connectClient(environment: NodeJS.ProcessEnv): Promise<{ client: Client; stderr: () => string; pid: () => number | null }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_BIN, 'mcp'],
    env: environment as Record<string, string>,
    cwd: scratch.home,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'multiclaude-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr, pid: () => transport.pid };
}

test('an MCP client lists the tools, starts a 2-agent run, waits with progress notifications, reads a diff and merges', async () => {
  const { client, stderr } = await connectClient(cleanEnvironment({ HOME: scratch.home, ORCHESTRATOR_URL: orchestrator.url, ORCHESTRATOR_TOKEN: orchestrator.token }));
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), ['cancel_run', 'get_diff', 'get_run', 'merge', 'push', 'start_run', 'wait_run']);
    for (const tool of tools) assert.equal(tool.outputSchema?.type, 'object', `${tool.name} has an output schema`);
    const startRun = tools.find((tool) => tool.name === 'start_run')!;
    assert.deepEqual(Object.keys(startRun.inputSchema.properties ?? {}).sort(), ['agent_count', 'budget_usd', 'check_command', 'prompt', 'source']);
    assert.deepEqual(startRun.inputSchema.required?.sort(), ['agent_count', 'prompt']);

    const repository = await makeRepository(scratch.home);
    const started = await client.callTool({ name: 'start_run', arguments: { prompt: 'Write a haiku about git.', agent_count: 2, source: { repo: repository } } });
    assert.notEqual(started.isError, true, JSON.stringify(started.content));
    const { run_id: runId, warnings } = started.structuredContent as { run_id: string; warnings: string[] };
    // An orchestrator without sources says so rather than silently running elsewhere; one with them records it and warns of nothing.
    const recorded = (await (await fetch(`${orchestrator.url}/runs/${runId}`, { headers: { authorization: `Bearer ${orchestrator.token}` } })).json()) as { run_info: { source?: unknown } };
    assert.deepEqual(warnings.length, recorded.run_info.source === undefined ? 1 : 0, JSON.stringify(warnings));
    assert.match(runId, /^\d{8}_\d{6}_[0-9a-f]+$/);

    const progress: Progress[] = [];
    const waited = await client.callTool({ name: 'wait_run', arguments: { run_id: runId } }, undefined, {
      onprogress: (update) => progress.push(update),
      resetTimeoutOnProgress: true,
    });
    assert.notEqual(waited.isError, true, JSON.stringify(waited.content));
    const outcome = waited.structuredContent as { finished: boolean; succeeded: boolean; run: { status: string; results: Array<{ status: string }> } };
    assert.equal(outcome.finished, true);
    assert.equal(outcome.succeeded, true);
    assert.equal(outcome.run.status, 'completed');
    assert.equal(outcome.run.results.length, 2);
    // Progress only grows and ends at the total: both agents ended.
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    assert.ok(progress.every((update, index) => index === 0 || update.progress > progress[index - 1]!.progress), JSON.stringify(progress));
    assert.deepEqual({ progress: progress.at(-1)!.progress, total: progress.at(-1)!.total }, { progress: 2, total: 2 });
    assert.match(progress.at(-1)!.message ?? '', /^agent \d success$/);

    const diff = await client.callTool({ name: 'get_diff', arguments: { run_id: runId, agent_id: 2 } });
    const parsedDiff = DiffResponseSchema.parse(diff.structuredContent);
    assert.deepEqual(parsedDiff.files.map((file) => file.path), ['agent-2.md']);
    assert.match(parsedDiff.patch, /^\+# Agent 2$/m);

    const merged = await client.callTool({ name: 'merge', arguments: { run_id: runId, agent_id: 2 } });
    assert.equal(MergeResponseSchema.parse(merged.structuredContent).branch_name, 'agent-2');

    const pushed = await client.callTool({ name: 'push', arguments: { run_id: runId, agent_id: 1, branch: 'try-1' } });
    assert.notEqual(pushed.isError, true, JSON.stringify(pushed.content));
    assert.equal((pushed.structuredContent as { branch: string }).branch, 'try-1');

    const missing = await client.callTool({ name: 'get_run', arguments: { run_id: '20990101_000000_00000000' } });
    assert.equal(missing.isError, true);
    assert.match(JSON.stringify(missing.content), /no run 20990101_000000_00000000/);
  } finally {
    await client.close();
  }
  assert.doesNotMatch(stderr(), /started one at/, 'the running orchestrator was used');
});

test('without a reachable orchestrator, multiclaude mcp starts one at the first tool call and stops it when the client disconnects', async () => {
  const port = await unusedPort();
  const { client, stderr } = await connectClient(cleanEnvironment({ ...scratch.environment, ORCHESTRATOR_URL: `http://127.0.0.1:${port}` }));
  let pid = 0;
  try {
    const { tools } = await client.listTools();
    assert.equal(tools.length, 7);
    assert.doesNotMatch(stderr(), /started one at/, 'listing the tools needs no orchestrator');
    const listed = await client.callTool({ name: 'get_run', arguments: { run_id: '20990101_000000_00000000' } });
    assert.equal(listed.isError, true);
    assert.match(JSON.stringify(listed.content), /no run 20990101_000000_00000000/);
    const notice = /started one at http:\/\/127\.0\.0\.1:\d+ \(pid (\d+)\)/.exec(stderr());
    assert.ok(notice, stderr());
    pid = Number(notice[1]);
    assert.equal(alive(pid), true);
  } finally {
    await client.close();
  }
  await waitUntilGone(pid);
});

test('an orchestrator started by multiclaude mcp stops even when the server is killed with SIGKILL', async () => {
  const port = await unusedPort();
  const { client, stderr, pid: serverPid } = await connectClient(cleanEnvironment({ ...scratch.environment, ORCHESTRATOR_URL: `http://127.0.0.1:${port}` }));
  try {
    await client.callTool({ name: 'get_run', arguments: { run_id: '20990101_000000_00000000' } });
    const notice = /started one at http:\/\/127\.0\.0\.1:\d+ \(pid (\d+)\)/.exec(stderr());
    assert.ok(notice, stderr());
    process.kill(serverPid()!, 'SIGKILL');
    await waitUntilGone(Number(notice[1]));
  } finally {
    await client.close();
  }
});

/** Waits for a process to end; fails only if it is still there after a generous bound (a leak, not a slow machine). */
async function waitUntilGone(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (alive(pid)) {
    if (Date.now() > deadline) assert.fail(`process ${pid} is still running`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('the documented Claude Code configuration works: `claude mcp add multiclaude -- npx multiclaude mcp`, then Claude Code connects to it', async (context) => {
  const claude = claudeBinary();
  if (!claude) return context.skip('no claude binary for this platform (@anthropic-ai/claude-agent-sdk-linux-x64)');
  const home = await scratchHome();
  try {
    // Claude Code's own config lives under HOME; the command is run from the repository, where `npx multiclaude` resolves.
    const environment = cleanEnvironment({ ...home.environment, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', ORCHESTRATOR_URL: orchestrator.url });
    const options = { cwd: REPOSITORY_ROOT, env: environment, timeout: 90_000 };
    const added = await promisify(execFile)(claude, ['mcp', 'add', 'multiclaude', '--', 'npx', 'multiclaude', 'mcp'], options);
    assert.match(added.stdout, /Added stdio MCP server multiclaude with command: npx multiclaude mcp/);
    const listed = await promisify(execFile)(claude, ['mcp', 'list'], options);
    assert.match(listed.stdout, /multiclaude: npx multiclaude mcp - ✔ Connected/);
  } finally {
    await home.remove();
  }
});

function claudeBinary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('@anthropic-ai/claude-agent-sdk-linux-x64/package.json')), 'claude');
  } catch {
    return undefined;
  }
}
