// Spawns the SDK's `claude` process, through the command helper, so that it dies with the orchestrator (a SIGKILLed orchestrator must not leave agents running on) and yields the CPU to it.
import { existsSync } from 'node:fs';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import { commandHelper } from '../process/commands.ts';

// util-linux's setpriv asks the kernel to SIGKILL the child when its parent (the helper, which exits with
// the orchestrator) dies (PR_SET_PDEATHSIG); without it an orphaned claude keeps retrying a dead model endpoint for minutes.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

/**
 * How much nicer than the orchestrator its agents run: ten agents starting at once saturate a small machine's cores, and at equal priority
 * the API's p99 went from ~10 ms to ~60 ms (bench/RESULTS.md). Agents are batch work that mostly waits on the
 * model; the orchestrator is interactive. Its tools (mcp serve, bash, git) inherit it.
 * They also run under Linux's SCHED_IDLE policy where the machine allows it (`idle`: the helper sets it with util-linux's chrt
 * before claude execs): a woken orchestrator thread then takes a CPU from an agent at once. At niceness alone the kernel lets
 * the running agent finish its slice, which it notices only at the next tick (4 ms at HZ=250), and the API waited (bench/ANALYSIS.md).
 */
export const AGENT_NICENESS = 10;

/** How agents are scheduled here, for /diagnostics (known once the command helper has started). */
export function agentScheduling(): string {
  const idle = commandHelper().idlePolicy;
  if (idle === undefined) return `niceness +${AGENT_NICENESS} (SCHED_IDLE not checked yet)`;
  return idle ? `SCHED_IDLE, niceness +${AGENT_NICENESS}` : `niceness +${AGENT_NICENESS} only (SCHED_IDLE refused here)`;
}

/**
 * `onProcess` hears each process's pid (for the memory footprint) and returns what to call when it exits.
 * The helper forks it: forking the orchestrator itself held its event loop 10–25 ms per agent (process/helper-connection.ts).
 */
export function createClaudeSpawner(onStderr: (text: string) => void, onProcess?: (pid: number) => () => void): (options: SpawnOptions) => SpawnedProcess {
  return (options) => {
    const [command, args] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', options.command, ...options.args]]
      : [options.command, options.args];
    const child = commandHelper().spawn({ command, args, cwd: options.cwd, env: options.env, niceness: AGENT_NICENESS, idle: true });
    // The SDK waits for a warm spare's exit from each stage of its life (prewarm, claim, close): more than Node's default ten listeners, none of them a leak.
    child.setMaxListeners(32);
    if (onProcess) child.once('spawn', (pid: number) => child.once('exit', onProcess(pid)));
    const abort = (): void => void child.kill('SIGTERM');
    if (options.signal.aborted) abort();
    else options.signal.addEventListener('abort', abort, { once: true });
    child.once('exit', () => options.signal.removeEventListener('abort', abort));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', onStderr);
    // Spawn failures surface through the SDK as a closed transport; an unhandled 'error' would crash us.
    child.on('error', (error) => onStderr(`claude process error: ${error.message}\n`));
    return child as unknown as SpawnedProcess;
  };
}
