// A process started by the command helper (a `claude` agent), shaped like the ChildProcess the Agent SDK expects: its pipes arrive from the helper, its exit and signals go through it.
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';

/** How long an exit waits for the rest of stdout, which comes on its own pipe, before it is told. */
const STDOUT_DRAIN_MS = 2_000;

export class HelperProcess extends EventEmitter {
  /** Writes made before the pipe arrives wait in here. */
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  pid: number | undefined;
  killed = false;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  #ended = false;
  readonly #signal: (signal: NodeJS.Signals) => void;

  constructor(signal: (signal: NodeJS.Signals) => void) {
    super();
    this.#signal = signal;
    // Nothing the SDK does with a dead process's pipes may crash the orchestrator.
    for (const stream of [this.stdin, this.stdout, this.stderr]) stream.on('error', () => undefined);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.#ended) return false;
    this.killed = true;
    this.#signal(signal);
    return true;
  }

  /** The helper sent one of the process's pipes. */
  attach(stream: 'stdin' | 'stdout' | 'stderr', pipe: Readable & Writable, pid: number): void {
    const first = this.pid === undefined;
    this.pid = pid;
    if (first) this.emit('spawn', pid);
    pipe.on('error', () => undefined);
    if (stream === 'stdin') this.stdin.pipe(pipe);
    else pipe.pipe(this[stream]);
  }

  /** The process exited: told once stdout has ended (or after a grace), as a ChildProcess's 'close' would. */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.exitCode = code;
    this.signalCode = signal;
    const tell = (): void => {
      clearTimeout(grace);
      this.stdin.end();
      this.emit('exit', code, signal);
    };
    const grace = setTimeout(tell, STDOUT_DRAIN_MS);
    if (this.stdout.readableEnded) tell();
    else this.stdout.once('end', tell);
  }

  /** It never started, or the helper carrying it died. */
  failed(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    if (!this.#ended) {
      this.stdout.end();
      this.stderr.end();
      this.exited(null, 'SIGKILL');
    }
  }
}
