// The orchestrator's command helper (see helper-connection.ts): starts the commands and processes it is sent; for a command it sends back
// how it ended and its output, for a process (claude) the process's stdio pipes themselves, then its exit.
// Plain JavaScript run by node alone (no loader, no dependencies) so that it stays small: forking is what it is for.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';

const KILL_AFTER_MS = 2_000;
/** The orchestrator's priority, which this helper started with: an agent's niceness is counted from it. */
const BASE_PRIORITY = os.getPriority();
/**
 * How much nicer than the orchestrator its commands (git, du, chown, cp, docker) run: when they compete with it
 * for a core, the API is answered first (bench §9, 30 s windows alternating: 40 and 50 answers over 10 ms at 5,
 * 60 and 73 at 0). A process inherits the priority of the thread that forks it, and this one forks them all.
 */
const COMMAND_NICENESS = 5;
try {
  os.setPriority(Math.min(19, BASE_PRIORITY + COMMAND_NICENESS));
} catch {
  // Not allowed here: commands run at the orchestrator's priority.
}
/**
 * util-linux's chrt, when it can put a process under SCHED_IDLE here, checked once at start: lowering one's own policy
 * needs no privilege, but a seccomp profile could refuse the call, and then a process asked to run idle runs niced only.
 */
const CHRT = ['/usr/bin/chrt', '/bin/chrt'].find((candidate) => existsSync(candidate));
const IDLE_POLICY = CHRT !== undefined && /SCHED_IDLE/.test(spawnSync(CHRT, ['--idle', '0', CHRT, '--pid', '0'], { encoding: 'utf8' }).stdout ?? '');
const jobs = new Map();
const processes = new Map();

// What the orchestrator reports in /diagnostics: sent before any answer, so it has arrived by the first command's result.
process.send({ type: 'capabilities', idlePolicy: IDLE_POLICY });

process.on('message', (message) => {
  if (message.type === 'run') run(message);
  else if (message.type === 'cancel') stop(jobs.get(message.id), 'canceled');
  else if (message.type === 'spawn') startProcess(message);
  else if (message.type === 'signal') processes.get(message.id)?.kill(message.signal);
});

// The orchestrator is gone (it exited, or was killed): so is everything it asked for.
process.on('disconnect', () => {
  for (const job of jobs.values()) job.child.kill('SIGKILL');
  for (const child of processes.values()) child.kill('SIGKILL');
  process.exit(0);
});

function stop(job, reason) {
  if (!job || job.reason) return;
  job.reason = reason;
  job.child.kill(job.killSignal);
  setTimeout(() => job.child.kill('SIGKILL'), KILL_AFTER_MS).unref();
}

function run(request) {
  const job = { id: request.id, child: undefined, reason: undefined, killSignal: request.killSignal ?? 'SIGTERM', stdout: [], stderr: [], all: request.interleaved ? [] : undefined, bytes: 0, failure: undefined, done: false };
  try {
    job.child = spawn(request.command, request.args, { cwd: request.cwd, env: request.env, stdio: [request.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
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
    type: 'result',
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

function startProcess(request) {
  let child;
  try {
    // chrt sets the policy and execs the command in the same process, so its threads and children inherit it.
    const [command, args] = request.idle && IDLE_POLICY ? [CHRT, ['--idle', '0', request.command, ...request.args]] : [request.command, request.args];
    child = spawn(command, args, { cwd: request.cwd, env: request.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    process.send({ type: 'spawn-failed', id: request.id, message: error.message });
    return;
  }
  if (child.pid === undefined) {
    child.on('error', (error) => process.send({ type: 'spawn-failed', id: request.id, message: error.message }));
    return;
  }
  // Before the process starts its threads, which inherit it (a thread's priority is its own).
  try {
    if (request.niceness) os.setPriority(child.pid, Math.min(19, BASE_PRIORITY + request.niceness));
  } catch {
    // Already gone: its exit follows.
  }
  processes.set(request.id, child);
  // Node's pipe sockets start reading as they are made; what this helper read would be lost to the
  // orchestrator, so reading stops now, before the event loop can run a read.
  for (const stream of [child.stdout, child.stderr]) {
    stream._handle.reading = false;
    stream._handle.readStop();
  }
  // The pipes themselves go to the orchestrator; this helper keeps no copy (keepOpen: false).
  for (const stream of ['stdin', 'stdout', 'stderr']) {
    process.send({ type: 'pipe', id: request.id, pid: child.pid, stream }, child[stream], { keepOpen: false }, () => undefined);
  }
  child.on('error', (error) => process.send({ type: 'process-error', id: request.id, message: error.message }));
  child.on('exit', (code, signal) => {
    processes.delete(request.id);
    process.send({ type: 'exit', id: request.id, code, signal });
  });
}
