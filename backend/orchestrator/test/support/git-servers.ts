// Real git servers on loopback for source tests: `git daemon` (git://) and a small git-over-HTTP server with basic auth that runs `git http-backend` as CGI; plus a source repository with a branch, a tag and history.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../src/git/git.ts';
import { freePort } from './ports.ts';

export interface SourceRepository {
  /** The bare repository, as a path. */
  path: string;
  /** Commits: `first` (tagged v1, annotated), `second` (main's tip), `feature` (branch feature's tip). */
  commits: { first: string; second: string; feature: string };
}

const identity = ['-c', 'user.name=Source Owner', '-c', 'user.email=owner@example.invalid'];

/** A bare repository `<directory>/<name>.git`: main with two commits (the first tagged `v1`), and a branch `feature`. */
export async function makeSourceRepository(directory: string, name = 'project', files: Record<string, string> = {}): Promise<SourceRepository> {
  const work = path.join(directory, `${name}-work`);
  await mkdir(work, { recursive: true });
  const options = { cwd: work };
  await git(['init', '-q', '-b', 'main'], options);
  await writeFile(path.join(work, 'README.md'), '# project\n');
  await writeFile(path.join(work, '.gitignore'), 'deps/\nnode_modules/\n');
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(work, file)), { recursive: true });
    await writeFile(path.join(work, file), content);
  }
  await git(['add', '-A'], options);
  await git([...identity, 'commit', '-q', '-m', 'first'], options);
  const first = (await git(['rev-parse', 'HEAD'], options)).trim();
  await git([...identity, 'tag', '-a', '-m', 'version 1', 'v1'], options);
  await writeFile(path.join(work, 'second.txt'), 'second\n');
  await git(['add', '-A'], options);
  await git([...identity, 'commit', '-q', '-m', 'second'], options);
  const second = (await git(['rev-parse', 'HEAD'], options)).trim();
  await git(['checkout', '-q', '-b', 'feature', first], options);
  await writeFile(path.join(work, 'feature.txt'), 'feature\n');
  await git(['add', '-A'], options);
  await git([...identity, 'commit', '-q', '-m', 'feature'], options);
  const feature = (await git(['rev-parse', 'HEAD'], options)).trim();
  await git(['checkout', '-q', 'main'], options);
  const bare = path.join(directory, `${name}.git`);
  await git(['clone', '-q', '--bare', work, bare], { cwd: directory });
  // Pushes to the bare repository over git:// and HTTP are the tests' subject.
  await git(['config', 'daemon.receivepack', 'true'], { cwd: bare });
  await git(['config', 'http.receivepack', 'true'], { cwd: bare });
  return { path: bare, commits: { first, second, feature } };
}

export interface GitServer {
  url: string;
  close(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`git daemon exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`git daemon did not listen on ${port}`);
}

/** `git daemon` serving every repository under `base` on a free loopback port, pushes allowed where the repository says so. */
export async function startGitDaemon(base: string): Promise<GitServer> {
  const port = await freePort();
  const child = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, base], {
    stdio: 'ignore',
  });
  await waitForPort(port, child);
  return {
    url: `git://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface HttpGitServer extends GitServer {
  /** Every Authorization header the server saw, for asserting where credentials went. */
  authorizations: string[];
}

/**
 * Smart HTTP over `git http-backend` (CGI) for the repositories under `base`, behind basic auth with
 * `user`/`password`: a request without the right credentials gets 401 and a challenge, as a real host does.
 */
export async function startHttpGitServer(base: string, user: string, password: string): Promise<HttpGitServer> {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const authorizations: string[] = [];
  const server: Server = createServer((request, response) => {
    const authorization = request.headers.authorization ?? '';
    if (authorization) authorizations.push(authorization);
    if (authorization !== expected) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('unauthorized\n');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: base,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: request.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(request.headers['content-encoding'] ?? ''),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    request.pipe(cgi.stdin);
    // CGI answer: headers, a blank line, the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        response.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      response.writeHead(status, headers);
      response.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => response.end());
    cgi.on('error', () => response.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
