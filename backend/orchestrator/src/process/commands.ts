// Runs the orchestrator's short-lived commands (git, du, chown, cp, docker) to their end through the command helper, which forks them instead of the orchestrator (see helper-connection.ts for why).
import { HelperConnection, type CommandRequest, type CommandResult } from './helper-connection.ts';

export type { CommandRequest, CommandResult } from './helper-connection.ts';

const helper = new HelperConnection();

/** Runs a command to its end; never throws for the command's own failure (see exitCode, failure). */
export function runCommand(request: CommandRequest, signal?: AbortSignal): Promise<CommandResult> {
  return helper.run(request, signal);
}

/** The one helper of this process: agents' processes are started through it too (agents/claude-process.ts). */
export function commandHelper(): HelperConnection {
  return helper;
}

/** In words, for errors: how a command ended when it did not end with 0 (its stderr first, when it said something). */
export function describeEnd(command: string, result: CommandResult, timeoutMs: number): string {
  const stderr = textOf(result.stderr).trim();
  if (result.timedOut) return `${command} timed out after ${timeoutMs} ms`;
  if (result.canceled) return `${command} was canceled`;
  if (stderr) return stderr;
  if (result.failure) return `${command}: ${result.failure}`;
  if (result.signal) return `${command} was killed by ${result.signal}`;
  return `${command} exited with code ${result.exitCode ?? 'unknown'}`;
}

export class CommandError extends Error {
  readonly code = 'command_failed';
  readonly result: CommandResult;
  constructor(message: string, result: CommandResult) {
    super(message);
    this.name = 'CommandError';
    this.result = result;
  }
}

/** runCommand for commands that must succeed: throws CommandError (how it ended, in words) unless it exits with 0. */
export async function runCommandOrThrow(request: CommandRequest, signal?: AbortSignal): Promise<CommandResult> {
  const result = await runCommand(request, signal);
  if (result.exitCode !== 0) throw new CommandError(describeEnd(request.command, result, request.timeoutMs), result);
  return result;
}

/** Output as text without its final newline, as command-line tools print it. */
export function textOf(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
