// Spawns the SDK's `claude` process so that it dies with the orchestrator: a SIGKILLed orchestrator must not leave agents running on.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';

// util-linux's setpriv asks the kernel to SIGKILL the child when its parent dies (PR_SET_PDEATHSIG);
// without it an orphaned claude keeps retrying a dead model endpoint for minutes.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

export function createClaudeSpawner(onStderr: (text: string) => void): (options: SpawnOptions) => SpawnedProcess {
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
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', onStderr);
    // Spawn failures surface through the SDK as a closed transport; an unhandled 'error' would crash us.
    child.on('error', (error) => onStderr(`claude process error: ${error.message}\n`));
    return child as unknown as SpawnedProcess;
  };
}
