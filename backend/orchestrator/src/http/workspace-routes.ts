// Lets an operator browse WORKSPACE_LOCAL over HTTP (GET /workspace, GET /workspace/<path>) with no way to reach anything outside it.
//
// Agents write whatever they like in their worktrees, symlinks included, and may change them while a
// request is served. So a path is (1) refused outright if any segment is empty, `.`, `..` or hides a
// slash, backslash or NUL after percent-decoding; (2) resolved with realpath and kept only if the result
// is the workspace or below it by path.relative (not a string prefix: `/workspace-evil` starts with
// `/workspace`); (3) opened without following a final symlink and non-blocking (a FIFO must not hang
// the request), and on Linux the opened descriptor's own path is checked again, which closes the race
// between the check and the open.
import { constants } from 'node:fs';
import { open, realpath, readdir, lstat, readlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Context, Hono } from 'hono';
import type { Logger } from 'pino';

export interface WorkspaceRoutesDependencies {
  workspaceLocal: string;
  logger: Logger;
  /** Larger files are refused with 413 rather than read. */
  maxFileBytes?: number;
  /** A directory listing stops here and says it was truncated. */
  maxEntries?: number;
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 5_000;
/** Git's own heuristic: a NUL in the first 8000 bytes makes a file binary. */
const BINARY_SNIFF_BYTES = 8_000;

export type Refusal = { ok: false; status: 400 | 403 | 404; error: string };
export type Resolved = { ok: true; absolute: string; relative: string; root: string };

const refuse = (status: Refusal['status'], error: string): Refusal => ({ ok: false, status, error });

/** Whether `candidate` is `root` or below it; both must already be real (symlink-free) absolute paths. */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** Splits the still-encoded part of the URL after `/workspace` into safe, decoded segments. */
export function parseWorkspacePath(rawSubpath: string): { ok: true; segments: string[] } | Refusal {
  if (rawSubpath === '' || rawSubpath === '/') return { ok: true, segments: [] };
  if (!rawSubpath.startsWith('/')) return refuse(404, 'not a workspace path');
  let rest = rawSubpath.slice(1);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') return refuse(403, 'empty path segment (double slash) refused');
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return refuse(400, 'malformed percent-encoding in the path');
    }
    if (segment === '.' || segment === '..') return refuse(403, 'relative path segments (. and ..) are refused');
    if (/[/\\\0]/.test(segment)) return refuse(403, 'encoded slashes, backslashes and NUL bytes are refused');
    segments.push(segment);
  }
  return { ok: true, segments };
}

function fsRefusal(error: unknown, what: string): Refusal {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return refuse(404, `${what} does not exist`);
  if (code === 'ELOOP' || code === 'EACCES' || code === 'EPERM') return refuse(403, `${what} cannot be read (${code})`);
  throw error;
}

/** Resolves segments under the workspace through realpath; anything that lands outside is refused. */
export async function resolveWorkspacePath(workspaceLocal: string, segments: string[]): Promise<Resolved | Refusal> {
  let root: string;
  try {
    root = await realpath(workspaceLocal);
  } catch (error) {
    return fsRefusal(error, 'the workspace');
  }
  const relative = segments.join('/');
  let absolute: string;
  try {
    absolute = await realpath(path.join(root, ...segments));
  } catch (error) {
    return fsRefusal(error, relative);
  }
  if (!isInside(root, absolute)) return refuse(403, `${relative} leads outside the workspace`);
  return { ok: true, absolute, relative, root };
}

/** The descriptor's real path from procfs, or undefined where there is none (not Linux). */
async function openedPath(handle: FileHandle): Promise<string | undefined> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return undefined;
  }
}

function contentType(name: string): string {
  // Never text/html or a script type: agent-written files must not run as pages of the API's origin.
  return path.extname(name).toLowerCase() === '.json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
}

function isBinary(bytes: Buffer): boolean {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

async function listDirectory(directory: string, maxEntries: number) {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => Number(b.isDirectory()) - Number(a.isDirectory()) || a.name.localeCompare(b.name));
  const shown = entries.slice(0, maxEntries);
  const listed = await Promise.all(
    shown.map(async (entry) => {
      const type = entry.isDirectory() ? 'directory' : entry.isFile() ? 'file' : entry.isSymbolicLink() ? 'symlink' : 'other';
      const size = type === 'file' ? await lstat(path.join(directory, entry.name)).then((stats) => stats.size, () => undefined) : undefined;
      return { name: entry.name, type, ...(size === undefined ? {} : { size }) };
    }),
  );
  return { entries: listed, truncated: entries.length > shown.length };
}

async function readCapped(handle: FileHandle, limit: number): Promise<Buffer> {
  const buffer = Buffer.alloc(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

async function serve(context: Context, resolved: Resolved, dependencies: WorkspaceRoutesDependencies): Promise<Response> {
  const maxFileBytes = dependencies.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let handle: FileHandle;
  try {
    handle = await open(resolved.absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const refusal = fsRefusal(error, resolved.relative);
    return context.json({ error: refusal.error, path: resolved.relative }, refusal.status);
  }
  try {
    const opened = await openedPath(handle);
    if (opened !== undefined && !isInside(resolved.root, opened)) {
      return context.json({ error: `${resolved.relative} leads outside the workspace`, path: resolved.relative }, 403);
    }
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      // Listed through the descriptor, so a directory swapped for a symlink meanwhile is not followed.
      const directory = opened !== undefined ? `/proc/self/fd/${handle.fd}` : resolved.absolute;
      const listing = await listDirectory(directory, dependencies.maxEntries ?? DEFAULT_MAX_ENTRIES);
      return context.json({ path: resolved.relative, type: 'directory', ...listing });
    }
    if (!stats.isFile()) {
      return context.json({ error: `${resolved.relative} is not a regular file or directory`, path: resolved.relative }, 403);
    }
    if (stats.size > maxFileBytes) {
      return context.json({ error: `${resolved.relative} is larger than ${maxFileBytes} bytes`, path: resolved.relative, size: stats.size, max_bytes: maxFileBytes }, 413);
    }
    const bytes = await readCapped(handle, maxFileBytes);
    if (bytes.length > maxFileBytes) {
      return context.json({ error: `${resolved.relative} is larger than ${maxFileBytes} bytes`, path: resolved.relative, max_bytes: maxFileBytes }, 413);
    }
    if (isBinary(bytes)) {
      return context.json({ path: resolved.relative, type: 'file', size: bytes.length, binary: true, content: null });
    }
    return context.body(bytes.toString('utf8'), 200, {
      'content-type': contentType(resolved.relative),
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'no-store',
    });
  } finally {
    await handle.close();
  }
}

export function registerWorkspaceRoutes(app: Hono, dependencies: WorkspaceRoutesDependencies): void {
  const handler = async (context: Context): Promise<Response> => {
    // The raw, still-encoded path: Hono's decoded one would turn %2F into a real separator.
    const pathname = new URL(context.req.url).pathname;
    const parsed = parseWorkspacePath(pathname.slice('/workspace'.length));
    const resolved = parsed.ok ? await resolveWorkspacePath(dependencies.workspaceLocal, parsed.segments) : parsed;
    if (!resolved.ok) {
      if (resolved.status === 403) dependencies.logger.warn({ path: pathname, reason: resolved.error }, 'workspace path refused');
      return context.json({ error: resolved.error }, resolved.status);
    }
    return serve(context, resolved, dependencies);
  };
  app.get('/workspace', handler);
  app.get('/workspace/*', handler);
}
