// The orchestrator's command helper (see commands.ts): starts the commands it is sent and sends back how they ended, with their output.
// Plain JavaScript run by node alone (no loader, no dependencies) so that it stays small: forking is what it is for.
import { spawn } from 'node:child_process';

const KILL_AFTER_MS = 2_000;
const jobs = new Map();

process.on('message', (message) => {
  if (message.type === 'run') start(message);
  else if (message.type === 'cancel') stop(jobs.get(message.id), 'canceled');
});

// The orchestrator is gone (it exited, or was killed): so are the commands it asked for.
process.on('disconnect', () => {
  for (const job of jobs.values()) job.child.kill('SIGKILL');
  process.exit(0);
});

function stop(job, reason) {
  if (!job || job.reason) return;
  job.reason = reason;
  job.child.kill(job.killSignal);
  setTimeout(() => job.child.kill('SIGKILL'), KILL_AFTER_MS).unref();
}

function start(request) {
  const job = { id: request.id, child: undefined, reason: undefined, killSignal: request.killSignal ?? 'SIGTERM', stdout: [], stderr: [], all: request.interleaved ? [] : undefined, bytes: 0, failure: undefined, done: false };
  try {
    job.child = spawn(request.command, request.args, {
      cwd: request.cwd,
      env: request.env,
      stdio: [request.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    finish(job, null, null, error.message);
    return;
  }
  jobs.set(request.id, job);
  const limit = request.maxBufferBytes;
  const collect = (into) => (chunk) => {
    job.bytes += chunk.length;
    if (job.bytes > limit) {
      job.failure ??= `its output went over ${limit} bytes`;
      stop(job, 'output');
      return;
    }
    into.push(chunk);
    job.all?.push(chunk);
  };
  job.child.stdout.on('data', collect(job.stdout));
  job.child.stderr.on('data', collect(job.stderr));
  const timer = setTimeout(() => stop(job, 'timeout'), request.timeoutMs);
  job.child.on('error', (error) => {
    job.failure ??= error.message;
    // It never started: no 'close' is owed.
    if (job.child.pid === undefined) {
      clearTimeout(timer);
      finish(job, null, null);
    }
  });
  job.child.on('close', (code, signal) => {
    clearTimeout(timer);
    finish(job, code, signal);
  });
  if (job.child.stdin) {
    job.child.stdin.on('error', () => undefined);
    job.child.stdin.end(request.input);
  }
}

function finish(job, code, signal, failure) {
  if (job.done) return;
  job.done = true;
  jobs.delete(job.id);
  process.send({
    id: job.id,
    exitCode: typeof code === 'number' && code >= 0 ? code : undefined,
    signal: signal ?? undefined,
    stdout: Buffer.concat(job.stdout),
    stderr: Buffer.concat(job.stderr),
    all: job.all ? Buffer.concat(job.all) : undefined,
    timedOut: job.reason === 'timeout',
    canceled: job.reason === 'canceled',
    failure: failure ?? job.failure,
  });
}
