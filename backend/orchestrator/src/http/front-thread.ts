// Serves the API from a thread of its own: /health and the state of the runs this process runs are answered there from a mirror kept current here, and every other request is passed to the app on this thread, so a busy main thread (a run's start, a major garbage collection) does not hold up the polls.
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { accessLogger, writeAccessLine, type AccessLine } from './access-log.ts';

/** What the front thread needs of the runs: which of them changed, and their state's JSON while it may answer for them. */
export interface LiveRuns {
  /** Calls the listener with a run's id on the turn its state may have changed; returns the unsubscribe. */
  onStateChange(listener: (runId: string) => void): () => void;
  /** The run's state as GET /runs/:id answers it, while the front thread may answer for it; undefined when the app must. */
  liveBody(runId: string): string | undefined;
}

export interface FrontThreadOptions {
  app: Hono;
  runs: LiveRuns;
  host: string;
  port: number;
  token?: string | undefined;
  logger: Logger;
  /** Called if the thread dies: the API is gone with it, so the process should end and be restarted. */
  onFailure: (error: Error) => void;
}

export interface FrontThread {
  /** The port it listens on (the configured one, or the one the system chose for 0). */
  port: number;
  /** Stops taking connections; answers under way finish. */
  close(): Promise<void>;
}

export class FrontThreadError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FrontThreadError';
    this.code = code;
  }
}

/** The app's answers carry the number of the mirror's last message sent before them; the front thread holds each until it has applied that one. */
const VERSION_HEADER = 'x-multiclaude-mirror-version';
const WORKER_URL = new URL('./front-thread-worker.mjs', import.meta.url);

type WorkerMessage =
  | { type: 'listening'; port: number }
  | { type: 'error'; code?: string; message: string }
  | { type: 'access'; lines: AccessLine[] }
  | { type: 'stopped' };

export async function startFrontThread(options: FrontThreadOptions): Promise<FrontThread> {
  const { logger } = options;
  const mirror = new StateMirror(options.runs);
  // The app listens on loopback only, for the front thread; it keeps its own auth, so reaching it directly grants nothing.
  // An HTTP/1 server: no `createServer` option is given.
  const appServer = createAdaptorServer({
    fetch: async (request: Request) => {
      const response = await options.app.fetch(request);
      // The app's own answers have mutable headers; kept as they are, a body's length still reaches the client.
      response.headers.set(VERSION_HEADER, String(mirror.flush()));
      return response;
    },
  }) as Server;
  appServer.setTimeout(0);
  appServer.requestTimeout = 0;
  appServer.listen(0, '127.0.0.1');
  await once(appServer, 'listening');

  const worker = new Worker(WORKER_URL, {
    // Not tsx: the worker is plain JavaScript, and its heap is to stay small.
    execArgv: [],
    workerData: {
      host: options.host,
      port: options.port,
      appPort: (appServer.address() as AddressInfo).port,
      tokenDigest: options.token ? createHash('sha256').update(options.token).digest() : null,
      versionHeader: VERSION_HEADER,
    },
  });
  mirror.attach((message) => worker.postMessage(message, message.type === 'state' ? [message.body.buffer] : []));
  const stopListening = options.runs.onStateChange((runId) => mirror.changed(runId));
  const access = accessLogger(logger);
  let listening = false;
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'access') for (const line of message.lines) writeAccessLine(access, line);
    // Its server's errors after the start (e.g. too many open files on accept); the start's own is thrown below.
    else if (message.type === 'error' && listening) logger.error({ code: message.code }, `the API front thread's server: ${message.message}`);
  });

  const started = await new Promise<WorkerMessage>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }).catch((error: unknown): WorkerMessage => ({ type: 'error', message: (error as Error).message }));
  if (started.type !== 'listening') {
    stopListening();
    appServer.close();
    await worker.terminate();
    const reason = started.type === 'error' ? started.message : `unexpected ${started.type}`;
    const code = started.type === 'error' && started.code === 'EADDRINUSE' ? 'address_in_use' : 'listen_failed';
    throw new FrontThreadError(code, `cannot listen on ${options.host}:${options.port}: ${reason}`);
  }
  listening = true;
  worker.on('error', (error) => {
    logger.fatal({ err: error }, 'the API front thread failed');
    options.onFailure(error);
  });

  return {
    port: started.port,
    async close() {
      stopListening();
      // Resolves once the thread has stopped listening (or has died); it ends by itself when its last answer is out.
      const stopped = new Promise<void>((resolve) => {
        const onMessage = (message: WorkerMessage): void => {
          if (message.type === 'stopped') resolve();
        };
        worker.on('message', onMessage);
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' });
      appServer.close();
      appServer.closeIdleConnections();
      await stopped;
      worker.unref();
    },
  };
}

type MirrorMessage = { type: 'state'; runId: string; body: Uint8Array<ArrayBuffer>; version: number } | { type: 'forget'; runId: string; version: number };

/**
 * The front thread's copy of the live runs' state, sent on the turn a run changed: the microtask runs after the
 * change's synchronous code, and before the event stream's writes of the same change reach the socket.
 */
class StateMirror {
  readonly #runs: LiveRuns;
  readonly #dirty = new Set<string>();
  readonly #encoder = new TextEncoder();
  /** Run ids the front thread holds, so a run it never held is not forgotten in a message. */
  readonly #held = new Set<string>();
  #post: ((message: MirrorMessage) => void) | undefined;
  #version = 0;
  #scheduled = false;

  constructor(runs: LiveRuns) {
    this.#runs = runs;
  }

  attach(post: (message: MirrorMessage) => void): void {
    this.#post = post;
  }

  changed(runId: string): void {
    this.#dirty.add(runId);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends what changed; returns the number of the last message sent. */
  flush(): number {
    this.#scheduled = false;
    if (!this.#post) return this.#version;
    for (const runId of this.#dirty) {
      const body = this.#runs.liveBody(runId);
      if (body !== undefined) {
        this.#held.add(runId);
        this.#post({ type: 'state', runId, body: this.#encoder.encode(body), version: ++this.#version });
      } else if (this.#held.delete(runId)) {
        this.#post({ type: 'forget', runId, version: ++this.#version });
      }
    }
    this.#dirty.clear();
    return this.#version;
  }
}
