// Preloaded into an orchestrator started for a command: when the command's process goes away, even killed with SIGKILL, the orchestrator shuts itself down as on SIGTERM.
import { Socket } from 'node:net';

/** The command keeps the other end of this pipe open for as long as it lives; the kernel closes it when the command dies. */
export const PARENT_PIPE_FD = 3;

const pipe = new Socket({ fd: PARENT_PIPE_FD, readable: true, writable: false });
const stop = (): void => {
  process.kill(process.pid, 'SIGTERM');
};
pipe.once('end', stop);
pipe.once('close', stop);
pipe.once('error', stop);
pipe.resume();
// The pipe must not keep the orchestrator alive on its own.
pipe.unref();
