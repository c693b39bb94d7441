// GET /workspace and /workspace/<path>: browsing works, and every way out of the workspace is refused (real symlinks, a real sibling directory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { serve, type ServerType } from '@hono/node-server';
import { registerWorkspaceRoutes, parseWorkspacePath, isInside } from '../src/http/workspace-routes.ts';
import { memoryLogger } from './support/harness.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-WORKSPACE';
let base: string;
let workspace: string;
let sibling: string;
let app: Hono;

before(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-ws-'));
  workspace = path.join(base, 'workspace');
  // The sibling whose name starts with the workspace's: a string-prefix check would let it in.
  sibling = path.join(base, 'workspace-evil');
  await mkdir(path.join(workspace, 'runs', 'run_1', 'src'), { recursive: true });
  await mkdir(sibling, { recursive: true });
  await writeFile(path.join(sibling, 'secret.txt'), SECRET);
  await writeFile(path.join(base, 'outside.txt'), SECRET);
  await writeFile(path.join(workspace, 'runs', 'run_1', 'README.md'), '# Digital clock\n');
  await writeFile(path.join(workspace, 'runs', 'run_1', 'package.json'), '{"name":"clock"}\n');
  await writeFile(path.join(workspace, 'runs', 'run_1', 'src', 'clock.ts'), 'export const now = () => new Date();\n');
  await writeFile(path.join(workspace, 'runs', 'run_1', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  await writeFile(path.join(workspace, 'runs', 'run_1', 'big.txt'), 'x'.repeat(2048));
  await symlink('README.md', path.join(workspace, 'runs', 'run_1', 'inner-link.md'));
  await symlink(path.join(sibling, 'secret.txt'), path.join(workspace, 'runs', 'run_1', 'sibling-file'));
  await symlink(sibling, path.join(workspace, 'runs', 'run_1', 'sibling-dir'));
  await symlink('../../../outside.txt', path.join(workspace, 'runs', 'run_1', 'relative-escape'));
  await symlink('/etc', path.join(workspace, 'runs', 'run_1', 'etc'));
  await symlink(path.join(workspace, 'nowhere'), path.join(workspace, 'runs', 'run_1', 'dangling'));
  execFileSync('mkfifo', [path.join(workspace, 'runs', 'run_1', 'pipe')]);

  app = new Hono();
  registerWorkspaceRoutes(app, { workspaceLocal: workspace, logger: memoryLogger().logger, maxFileBytes: 1024 });
  app.notFound((context) => context.json({ error: 'no route' }, 404));
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function get(pathName: string): Promise<{ status: number; type: string; text: string }> {
  const response = await app.request(pathName);
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

test('GET /workspace lists the top of the workspace as JSON', async () => {
  const response = await get('/workspace');
  assert.equal(response.status, 200);
  const body = JSON.parse(response.text);
  assert.equal(body.type, 'directory');
  assert.equal(body.path, '');
  assert.deepEqual(body.entries, [{ name: 'runs', type: 'directory' }]);
  assert.equal(body.truncated, false);
});

test('a directory path answers a listing with directories first, file sizes and symlinks marked', async () => {
  const body = JSON.parse((await get('/workspace/runs/run_1/')).text);
  assert.equal(body.path, 'runs/run_1');
  assert.deepEqual(body.entries[0], { name: 'src', type: 'directory' });
  assert.deepEqual(body.entries.find((entry: { name: string }) => entry.name === 'README.md'), { name: 'README.md', type: 'file', size: 16 });
  assert.equal(body.entries.find((entry: { name: string }) => entry.name === 'sibling-dir').type, 'symlink');
});

test('a text file comes back as plain text that a browser will not run', async () => {
  const response = await app.request('/workspace/runs/run_1/src/clock.ts');
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.match(response.headers.get('content-security-policy') ?? '', /sandbox/);
  assert.equal(await response.text(), 'export const now = () => new Date();\n');
});

test('a JSON file comes back as application/json', async () => {
  const response = await get('/workspace/runs/run_1/package.json');
  assert.equal(response.status, 200);
  assert.equal(response.type, 'application/json; charset=utf-8');
  assert.deepEqual(JSON.parse(response.text), { name: 'clock' });
});

test('a binary file is described as binary, not dumped as text', async () => {
  const response = await get('/workspace/runs/run_1/logo.png');
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.text), { path: 'runs/run_1/logo.png', type: 'file', size: 12, binary: true, content: null });
});

test('a file over the size cap is refused with 413 and its size', async () => {
  const response = await get('/workspace/runs/run_1/big.txt');
  assert.equal(response.status, 413);
  assert.deepEqual(JSON.parse(response.text), {
    error: 'runs/run_1/big.txt is larger than 1024 bytes',
    path: 'runs/run_1/big.txt',
    size: 2048,
    max_bytes: 1024,
  });
});

test('a symlink that stays inside the workspace is followed', async () => {
  const response = await get('/workspace/runs/run_1/inner-link.md');
  assert.equal(response.status, 200);
  assert.equal(response.text, '# Digital clock\n');
});

test('a missing path and a dangling symlink are 404', async () => {
  assert.equal((await get('/workspace/runs/run_9')).status, 404);
  assert.equal((await get('/workspace/runs/run_1/dangling')).status, 404);
});

test('symlinks to a file or directory outside the workspace are refused with 403', async () => {
  for (const escape of ['sibling-file', 'sibling-dir', 'sibling-dir/secret.txt', 'relative-escape', 'etc', 'etc/passwd']) {
    const response = await get(`/workspace/runs/run_1/${escape}`);
    assert.equal(response.status, 403, escape);
    assert.doesNotMatch(response.text, new RegExp(SECRET), escape);
    assert.doesNotMatch(response.text, /root:/, escape);
  }
});

test('.., percent-encoded .., encoded slashes, absolute paths and double slashes never reach outside', async () => {
  const attempts = [
    '/workspace/../workspace-evil/secret.txt',
    '/workspace/runs/../../workspace-evil/secret.txt',
    '/workspace/%2e%2e/workspace-evil/secret.txt',
    '/workspace/%2E%2E/%2E%2E/outside.txt',
    '/workspace/.%2e/outside.txt',
    '/workspace/..%2fworkspace-evil%2fsecret.txt',
    '/workspace/%2e%2e%2fworkspace-evil%2fsecret.txt',
    '/workspace/%252e%252e/workspace-evil/secret.txt',
    '/workspace/%2Fetc%2Fpasswd',
    '/workspace//etc/passwd',
    '/workspace/runs//run_1/README.md',
    '/workspace/..%5cworkspace-evil%5csecret.txt',
    '/workspace/runs%00/x',
    `/workspace/${encodeURIComponent(path.join(sibling, 'secret.txt'))}`,
  ];
  for (const attempt of attempts) {
    const response = await get(attempt);
    assert.ok([403, 404].includes(response.status), `${attempt} answered ${response.status}`);
    assert.doesNotMatch(response.text, new RegExp(SECRET), attempt);
    assert.doesNotMatch(response.text, /root:/, attempt);
  }
});

test('a FIFO is refused at once instead of hanging the request', async () => {
  const response = await get('/workspace/runs/run_1/pipe');
  assert.equal(response.status, 403);
});

test('the path parser refuses the dot segments and empty segments that URL normalisation would hide', () => {
  for (const raw of ['/..', '/a/../b', '/%2e%2e', '/%2E%2e/x', '/.%2E', '/.', '//etc', '/a//b', '/a%2Fb', '/a%5Cb', '/a%00']) {
    const parsed = parseWorkspacePath(raw);
    assert.equal(parsed.ok, false, raw);
    assert.equal(!parsed.ok && parsed.status, 403, raw);
  }
  assert.deepEqual(parseWorkspacePath('/runs/run_1/'), { ok: true, segments: ['runs', 'run_1'] });
  assert.deepEqual(parseWorkspacePath('/a%20b'), { ok: true, segments: ['a b'] });
});

test('a sibling directory whose name starts with the workspace name is not inside it', () => {
  assert.equal(isInside('/data/workspace', '/data/workspace-evil'), false);
  assert.equal(isInside('/data/workspace', '/data/workspace-evil/secret.txt'), false);
  assert.equal(isInside('/data/workspace', '/data'), false);
  assert.equal(isInside('/data/workspace', '/data/workspace'), true);
  assert.equal(isInside('/data/workspace', '/data/workspace/..data'), true);
});

/** Sends a request line byte for byte, as `curl --path-as-is` would, to the real HTTP server. */
function rawRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('utf8')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

test('over a real socket, unnormalised .. and encoded .. in the request line are refused too', async () => {
  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started));
  });
  try {
    const port = (server.address() as net.AddressInfo).port;
    const ok = await rawRequest(port, '/workspace/runs/run_1/README.md');
    assert.match(ok, /^HTTP\/1\.1 200/);
    for (const target of [
      '/workspace/../workspace-evil/secret.txt',
      '/workspace/%2e%2e/workspace-evil/secret.txt',
      '/workspace/runs/run_1/../../../outside.txt',
      '/workspace//etc/passwd',
      '/workspace/..%2F..%2Foutside.txt',
    ]) {
      const response = await rawRequest(port, target);
      assert.match(response, /^HTTP\/1\.1 (403|404|400)/, target);
      assert.doesNotMatch(response, new RegExp(SECRET), target);
      assert.doesNotMatch(response, /root:/, target);
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
