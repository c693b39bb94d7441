// Runs a command-line tool (docker, git, claude) with a timeout and an AbortSignal, and answers with its words instead of throwing.
import { describeEnd, runCommand, textOf } from './commands.ts';

export interface CliResult {
  ok: boolean;
  stdout: string;
  /** stderr, or the spawn/timeout error when there is none. */
  detail: string;
}

/** Never throws: a failure is `ok: false` with the tool's own message. */
export async function runCli(command: string, args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CliResult> {
  try {
    const result = await runCommand({ command, args, env: process.env, timeoutMs }, signal);
    if (result.exitCode === 0) return { ok: true, stdout: textOf(result.stdout), detail: textOf(result.stderr) };
    return { ok: false, stdout: '', detail: describeEnd(command, result, timeoutMs) };
  } catch (error) {
    return { ok: false, stdout: '', detail: (error as Error).message };
  }
}

/** The end of a command's output, marked as cut when it was. */
export function tail(text: string, bytes = 4_000): string {
  return text.length > bytes ? `…${text.slice(-bytes)}` : text;
}

export interface OutcomeOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  tailBytes?: number;
}

/** Runs a command to its end for a sandbox check: exit code, time, whether it timed out, and its output's tail. */
export async function runToOutcome(command: string, args: readonly string[], options: OutcomeOptions) {
  const started = Date.now();
  const result = await runCommand(
    { command, args, cwd: options.cwd, env: options.env ?? process.env, timeoutMs: options.timeoutMs, interleaved: true, killSignal: 'SIGKILL' },
    options.signal,
  );
  return {
    exitCode: result.timedOut ? null : (result.exitCode ?? null),
    timedOut: result.timedOut,
    durationMs: Date.now() - started,
    outputTail: tail(textOf(result.all ?? Buffer.alloc(0)), options.tailBytes),
  };
}
