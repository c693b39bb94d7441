// The orchestrator's side of its command helper (command-helper.mjs): one small child process that forks the orchestrator's commands and agent processes, reached by messages.
//
// Why: fork copies the parent's page tables and exec tears them down, while the parent's event loop waits.
// On the 2-core VMs we measure on that costs ~0.1 ms per MB the parent holds: 10–25 ms per process for an
// orchestrator of 150–250 MB, and the git commands of ten agents' imports and the agents' own start-ups
// held the API's p99 at 30–40 ms (bench §9; a CPU profile had ChildProcess.spawn in every long task). The
// helper (~45 MB) forks in ~1.5 ms; the orchestrator only exchanges messages (and pipes) with it.
import { fork, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { HelperProcess } from './helper-process.ts';

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

export interface ProcessRequest {
  command: string;
  args: readonly string[];
  cwd?: string | undefined;
  env: Record<string, string | undefined>;
  /** How much nicer than the orchestrator it runs, set before it starts its threads. */
  niceness?: number;
  /** Under Linux's SCHED_IDLE policy, where this machine allows it (the helper checks once), set before it execs. */
  idle?: boolean;
}

const bytes = z.instanceof(Uint8Array);
const ResultMessage = z.object({
  type: z.literal('result'),
  id: z.number(),
  exitCode: z.number().optional(),
  signal: z.string().optional(),
  stdout: bytes,
  stderr: bytes,
  all: bytes.optional(),
  timedOut: z.boolean(),
  canceled: z.boolean(),
  /** Why it could not start (ENOENT, EACCES) or was cut (output over the limit). */
  failure: z.string().optional(),
});
const HelperMessage = z.discriminatedUnion('type', [
  ResultMessage,
  z.object({ type: z.literal('pipe'), id: z.number(), pid: z.number(), stream: z.enum(['stdin', 'stdout', 'stderr']) }),
  z.object({ type: z.literal('exit'), id: z.number(), code: z.number().nullable(), signal: z.string().nullable() }),
  z.object({ type: z.literal('spawn-failed'), id: z.number(), message: z.string() }),
  z.object({ type: z.literal('process-error'), id: z.number(), message: z.string() }),
  z.object({ type: z.literal('capabilities'), idlePolicy: z.boolean() }),
]);

export type CommandResult = Omit<z.infer<typeof ResultMessage>, 'type' | 'id' | 'stdout' | 'stderr' | 'all'> & { stdout: Buffer; stderr: Buffer; all?: Buffer | undefined };

const HELPER = fileURLToPath(new URL('./command-helper.mjs', import.meta.url));
const DEFAULT_MAX_BUFFER_BYTES = 100 * 1024 * 1024;

const asBuffer = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
const definedOnly = (environment: Record<string, string | undefined>) => Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined));

/** Sends a command or process to the helper; `onFailure` hears, in words, when the message could not go. */
function handOver(child: ChildProcess, message: { command: string }, onFailure: (error: Error) => void): void {
  child.send(message, (error) => {
    if (error) onFailure(new Error(`could not hand ${message.command} to the command helper: ${error.message}`, { cause: error }));
  });
}

interface PendingCommand {
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
}

export class HelperConnection {
  #child: ChildProcess | undefined;
  readonly #commands = new Map<number, PendingCommand>();
  readonly #processes = new Map<number, HelperProcess>();
  #nextId = 1;
  #idlePolicy: boolean | undefined;

  /** Whether processes asked to run `idle` do run under SCHED_IDLE here; unknown until a helper has started and said. */
  get idlePolicy(): boolean | undefined {
    return this.#idlePolicy;
  }

  run(request: CommandRequest, signal?: AbortSignal): Promise<CommandResult> {
    const child = this.#started();
    const id = this.#nextId++;
    return new Promise<CommandResult>((resolve, reject) => {
      const cancel = (): void => void child.send({ type: 'cancel', id }, () => undefined);
      const settle = (): void => {
        signal?.removeEventListener('abort', cancel);
        this.#commands.delete(id);
        this.#reference();
      };
      this.#commands.set(id, {
        resolve: (result) => (settle(), resolve(result)),
        reject: (error) => (settle(), reject(error)),
      });
      this.#reference();
      const message = {
        type: 'run',
        id,
        command: request.command,
        args: [...request.args],
        cwd: request.cwd,
        env: definedOnly(request.env),
        input: request.input,
        timeoutMs: request.timeoutMs,
        maxBufferBytes: request.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
        interleaved: request.interleaved ?? false,
        killSignal: request.killSignal,
      };
      handOver(child, message, (error) => this.#commands.get(id)?.reject(error));
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Starts a long-lived process whose stdio the caller holds (returned at once; its pipes follow). */
  spawn(request: ProcessRequest): HelperProcess {
    const child = this.#started();
    const id = this.#nextId++;
    const started = new HelperProcess((signal) => void child.send({ type: 'signal', id, signal }, () => undefined));
    this.#processes.set(id, started);
    started.once('exit', () => {
      this.#processes.delete(id);
      this.#reference();
    });
    this.#reference();
    const message = { type: 'spawn', id, command: request.command, args: [...request.args], cwd: request.cwd, env: definedOnly(request.env), niceness: request.niceness ?? 0, idle: request.idle ?? false };
    handOver(child, message, (error) => started.failed(error));
    return started;
  }

  /** Ends the helper; it kills whatever it still runs. */
  close(): void {
    const child = this.#child;
    this.#child = undefined;
    if (child?.connected) child.disconnect();
  }

  #started(): ChildProcess {
    if (this.#child) return this.#child;
    // No loader flags (tsx) and no environment beyond PATH: every command and process gets its own.
    const child = fork(HELPER, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    child.on('message', (raw, handle) => this.#received(raw, handle));
    child.on('error', () => undefined);
    child.once('exit', (code, exitSignal) => {
      if (this.#child === child) this.#child = undefined;
      // Whatever it ran died with it: those callers get an error, the next command a new helper.
      const error = new Error(`the command helper exited (${exitSignal ?? `code ${code}`}) while commands ran`);
      for (const pending of [...this.#commands.values()]) pending.reject(error);
      for (const started of [...this.#processes.values()]) started.failed(error);
    });
    this.#child = child;
    return child;
  }

  #received(raw: unknown, handle: unknown): void {
    const parsed = HelperMessage.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'result') {
      const { type: _type, id, stdout, stderr, all, ...rest } = message;
      this.#commands.get(id)?.resolve({ ...rest, stdout: asBuffer(stdout), stderr: asBuffer(stderr), all: all ? asBuffer(all) : undefined });
      return;
    }
    if (message.type === 'capabilities') {
      this.#idlePolicy = message.idlePolicy;
      return;
    }
    const started = this.#processes.get(message.id);
    if (!started) return;
    if (message.type === 'pipe') {
      if (handle) started.attach(message.stream, handle as Readable & Writable, message.pid);
      else started.failed(new Error(`the command helper could not pass ${message.stream} of process ${message.pid}`));
    }
    else if (message.type === 'exit') started.exited(message.code, message.signal as NodeJS.Signals | null);
    else started.failed(new Error(message.message));
  }

  /** Holds the orchestrator's event loop open only while something runs, so an idle process (a test) can exit. */
  #reference(): void {
    const child = this.#child;
    if (!child) return;
    const busy = this.#commands.size > 0 || this.#processes.size > 0;
    if (busy) child.ref();
    else child.unref();
    const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (busy) channel?.ref?.();
    else channel?.unref?.();
  }
}
