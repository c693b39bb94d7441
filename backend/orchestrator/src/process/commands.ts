// Runs the orchestrator's short-lived commands (git, du, chown, cp, docker) from a small helper process that forks them, instead of forking the orchestrator itself.
//
// Why: fork copies the parent's page tables and exec tears them down, while the parent's event loop waits.
// On the 2-core VMs we measure on that costs ~0.1 ms per MB the parent holds: 10–25 ms per command for an
// orchestrator of 150–250 MB, and the git commands of ten agents' imports, started together, held the
// API's p99 at 30–40 ms (bench §9; a CPU profile had ChildProcess.spawn in every long task). The helper
// (~45 MB, command-helper.mjs) forks in ~1.5 ms, and the orchestrator only exchanges messages with it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export interface CommandRequest {
  command: string;
  args: readonly string[];
  /** The helper's own (the orchestrator's at start) when not given. */
  cwd?: string | undefined;
  /** The whole environment of the command: nothing is inherited. */
  env: Record<string, string | undefined>;
  input?: string | Uint8Array | undefined;
  timeoutMs: number;
  /** stdout and stderr together; more kills the command. */
  maxBufferBytes?: number;
  /** Also collect stdout and stderr interleaved, as they came. */
  interleaved?: boolean;
  /** The first signal on timeout or cancel (SIGKILL follows 2 s later). */
  killSignal?: 'SIGTERM' | 'SIGKILL';
}

const ResultSchema = z.object({
  id: z.number(),
  exitCode: z.number().optional(),
  signal: z.string().optional(),
  stdout: z.instanceof(Uint8Array),
  stderr: z.instanceof(Uint8Array),
  all: z.instanceof(Uint8Array).optional(),
  timedOut: z.boolean(),
  canceled: z.boolean(),
  /** Why it could not start (ENOENT, EACCES) or was cut (output over the limit). */
  failure: z.string().optional(),
});

export type CommandResult = Omit<z.infer<typeof ResultSchema>, 'id' | 'stdout' | 'stderr' | 'all'> & { stdout: Buffer; stderr: Buffer; all?: Buffer | undefined };

const HELPER = fileURLToPath(new URL('./command-helper.mjs', import.meta.url));
const DEFAULT_MAX_BUFFER_BYTES = 100 * 1024 * 1024;

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

interface Pending {
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
}

class CommandHelper {
  #child: ChildProcess | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  run(request: CommandRequest, signal?: AbortSignal): Promise<CommandResult> {
    const child = this.#started();
    const id = this.#nextId++;
    return new Promise<CommandResult>((resolve, reject) => {
      const cancel = (): void => void child.send({ type: 'cancel', id }, () => undefined);
      const settle = (): void => {
        signal?.removeEventListener('abort', cancel);
        this.#pending.delete(id);
        this.#reference();
      };
      this.#pending.set(id, {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.#reference();
      child.send(
        {
          type: 'run',
          id,
          command: request.command,
          args: [...request.args],
          cwd: request.cwd,
          env: Object.fromEntries(Object.entries(request.env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
          input: request.input,
          timeoutMs: request.timeoutMs,
          maxBufferBytes: request.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
          interleaved: request.interleaved ?? false,
          killSignal: request.killSignal,
        },
        (error) => {
          if (error) this.#pending.get(id)?.reject(new Error(`could not hand ${request.command} to the command helper: ${error.message}`, { cause: error }));
        },
      );
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Ends the helper; it kills whatever it still runs. */
  close(): void {
    const child = this.#child;
    this.#child = undefined;
    if (child?.connected) child.disconnect();
  }

  #started(): ChildProcess {
    if (this.#child) return this.#child;
    // No loader flags (tsx) and no environment beyond PATH: every command gets its own environment.
    const child = fork(HELPER, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    child.on('message', (message) => {
      const parsed = ResultSchema.safeParse(message);
      if (!parsed.success) return;
      const { id, stdout, stderr, all, ...rest } = parsed.data;
      this.#pending.get(id)?.resolve({ ...rest, stdout: asBuffer(stdout), stderr: asBuffer(stderr), all: all ? asBuffer(all) : undefined });
    });
    child.on('error', () => undefined);
    child.once('exit', (code, exitSignal) => {
      if (this.#child === child) this.#child = undefined;
      // Whatever it ran died with it: those callers get an error, the next command a new helper.
      const error = new Error(`the command helper exited (${exitSignal ?? `code ${code}`}) while commands ran`);
      for (const pending of [...this.#pending.values()]) pending.reject(error);
    });
    this.#child = child;
    return child;
  }

  /** Holds the orchestrator's event loop open only while commands run, so an idle process (a test) can exit. */
  #reference(): void {
    const child = this.#child;
    if (!child) return;
    const busy = this.#pending.size > 0;
    if (busy) child.ref();
    else child.unref();
    const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (busy) channel?.ref?.();
    else channel?.unref?.();
  }
}

const helper = new CommandHelper();

/** Runs a command to its end; never throws for the command's own failure (see exitCode, failure). */
export function runCommand(request: CommandRequest, signal?: AbortSignal): Promise<CommandResult> {
  return helper.run(request, signal);
}

/** Stops the helper (the orchestrator's shutdown); a later command starts a new one. */
export function closeCommandHelper(): void {
  helper.close();
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
