// Builds the process logger: stdout at LOG_LEVEL, plus size-rotated LOG_DIR/orchestrator.log (debug and up) and orchestrator-errors.log (error and up).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { baseLoggerOptions, stdoutDestination } from '../logger.ts';

export const MAIN_LOG_FILE = 'orchestrator.log';
export const ERROR_LOG_FILE = 'orchestrator-errors.log';

export interface FileLoggingOptions {
  logDirectory: string;
  /** The stdout level (LOG_LEVEL); the files always get debug and error. */
  level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** A file is rotated when it reaches this many bytes. */
  maxSizeBytes: number;
  /** Rotated files kept per log (`orchestrator.log.1` … `.N`); older ones are deleted. */
  maxFiles: number;
  secrets?: ReadonlyArray<string | undefined>;
  /** Replaces stdout (tests). */
  stdout?: DestinationStream;
}

export interface FileLogging {
  logger: Logger;
  /** Absolute paths of the two live files, or undefined when LOG_DIR could not be used. */
  files: { main: string; errors: string } | undefined;
  /** Why file logging is off, when it is. */
  fileError: string | undefined;
  /** Writes out everything buffered and closes the files; the logger only reaches stdout afterwards. */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 5_000;

/** Where pino's worker thread loads the files' writer from (plain JavaScript, beside this module). */
const FILES_TARGET = new URL('./rotating-file-transport.mjs', import.meta.url).href;

/**
 * Both files through one pino transport: a worker thread writes them, so the event loop only hands each line over.
 * Lines logged before the worker is up wait in its buffer; pino flushes it when the process exits.
 */
function filesTransport(options: FileLoggingOptions): Writable {
  const target = {
    target: FILES_TARGET,
    options: {
      directory: options.logDirectory,
      mainName: MAIN_LOG_FILE,
      errorsName: ERROR_LOG_FILE,
      maxSizeBytes: options.maxSizeBytes,
      maxFiles: options.maxFiles,
    },
  };
  return pino.transport(target) as unknown as Writable;
}

/** Ends the transport and waits for its worker to write out what it holds and close the files. */
function endStream(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stream.once('error', done);
    stream.once('close', done);
    const worker = stream as unknown as { ref(): void; ready: boolean };
    const end = (): void => {
      // pino unreferences the worker once it is ready, which would let the process (a test's) end before the files
      // are closed; and a transport ended before its worker is up never closes (thread-stream 4.2): hence the order.
      worker.ref();
      stream.end();
    };
    if (worker.ready) end();
    else stream.once('ready', end);
  });
}

export async function createFileLogging(options: FileLoggingOptions): Promise<FileLogging> {
  const stdout = options.stdout ?? stdoutDestination();
  const streams: StreamEntry[] = [{ level: options.level, stream: stdout }];
  const files: Writable[] = [];
  let fileError: string | undefined;

  try {
    await mkdir(options.logDirectory, { recursive: true });
    const transport = filesTransport(options);
    // The worker reports the files' own errors (a full disk) on stderr once; this is the worker itself failing.
    transport.on('error', (error: Error) => process.stderr.write(`orchestrator: log file writer failed: ${error.message}\n`));
    files.push(transport);
    streams.push({ level: 'debug', stream: transport as unknown as DestinationStream });
  } catch (error) {
    // Logs on stdout are still worth more than no orchestrator; /diagnostics and this line say why.
    fileError = `cannot write logs to ${options.logDirectory}: ${(error as Error).message}`;
  }

  // The logger's own level is the lowest of its destinations; multistream filters per destination.
  const level = files.length > 0 ? 'debug' : options.level;
  const multistream = pino.multistream(streams);
  const logger = pino(baseLoggerOptions(level, options.secrets), multistream);
  if (fileError) logger.error({ log_dir: options.logDirectory }, `file logging disabled: ${fileError}`);

  let closing: Promise<void> | undefined;
  return {
    logger,
    files:
      files.length > 0
        ? { main: path.join(options.logDirectory, MAIN_LOG_FILE), errors: path.join(options.logDirectory, ERROR_LOG_FILE) }
        : undefined,
    fileError,
    close: () => {
      closing ??= (async () => {
        // Detached first: a line logged after close goes to stdout rather than to an ended file.
        const entries = (multistream as unknown as { streams: Array<{ id: number; stream: unknown }> }).streams;
        for (const entry of entries.filter((item) => files.includes(item.stream as Writable))) multistream.remove(entry.id);
        await Promise.all(files.map(endStream));
        const flushable = stdout as { flushSync?: () => void };
        try {
          flushable.flushSync?.();
        } catch {
          // stdout may already be closed (a pipe whose reader went away); nothing left to save.
        }
      })();
      return closing;
    },
  };
}
