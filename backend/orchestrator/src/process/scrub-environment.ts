// Blanks secrets in this process's own environment block, so /proc/<orchestrator pid>/environ (readable by every process of the same user, an agent's tools in the local runtime among them) no longer shows them once the configuration has read them.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/** Variables that hold credentials: read once by the configuration, then blanked. */
export const SECRET_VARIABLES = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ORCHESTRATOR_TOKEN'] as const;

export interface ScrubResult {
  /** Variables whose values were overwritten. */
  scrubbed: string[];
  /** Why nothing could be overwritten (no /proc, a kernel that refuses writes to /proc/self/mem). */
  error?: string;
}

/** Where the kernel keeps the initial environment: fields 50 and 51 of /proc/self/stat (Linux 3.5+). */
function environmentBounds(): { start: number; end: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) throw new Error('no environment bounds in /proc/self/stat');
  return { start, end };
}

/**
 * Overwrites the values of `names` in the environment block with `*`, in place through /proc/self/mem,
 * and removes them from process.env so no child inherits them; call it after the configuration has been
 * read. Never throws.
 */
export function scrubOwnEnvironment(names: readonly string[] = SECRET_VARIABLES): ScrubResult {
  const scrubbed: string[] = [];
  let descriptor: number | undefined;
  try {
    const { start, end } = environmentBounds();
    const block = Buffer.alloc(end - start);
    descriptor = openSync('/proc/self/mem', 'r+');
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
    for (const name of names) delete process.env[name];
  }
}
