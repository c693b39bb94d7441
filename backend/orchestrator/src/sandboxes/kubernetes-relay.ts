// Holds the stream to an agent's pod: a private unix socket that the SDK's MCP bridge connects to, each connection relayed to `claude mcp serve` exec'd in the pod.
//
// Why a relay in this process rather than a client in the bridge: the stream then belongs to the
// orchestrator (it sees the exec's exit status: a SIGKILL there is most often the memory limit), and the
// process Claude Code spawns needs no Kubernetes credentials at all: only the socket's path, in a 0700
// directory of this process's.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { V1Status } from '@kubernetes/client-node';

/** Runs a command in the pod with the given streams; resolves with a function that closes the connection. */
export type PodExec = (
  command: string[],
  streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: NodeJS.ReadableStream | null },
  onStatus: (status: V1Status) => void,
) => Promise<{ close(): void; onClose(listener: () => void): void }>;

/** The stdio MCP server command Claude Code spawns: node running the bridge, given the socket. */
export const BRIDGE_SCRIPT = fileURLToPath(new URL('./kubernetes-bridge.mjs', import.meta.url));

/** The exit code of an exec from its final status (0 on Success; undefined when the stream broke without one). */
export function exitCodeOf(status: V1Status | undefined): number | undefined {
  if (!status) return undefined;
  if (status.status === 'Success') return 0;
  const code = status.details?.causes?.find((cause) => cause.reason === 'ExitCode')?.message;
  return code !== undefined && /^\d+$/.test(code) ? Number(code) : undefined;
}

/** Why an exec'd tool server ended abnormally, in the agent's error's words; undefined for a normal end. */
export function describeExecEnd(status: V1Status | undefined, memory: string): string | undefined {
  const code = exitCodeOf(status);
  if (code === 0) return undefined;
  if (code === 137) return `the sandbox's tool server was killed (SIGKILL), most likely by the memory limit (${memory}; SANDBOX_MEMORY raises it)`;
  if (code !== undefined) return `the sandbox's tool server exited with code ${code}`;
  if (status) return `the sandbox's tool server failed: ${status.message ?? status.reason ?? 'unknown reason'}`;
  return undefined;
}

export class McpRelay {
  readonly socketPath: string;
  readonly #directory: string;
  readonly #server: Server;
  readonly #exec: PodExec;
  readonly #logger: Logger;
  readonly #connections = new Set<{ socket: Socket; close(): void }>();
  /** Every accepted socket, relayed or not: close() destroys them all, or the server would wait for them forever. */
  readonly #sockets = new Set<Socket>();
  #onEnd: ((status: V1Status | undefined) => void) | undefined;
  #closed = false;

  private constructor(directory: string, exec: PodExec, logger: Logger) {
    this.#directory = directory;
    this.socketPath = path.join(directory, 'mcp.sock');
    this.#exec = exec;
    this.#logger = logger;
    // Half-open: when the bridge's input ends, the tool server still gets to answer before its stream closes.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => void this.#relay(socket));
  }

  /** Listens on a fresh socket in a private temporary directory. */
  static async open(exec: PodExec, logger: Logger): Promise<McpRelay> {
    // Short and private: unix socket paths are limited to ~107 bytes, and the directory is 0700.
    const directory = await mkdtemp(path.join(os.tmpdir(), 'mc-k8s-'));
    const relay = new McpRelay(directory, exec, logger);
    await new Promise<void>((resolve, reject) => {
      relay.#server.once('error', reject);
      relay.#server.listen(relay.socketPath, () => resolve());
    });
    return relay;
  }

  /** Called with each tool server's final status when it ends (undefined: the stream broke). */
  onEnd(listener: (status: V1Status | undefined) => void): void {
    this.#onEnd = listener;
  }

  async #relay(socket: Socket): Promise<void> {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    // stderr of the tool server goes to the log, never to the model.
    const stderr = new PassThrough();
    stderr.setEncoding('utf8');
    stderr.on('data', (text: string) => this.#logger.debug({ stderr: text.slice(0, 2_000) }, 'sandbox tool server stderr'));
    let status: V1Status | undefined;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      socket.end();
      this.#onEnd?.(status);
    };
    try {
      const connection = await this.#exec(['claude', 'mcp', 'serve'], { stdout: socket, stderr, stdin: socket }, (final) => (status = final));
      const entry = { socket, close: () => connection.close() };
      this.#connections.add(entry);
      connection.onClose(() => {
        this.#connections.delete(entry);
        end();
      });
      socket.on('close', () => connection.close());
      socket.on('error', () => connection.close());
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not start the tool server in the sandbox pod');
      status = { status: 'Failure', message: `could not exec into the sandbox pod: ${(error as Error).message}` };
      end();
    }
  }

  /** Stops listening, closes every stream (the tool servers see their stdin close) and removes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const connection of this.#connections) connection.close();
    for (const socket of this.#sockets) socket.destroy();
    // Bounded: a connection accepted while closing must not hold the agent's end.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      this.#server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await rm(this.#directory, { recursive: true, force: true });
  }
}
