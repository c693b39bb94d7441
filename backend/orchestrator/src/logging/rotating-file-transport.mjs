// A pino transport, run in pino's worker thread: every line to `orchestrator.log`, error and up also to `orchestrator-errors.log`, both size-rotated (`.1` … `.N`, as logrotate names them).
// Plain JavaScript (like process/command-helper.mjs) so that pino's worker loads it without a TypeScript loader.
import { Writable } from 'node:stream';
import { createStream } from 'rotating-file-stream';

/** pino's numeric level of `error`; every line starts with `{"level":N` (the logger sets no level formatter). */
const ERROR_LEVEL = 50;
const LEVEL_PREFIX = /^\{"level":(\d+)/;

/**
 * Writing the files here rather than on the orchestrator's event loop matters: rotating-file-stream awaits one
 * `FileHandle.write` per line, and at a hundred access-log lines a second that was a fifth of the main thread's
 * busy time in a CPU profile of the bench's API window. One target that routes lines by their level prefix, rather
 * than pino's targets with levels, which would parse every line as JSON in the worker to do the same.
 * @param {{ directory: string, mainName: string, errorsName: string, maxSizeBytes: number, maxFiles: number }} options
 */
export default function logFilesTransport({ directory, mainName, errorsName, maxSizeBytes, maxFiles }) {
  let reported = false;
  // An unhandled 'error' would end the worker, and every later line with it, over a full disk: say it once on stderr.
  const report = (error) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`orchestrator: log file error in ${directory}: ${error.message}\n`);
  };
  const open = (name) => {
    // With `rotate`, the library passes only the index (null for the live file), despite its Generator type.
    const file = createStream((index) => (typeof index === 'number' && index > 0 ? `${name}.${index}` : name), {
      path: directory,
      size: `${maxSizeBytes}B`,
      rotate: maxFiles,
    });
    file.on('error', report);
    file.on('warning', report);
    return file;
  };
  const main = open(mainName);
  const errors = open(errorsName);
  const ended = (file) => new Promise((resolve) => (file.destroyed ? resolve() : (file.once('close', resolve), file.end())));
  // The worker hands over whatever its buffer holds: several lines, or a line's first part. Each line goes to the
  // files on its own, so that a rotation falls between lines and a file ends at most one line past its size.
  let partial = '';
  const isError = (line) => Number(LEVEL_PREFIX.exec(line)?.[1] ?? 0) >= ERROR_LEVEL;
  return new Writable({
    decodeStrings: false,
    write(chunk, _encoding, callback) {
      const lines = (partial + String(chunk)).split(/(?<=\n)/);
      partial = lines.at(-1).endsWith('\n') ? '' : lines.pop();
      let index = 0;
      const writeSome = () => {
        while (index < lines.length) {
          const line = lines[index++];
          if (isError(line) && !errors.destroyed) errors.write(line);
          // Backpressure from the main file only: it gets every line, so it is the one that can fall behind.
          if (!main.destroyed && !main.write(line)) return void main.once('drain', writeSome);
        }
        callback();
      };
      writeSome();
    },
    final(callback) {
      if (partial) main.write(partial);
      Promise.all([ended(main), ended(errors)]).then(() => callback());
    },
  });
}
