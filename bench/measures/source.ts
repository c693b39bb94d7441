// The cost of starting a run from a big source repository: ours (POST /runs' work with a source: ls-remote, the run's one fetch, a private clone per agent) against plain `git clone` + `git worktree add` ×N, in the same run; and the setup step's private copies into N agents' trees.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import pino from 'pino';
import type { CheckResult } from '@multiclaude/contract';
import { createRunMachinery } from '../../backend/orchestrator/src/runs/wiring.ts';
import type { AgentExecutor } from '../../backend/orchestrator/src/runs/agent-executor.ts';
import { runToOutcome } from '../../backend/orchestrator/src/process/run-cli.ts';

export interface SourceSettings {
  files: number;
  agents: number;
  repetitions: number;
  /** Files the setup step leaves (a node_modules-like directory) for the copy measure. */
  setupFiles: number;
}

export interface SourceSample {
  oursMs: number[];
  floorMs: number[];
  /** Time of the setup's copy into every agent's tree. */
  copyMs: number[];
  /** Whether `cp --reflink=always` works on the workspace's file system (copy-on-write). */
  reflink: boolean;
  repositoryMiB: number;
  /** Conditions worth knowing when reading the figures (added by hand to RESULTS.json). */
  note?: string;
}

/** A repository of `files` small files in one commit, made by fast-import (a checkout would take longer than the measure). */
async function generateRepository(directory: string, files: number): Promise<void> {
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', directory]);
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: directory, stdio: ['pipe', 'ignore', 'inherit'] });
  const write = (text: string): Promise<void> => new Promise((resolve) => (child.stdin.write(text) ? resolve() : child.stdin.once('drain', () => resolve())));
  await write(`commit refs/heads/main\ncommitter Bench <bench@example.invalid> 1700000000 +0000\ndata 9\ngenerate\n`);
  for (let index = 0; index < files; index++) {
    const content = `// file ${index}\nexport const value${index} = ${index};\n`;
    await write(`M 100644 inline src/d${Math.floor(index / 100)}/f${index}.ts\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  }
  child.stdin.end();
  await new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`)))));
}

/** Agents that do nothing: the measure is the run's setup, not the agents. */
function idleExecutor(): AgentExecutor {
  const none: CheckResult = { status: 'passed', exit_code: 0, duration_ms: 0, output_tail: '' };
  const idle = async () => ({ status: 'success' as const, output: '', messages: [], usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0, duration_ms: 0, num_turns: 0 });
  return {
    runAgent: idle,
    runCheck: async () => none,
    runJudge: idle,
    runSetup: async (job) => {
      const outcome = await runToOutcome('bash', ['-c', job.command], { cwd: job.run.setup.worktree, timeoutMs: 600_000 });
      return { status: outcome.exitCode === 0 ? 'passed' : 'failed', exit_code: outcome.exitCode, duration_ms: outcome.durationMs, output_tail: outcome.outputTail };
    },
  };
}

/** `rm -rf` in a child process: 550,000 files, and the event loop stays free. */
function removeTree(directory: string): Promise<void> {
  return new Promise((resolve, reject) => spawn('rm', ['-rf', '--', directory], { stdio: 'ignore' }).once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rm exited ${code}`)))));
}

async function floor(source: string, directory: string, agents: number): Promise<number> {
  const started = performance.now();
  execFileSync('git', ['clone', '-q', source, directory]);
  for (let agent = 1; agent <= agents; agent++) {
    execFileSync('git', ['worktree', 'add', '-q', '-b', `agent-${agent}`, `worktrees/agent-${agent}`, 'main'], { cwd: directory });
  }
  return performance.now() - started;
}

export async function measureSource(settings: SourceSettings, scratch: string, log: (line: string) => void): Promise<SourceSample> {
  const root = path.join(scratch, 'source');
  const source = path.join(root, 'big.git');
  await mkdir(root, { recursive: true });
  log(`source: generating a repository of ${settings.files} files`);
  await generateRepository(source, settings.files);
  const repositoryMiB = Number(execFileSync('du', ['-sm', source], { encoding: 'utf8' }).split('\t')[0]);
  const workspace = path.join(root, 'workspace');
  const machinery = await createRunMachinery({
    workspaceLocal: workspace,
    maxConcurrentAgents: settings.agents + 1,
    maxQueuedRuns: 5,
    minFreeDiskBytes: 1,
    executor: idleExecutor(),
    logger: pino({ level: 'silent' }),
  });
  await machinery.start();
  // Each repetition's trees go; the run store (in the workspace) stays open.
  const removeRuns = async (): Promise<void> => {
    await removeTree(machinery.layout.runsDirectory);
    await removeTree(path.join(workspace, '.multiclaude', 'agents'));
  };
  const sample: SourceSample = { oursMs: [], floorMs: [], copyMs: [], reflink: false, repositoryMiB };
  const probe = path.join(root, 'reflink-probe');
  await writeFile(probe, 'x');
  try {
    execFileSync('cp', ['--reflink=always', probe, `${probe}-copy`], { stdio: 'ignore' });
    sample.reflink = true;
  } catch {
    sample.reflink = false;
  }
  for (let repetition = 0; repetition < settings.repetitions; repetition++) {
    const started = performance.now();
    const accepted = await machinery.runs.submit({ prompt: 'bench', agent_count: settings.agents, source: { repo: source } });
    sample.oursMs.push(performance.now() - started);
    await machinery.manager.waitForRun(accepted.run_id);
    await removeRuns();
    const plain = path.join(root, `plain-${repetition}`);
    sample.floorMs.push(await floor(source, plain, settings.agents));
    await removeTree(plain);
    log(`source #${repetition + 1}: ours ${sample.oursMs.at(-1)!.toFixed(0)} ms, clone + worktree add ×${settings.agents} ${sample.floorMs.at(-1)!.toFixed(0)} ms`);
  }
  // The copy measure needs no big source: what is copied is the setup's output, not the checkout.
  const small = path.join(root, 'small.git');
  await generateRepository(small, 10);
  const setupCommand = `mkdir -p node_modules && for d in $(seq 1 ${Math.ceil(settings.setupFiles / 100)}); do mkdir -p node_modules/p$d && for f in $(seq 1 100); do echo "module $d $f" > node_modules/p$d/f$f.js; done; done`;
  for (let repetition = 0; repetition < settings.repetitions; repetition++) {
    const accepted = await machinery.runs.submit({ prompt: 'bench', agent_count: settings.agents, source: { repo: small }, setup_command: setupCommand });
    const state = await machinery.manager.waitForRun(accepted.run_id);
    if (state.setup?.status !== 'passed') throw new Error(`setup failed: ${state.setup?.output_tail ?? 'no result'}`);
    sample.copyMs.push(state.setup.copy_ms);
    await removeRuns();
    log(`source setup copy #${repetition + 1}: ${settings.setupFiles} files into ${settings.agents} trees in ${state.setup.copy_ms} ms`);
  }
  await machinery.close();
  await rm(root, { recursive: true, force: true });
  return sample;
}
