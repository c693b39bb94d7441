// Spawns the SDK's `claude` process so that it dies with the orchestrator (a SIGKILLed orchestrator must not leave agents running on) and yields the CPU to it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';

// util-linux's setpriv asks the kernel to SIGKILL the child when its parent dies (PR_SET_PDEATHSIG);
// without it an orphaned claude keeps retrying a dead model endpoint for minutes.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

/**
 * How much nicer than the orchestrator its agents run: ten agents starting at once saturate a small machine's cores, and at equal priority
 * the API's p99 went from ~10 ms to ~60 ms (bench/RESULTS.md). Agents are batch work that mostly waits on the
 * model; the orchestrator is interactive. Its tools (mcp serve, bash, git) inherit it.
 */
export const AGENT_NICENESS = 10;

/** `onProcess` hears each process's pid (for the memory footprint) and returns what to call when it exits. */
export function createClaudeSpawner(onStderr: (text: string) => void, onProcess?: (pid: number) => () => void): (options: SpawnOptions) => SpawnedProcess {
  return (options) => {
    const [command, args] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', options.command, ...options.args]]
      : [options.command, options.args];
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      signal: options.signal,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      // Set as soon as spawn returns, before claude starts its threads, which inherit it.
      if (child.pid !== undefined) os.setPriority(child.pid, Math.min(19, os.getPriority() + AGENT_NICENESS));
    } catch {
      // Already gone: the SDK sees the exit.
    }
    // The SDK waits for a warm spare's exit from each stage of its life (prewarm, claim, close): more than Node's default ten listeners, none of them a leak.
    child.setMaxListeners(32);
    if (onProcess && child.pid !== undefined) child.once('exit', onProcess(child.pid));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', onStderr);
    // Spawn failures surface through the SDK as a closed transport; an unhandled 'error' would crash us.
    child.on('error', (error) => onStderr(`claude process error: ${error.message}\n`));
    return child as unknown as SpawnedProcess;
  };
}
