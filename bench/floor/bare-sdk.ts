// The agents floor: the same git setup (raw-git.sh: run repository and a clone per agent, fetched back after the session) and N bare Claude Agent SDK sessions, each with its own `claude mcp serve`, started at once by a plain script with no orchestrator; prints one JSON line of timestamps.
//
// Usage: node --import tsx bench/floor/bare-sdk.ts --dir D --model-url U --claude PATH --agents N
//          [--runs R] [--concurrency C] [--runtime local|docker] [--image claude-mcp:latest] [--prompt P]
// Runs are set up one after another (as POST /runs would); each run's sessions join a pool of at most C
// (default: all) sessions at once. Options to query() are those of agents/agent-session.ts, so the
// only difference from ours is the orchestrator itself.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { query, type SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { buildEnhancedPrompt } from '../../backend/orchestrator/src/agents/prompt.ts';
import { sandboxToolOptions, sessionEnvironment } from '../../backend/orchestrator/src/agents/agent-session.ts';
import type { FloorSession } from '../lib/floor.ts';
import { readStat, waitForNoDescendants } from '../lib/processes.ts';

const run = promisify(execFile);
const now = (): number => Date.now();
const started = now();
const startStat = await readStat(process.pid);

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    'model-url': { type: 'string' },
    claude: { type: 'string' },
    agents: { type: 'string', default: '1' },
    runs: { type: 'string', default: '1' },
    concurrency: { type: 'string' },
    runtime: { type: 'string', default: 'local' },
    image: { type: 'string', default: 'claude-mcp:latest' },
    prompt: { type: 'string', default: 'Write a haiku about git.' },
    'timeout-ms': { type: 'string', default: '300000' },
  },
});
const workDirectory = values.dir!;
const modelUrl = values['model-url']!;
const claude = values.claude!;
const agents = Number(values.agents);
const runs = Number(values.runs);
const concurrency = Number(values.concurrency ?? agents * runs);
const docker = values.runtime === 'docker';
const timeoutMs = Number(values['timeout-ms']);
const rawGit = path.join(import.meta.dirname, 'raw-git.sh');

/** One bare session, as bench/lib/floor.ts reads it back. */
type SessionRecord = FloorSession;

/** As agent-session.ts, minus our spawner (setpriv) and logging: just the SDK session. */
async function session(runDirectory: string, agentId: number): Promise<Omit<SessionRecord, 'run' | 'agent'>> {
  const startedAt = now();
  const worktree = path.join(runDirectory, 'worktrees', `agent-${agentId}`);
  const configDirectory = path.join(runDirectory, '.multiclaude', 'agents', `agent-${agentId}`, 'claude-home', '.claude');
  await mkdir(configDirectory, { recursive: true });
  // Plain `docker run --rm`: the least a container-per-agent can cost (no hardening, same-path mount so git just works).
  const mcpServer: { type: 'stdio'; command: string; args: string[]; env: Record<string, string> } = docker
    ? {
        type: 'stdio',
        command: 'docker',
        args: ['run', '--rm', '-i', '--network', 'none', '--user', '0:0', '-e', 'HOME=/tmp', '-v', `${runDirectory}:${runDirectory}`, '-w', worktree, values.image!],
        env: {},
      }
    : { type: 'stdio', command: claude, args: ['mcp', 'serve'], env: { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } };
  const texts: SessionRecord['texts'] = [];
  const abortController = new AbortController();
  const timer = setTimeout(() => abortController.abort(new Error('timeout')), timeoutMs);
  try {
    const messages = query({
      prompt: buildEnhancedPrompt({ agentId, branchName: `agent-${agentId}`, workingDirectory: worktree, userPrompt: values.prompt! }),
      options: {
        pathToClaudeCodeExecutable: claude,
        cwd: worktree,
        ...sandboxToolOptions(mcpServer),
        maxTurns: 50,
        abortController,
        // The same environment as agent-session.ts gives an agent's claude.
        env: sessionEnvironment({
          searchPath: process.env['PATH'] ?? '/usr/bin:/bin',
          configDirectory,
          apiKey: 'offline-bench',
          baseUrl: modelUrl,
          runningAsRoot: process.getuid?.() === 0,
        }),
      },
    });
    let ok = false;
    let error: string | undefined;
    for await (const message of messages as AsyncIterable<SDKMessage>) {
      if (message.type === 'assistant') {
        const at = now();
        for (const block of message.message.content) if (block.type === 'text') texts.push({ text: block.text, at });
      }
      if (message.type === 'result') {
        ok = message.subtype === 'success' && !message.is_error;
        if (!ok) error = message.subtype;
      }
    }
    return { startedAt, endedAt: now(), ok, texts, ...(error ? { error } : {}) };
  } catch (caught) {
    return { startedAt, endedAt: now(), ok: false, texts, error: (caught as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const sessions: SessionRecord[] = [];
const setupDoneAt: number[] = [];
const pending: Array<() => Promise<void>> = [];
let running = 0;
let wakeDone: () => void = () => {};
const allDone = new Promise<void>((resolve) => (wakeDone = resolve));
let queued = 0;

let announced = false;
function pump(): void {
  // A live signal for the load measure, which starts its clients when the sessions start.
  if (!announced && pending.length > 0) process.stdout.write(`${JSON.stringify({ event: 'sessions-started', at: now() })}\n`);
  announced ||= pending.length > 0;
  while (running < concurrency && pending.length > 0) {
    running++;
    void pending.shift()!().finally(() => {
      running--;
      if (sessions.length === agents * runs) wakeDone();
      else pump();
    });
  }
}

for (let runIndex = 1; runIndex <= runs; runIndex++) {
  const runDirectory = path.join(workDirectory, `run-${runIndex}`);
  await run('bash', [rawGit, runDirectory, String(agents)]);
  setupDoneAt.push(now());
  for (let agentId = 1; agentId <= agents; agentId++) {
    queued++;
    pending.push(async () => {
      const record = await session(runDirectory, agentId);
      // As the orchestrator's import, minus its checks: the agent's branch fetched from its own repository.
      const branch = `refs/heads/agent-${agentId}`;
      await run('git', ['-C', runDirectory, 'fetch', '-q', path.join(runDirectory, 'worktrees', `agent-${agentId}`, '.git'), `+${branch}:${branch}`]);
      sessions.push({ run: runIndex, agent: agentId, ...record });
    });
  }
  pump();
}
if (queued > 0) await allDone;
const endedAt = now();
// Children's CPU only reaches our counters once they are reaped.
await waitForNoDescendants(process.pid);
const endStat = await readStat(process.pid);
process.stdout.write(`${JSON.stringify({ startedAt: started, setupDoneAt, sessions, endedAt, startStat, endStat })}\n`);
