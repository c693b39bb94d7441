// The real orchestrator process with a real key and token, agents on the local runtime attacking through their own Bash tool: neither secret is anywhere an agent can read, agent tokens die with their agent, and budget_usd holds whatever the tools do.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startOfflineModel, type OfflineModel } from '@multiclaude/offline-model';
import { OrchestrateResponseSchema, RunStateSchema, type OrchestrateResponse } from '@multiclaude/contract';
import { freePort } from './support/ports.ts';
import { skipUnlessRequired } from './support/required.ts';
import { dockerUnavailable } from './support/docker.ts';

const root = path.resolve(import.meta.dirname, '../../..');
// Built at run time, so no key-shaped literal is committed.
const API_KEY = 'sk-' + `ant-api03-${randomBytes(24).toString('base64url')}`;
const TOKEN = `orchestrator-${randomBytes(24).toString('hex')}`;
const SECRETS = { 'the API key': API_KEY, 'the orchestrator token': TOKEN };

const runtimes = { local: undefined, docker: skipUnlessRequired(dockerUnavailable()) } as const;

for (const [runtime, skip] of Object.entries(runtimes)) describe(`${runtime} runtime`, { skip }, () => {
  let scratch: string;
  let model: OfflineModel;
  let child: ChildProcess;
  let url: string;
  let stdout = '';
  let stderr = '';
  const authorization = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-secrets-'));
    // Demands the real key, as Anthropic's API does: only the proxy can get an answer from it.
    model = await startOfflineModel({ apiKey: API_KEY });
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'backend/orchestrator/src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: scratch,
        WORKSPACE_LOCAL: path.join(scratch, 'workspace'),
        LOG_DIR: path.join(scratch, 'logs'),
        LOG_LEVEL: 'DEBUG',
        PORT: String(port),
        AGENT_RUNTIME: runtime,
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_BASE_URL: model.url,
        ORCHESTRATOR_TOKEN: TOKEN,
        // tsx then starts its esbuild service, a child that inherits the environment before main.ts runs.
        TSX_DISABLE_CACHE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`${url}/health`).catch(() => undefined))?.ok) {
      assert.ok(Date.now() < deadline, `orchestrator did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await model.close();
    await rm(scratch, { recursive: true, force: true });
  });

  async function orchestrate(body: Record<string, unknown>): Promise<OrchestrateResponse> {
    const response = await fetch(`${url}/orchestrate`, { method: 'POST', headers: { ...authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(response.status, 200);
    return OrchestrateResponseSchema.parse(await response.json());
  }

  /** The model proxy's URL, from its start-up log line. */
  function proxyUrl(): string {
    const port = /"port":(\d+),"msg":"model proxy listening"/.exec(stdout)?.[1];
    assert.ok(port, 'the proxy logged its port');
    return `http://127.0.0.1:${port}`;
  }

  async function filesUnder(directory: string): Promise<string[]> {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
  }

  /** What the agent's tools printed, as its model received it (cut to 2,000 characters per call). */
  function toolOutputOf(result: OrchestrateResponse['results'][number]): string {
    return result.messages.filter((message) => message.type === 'tool_result' || message.type === 'tool_error').map((message) => message.text).join('\n');
  }

  function assertNoSecret(text: string, where: string): void {
    for (const [name, secret] of Object.entries(SECRETS)) {
      const at = text.indexOf(secret);
      assert.ok(at === -1, `${name} is in ${where}: …${text.slice(Math.max(0, text.lastIndexOf('\n== ', at)), at + 80)}`);
    }
  }

  // Everything readable to the tools: their own environment, every process's environment and command line.
  const DUMP =
    'env > tool-env.txt; for p in /proc/[0-9]*; do echo "== $p $(tr "\\0" " " < $p/cmdline 2>/dev/null)"; tr "\\0" "\\n" < $p/environ; done > proc-dump.txt 2>/dev/null; ' +
    'echo environs read: $(grep -c ^PATH= proc-dump.txt); grep -h -o "^\\(ANTHROPIC\\|ORCHESTRATOR\\)_[A-Z_]*" tool-env.txt proc-dump.txt | sort | uniq -c';

  test("an agent's tools find neither the API key nor the orchestrator token in any environment, and its token dies with it", async () => {
    const body = await orchestrate({ prompt: `Look around. [[bash cmd=${JSON.stringify(DUMP)}]]`, agent_count: 1 });
    const result = body.results[0]!;
    assert.equal(result.status, 'success', result.error);
    const toolOutput = toolOutputOf(result);
    assert.match(toolOutput, /environs read: [1-9]/, `the tool read environments from /proc: ${JSON.stringify(result.messages).slice(0, 3000)}`);
    const worktree = path.join(scratch, 'workspace', result.workspace.worktree_path);
    const toolEnvironment = await readFile(path.join(worktree, 'tool-env.txt'), 'utf8');
    const processes = await readFile(path.join(worktree, 'proc-dump.txt'), 'utf8');
    assertNoSecret(toolEnvironment, "the tool's environment");
    assertNoSecret(processes, 'the environment or command line of a process the tool can see');
    assert.ok(!/^(ANTHROPIC|ORCHESTRATOR)_/m.test(toolEnvironment), `the tool's environment holds no model or orchestrator variable:\n${toolEnvironment}`);
    assertNoSecret(await readFile(`/proc/${child.pid}/environ`, 'utf8'), "the orchestrator's own environ");

    // Where the tools share the claude process's user (local runtime without its own uid), they can read
    // its environment: it holds the agent's token for the proxy, and nothing else of worth.
    const proxy = proxyUrl();
    const claudeBlock = processes.split('\n== ').find((block) => block.includes(`\nANTHROPIC_BASE_URL=${proxy}\n`));
    if (claudeBlock) {
      const agentToken = /\nANTHROPIC_API_KEY=(.*)\n/.exec(claudeBlock)?.[1] ?? '';
      assert.match(agentToken, /^multiclaude-agent-[A-Za-z0-9_-]{43}$/);
      const replay = await fetch(`${proxy}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': agentToken, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(replay.status, 401, 'the token of an agent that has ended is refused');
    }
  });

  test('budget_usd is a hard cap: a token taken by a tool is refused once the agent has spent its share, and the run reports the cost', async () => {
    // The tool takes the token from the nearest ancestor that holds one and spends it directly, past the CLI's own accounting.
    const steal =
      'p=$$; while [ "$p" -gt 1 ]; do t=$(tr "\\0" "\\n" < /proc/$p/environ 2>/dev/null | grep ^ANTHROPIC_API_KEY= | cut -d= -f2-); u=$(tr "\\0" "\\n" < /proc/$p/environ 2>/dev/null | grep ^ANTHROPIC_BASE_URL= | cut -d= -f2-); [ -n "$t" ] && break; p=$(cut -d" " -f4 /proc/$p/stat); done; ' +
      'if [ -z "$t" ]; then echo no token readable; else for i in 1 2; do curl -s -w " HTTP %{http_code}\\n" -H "x-api-key: $t" -H "content-type: application/json" ' +
      '-d "{\\"model\\":\\"claude-sonnet-4-5\\",\\"max_tokens\\":10,\\"messages\\":[{\\"role\\":\\"user\\",\\"content\\":\\"hi [[usage input_tokens=1000000]]\\"}]}" $u/v1/messages; done; fi';
    const body = await orchestrate({ prompt: `Spend. [[bash cmd=${JSON.stringify(steal)}]]`, agent_count: 1, budget_usd: 1 });
    const result = body.results[0]!;
    const run = RunStateSchema.parse(await (await fetch(`${url}/runs/${body.run_info.run_id}`, { headers: authorization })).json());
    const agent = run.results[0]!;
    if (JSON.stringify(result.messages).includes('no token readable')) {
      // The tools cannot read the claude process: nothing to steal, the run went on within its budget.
      assert.equal(result.status, 'success', result.error);
      return;
    }
    // $3 for the first call (a million input tokens at Sonnet prices), then refused: $1 was the share.
    const toolOutput = toolOutputOf(result);
    assert.match(toolOutput, / HTTP 200\\n.*budget reached: agent 1 spent \$3\.0\d+ of its \$1\.0000 share of the run's budget_usd.* HTTP 400/s);
    assert.equal(result.status, 'error');
    assert.match(result.error ?? '', /^budget reached: agent 1 spent \$3\.\d+ of its \$1\.0000 share/);
    assert.equal(agent.status, 'error');
    assert.ok(agent.cost_usd >= 3, `the run reports what the proxy metered: ${agent.cost_usd}`);
  });

  test('with budget_usd spent by its own first answer, an agent stops with a budget error and the metered cost', async () => {
    const body = await orchestrate({ prompt: 'Write a poem. [[usage input_tokens=1000000]]', agent_count: 1, budget_usd: 1 });
    const run = RunStateSchema.parse(await (await fetch(`${url}/runs/${body.run_info.run_id}`, { headers: authorization })).json());
    const agent = run.results[0]!;
    assert.equal(agent.status, 'error');
    assert.match(agent.error ?? '', /budget/i);
    assert.ok(agent.cost_usd >= 1, `${agent.cost_usd}`);
  });

  test('neither secret is in any run record, API answer, event stream, log file or the process output', async () => {
    const runs = (await (await fetch(`${url}/runs`, { headers: authorization })).text());
    assertNoSecret(runs, 'GET /runs');
    for (const runId of [...runs.matchAll(/"run_id":"([^"]+)"/g)].map((match) => match[1]!)) {
      assertNoSecret(await (await fetch(`${url}/runs/${runId}`, { headers: authorization })).text(), `GET /runs/${runId}`);
      const events = await fetch(`${url}/runs/${runId}/events`, { headers: authorization, signal: AbortSignal.timeout(20_000) });
      assertNoSecret(await events.text(), `the events of ${runId}`);
    }
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const file of [...(await filesUnder(path.join(scratch, 'workspace'))), ...(await filesUnder(path.join(scratch, 'logs')))]) {
      assertNoSecret(await readFile(file, 'latin1'), file);
    }
    assert.match(await readFile(path.join(scratch, 'logs', 'orchestrator.log'), 'utf8'), /model proxy: response metered/);
    assertNoSecret(stdout, 'stdout');
    assertNoSecret(stderr, 'stderr');
  });
});
