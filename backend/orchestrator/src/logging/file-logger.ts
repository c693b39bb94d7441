// Builds the process logger: stdout at LOG_LEVEL, plus size-rotated LOG_DIR/orchestrator.log (debug and up) and orchestrator-errors.log (error and up).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
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

/** `orchestrator.log` → `orchestrator.log.1`, `.2`, … as logrotate names them, so `tail -F` keeps following the live file. */
function rotatingFile(directory: string, name: string, options: FileLoggingOptions, onError: (error: Error) => void): RotatingFileStream {
  // With `rotate`, the library passes only the index (null for the live file), despite its Generator type.
  const stream = createStream((index: number | Date) => (typeof index === 'number' && index > 0 ? `${name}.${index}` : name), {
    path: directory,
    size: `${options.maxSizeBytes}B`,
    rotate: options.maxFiles,
  });
  // An unhandled 'error' would crash the orchestrator over a full disk; say it once on stderr instead.
  stream.on('error', onError);
  stream.on('warning', onError);
  return stream;
}

function endStream(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stream.once('error', done);
    stream.end(done);
  });
}

export async function createFileLogging(options: FileLoggingOptions): Promise<FileLogging> {
  const stdout = options.stdout ?? stdoutDestination();
  const streams: StreamEntry[] = [{ level: options.level, stream: stdout }];
  const files: Writable[] = [];
  let fileError: string | undefined;
  let reported = false;
  const onFileError = (error: Error): void => {
    if (reported) return;
    reported = true;
    process.stderr.write(`orchestrator: log file error in ${options.logDirectory}: ${error.message}\n`);
  };

  try {
    await mkdir(options.logDirectory, { recursive: true });
    const main = rotatingFile(options.logDirectory, MAIN_LOG_FILE, options, onFileError);
    const errors = rotatingFile(options.logDirectory, ERROR_LOG_FILE, options, onFileError);
    files.push(main, errors);
    streams.push({ level: 'debug', stream: main }, { level: 'error', stream: errors });
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
