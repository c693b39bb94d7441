// Blanks secrets in the environment block of this process and of the children it started before reading its configuration, so /proc/<pid>/environ (readable by every process of the same user, an agent's tools in the local runtime among them) no longer shows them.
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';

/** Variables that hold credentials: read once by the configuration, then blanked. */
export const SECRET_VARIABLES = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ORCHESTRATOR_TOKEN', 'GIT_HTTP_TOKEN'] as const;

export interface ScrubResult {
  /** Variables whose values were overwritten (with the pid, for a child's). */
  scrubbed: string[];
  /** Why nothing could be overwritten (no /proc, a kernel that refuses writes to /proc/self/mem). */
  error?: string;
}

/** The fields of /proc/<pid>/stat from field 3 on (the command name, field 2, may hold spaces). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
}

/** Where the kernel keeps a process's initial environment: fields 50 and 51 of its stat (Linux 3.5+). */
function environmentBounds(pid: number | 'self'): { start: number; end: number } {
  const fields = statFields(pid);
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) throw new Error(`no environment bounds in /proc/${pid}/stat`);
  return { start, end };
}

/** Processes whose parent is `parent`. */
function childProcessIds(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === parent) children.push(Number(entry));
    } catch {
      // gone
    }
  }
  return children;
}

function scrubInto(result: ScrubResult, pid: number, names: readonly string[]): void {
  const scrubbed = scrubEnvironment(pid, names);
  result.scrubbed.push(...scrubbed.scrubbed.map((name) => `${name} (pid ${pid})`));
  if (scrubbed.error && !result.error) result.error = `pid ${pid}: ${scrubbed.error}`;
}

/**
 * Overwrites the values of `names` with `*` in the environment block of this process and of its
 * children (the only processes it started before it could hide its secrets: tsx's esbuild service),
 * in place through /proc/<pid>/mem, and removes them from process.env so no later child inherits them;
 * call it once the configuration has been read. Never throws.
 */
export function scrubOwnEnvironment(names: readonly string[] = SECRET_VARIABLES): ScrubResult {
  const result = scrubEnvironment('self', names);
  for (const name of names) delete process.env[name];
  for (const child of childProcessIds(process.pid)) scrubInto(result, child, names);
  return result;
}

/**
 * The same for a child process that has read its configuration (it must not read these variables
 * again) and all its descendants; a parent may write its children's memory. Never throws.
 */
export function scrubProcessTree(pid: number, names: readonly string[] = SECRET_VARIABLES): ScrubResult {
  const result: ScrubResult = { scrubbed: [] };
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    scrubInto(result, next, names);
    pending.push(...childProcessIds(next));
  }
  return result;
}

function scrubEnvironment(pid: number | 'self', names: readonly string[]): ScrubResult {
  const scrubbed: string[] = [];
  let descriptor: number | undefined;
  try {
    const { start, end } = environmentBounds(pid);
    const block = Buffer.alloc(end - start);
    descriptor = openSync(`/proc/${pid}/mem`, 'r+');
    readSync(descriptor, block, 0, block.length, start);
    let offset = 0;
    while (offset < block.length) {
      const terminator = block.indexOf(0, offset);
      const entryEnd = terminator === -1 ? block.length : terminator;
      const entry = block.toString('latin1', offset, entryEnd);
      const separator = entry.indexOf('=');
      const name = separator > 0 ? entry.slice(0, separator) : '';
      if (names.includes(name) && entryEnd - offset > separator + 1) {
        const valueStart = offset + separator + 1;
        writeSync(descriptor, Buffer.alloc(entryEnd - valueStart, '*'), 0, entryEnd - valueStart, start + valueStart);
        scrubbed.push(name);
      }
      offset = entryEnd + 1;
    }
    return { scrubbed };
  } catch (error) {
    return { scrubbed, error: (error as Error).message };
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}
