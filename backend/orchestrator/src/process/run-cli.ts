// Runs a command-line tool (docker, git, claude) with a timeout and an AbortSignal, and answers with its words instead of throwing.
import { execa } from 'execa';

export interface CliResult {
  ok: boolean;
  stdout: string;
  /** stderr, or the spawn/timeout error when there is none. */
  detail: string;
}

/** Never throws: a failure is `ok: false` with the tool's own message. */
export async function runCli(command: string, args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CliResult> {
  try {
    const result = await execa(command, args, { timeout: timeoutMs, cancelSignal: signal, stdin: 'ignore' });
    return { ok: true, stdout: result.stdout, detail: result.stderr };
  } catch (error) {
    const failure = error as { stderr?: unknown; shortMessage?: unknown; message?: unknown };
    const stderr = typeof failure.stderr === 'string' ? failure.stderr.trim() : '';
    const message = typeof failure.shortMessage === 'string' ? failure.shortMessage : String(failure.message);
    return { ok: false, stdout: '', detail: stderr || message };
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
  const result = await execa(command, args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env, extendEnv: false } : {}),
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    stdin: 'ignore',
    all: true,
    reject: false,
    killSignal: 'SIGKILL',
    forceKillAfterDelay: 2_000,
  });
  return {
    exitCode: result.timedOut ? null : (result.exitCode ?? null),
    timedOut: Boolean(result.timedOut),
    durationMs: Date.now() - started,
    outputTail: tail(result.all ?? '', options.tailBytes),
  };
}
