// The kubernetes runtime without a cluster: the bridge and relay carry MCP bytes both ways and report the tool server's end; check() and /diagnostics say what is wrong with an unreachable or under-privileged API server (a local HTTP stand-in); the sweep leaves foreign namespaces alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { KubeConfig, type V1Status } from '@kubernetes/client-node';
import { KubernetesRuntime, ownerName } from '../../src/sandboxes/kubernetes.ts';
import { BRIDGE_SCRIPT, McpRelay, type PodExec } from '../../src/sandboxes/kubernetes-relay.ts';
import { DEFAULT_UID_RANGE } from '../../src/sandboxes/sandbox-users.ts';

const logger = pino({ level: 'silent' });

/** Runs the "pod's" command as a local process: what the API server's exec does, minus the cluster. */
const localExec: PodExec = async (command, streams, onStatus) => {
  const [program, ...args] = command[0] === 'claude' ? ['node', '-e', ECHO_SERVER] : command;
  const child = spawn(program!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  streams.stdin?.pipe(child.stdin);
  child.stdout.pipe(streams.stdout as NodeJS.WritableStream, { end: false });
  child.stderr.pipe(streams.stderr as NodeJS.WritableStream, { end: false });
  const closed = new EventEmitter();
  child.on('close', (code, signal) => {
    const status: V1Status =
      code === 0 ? { status: 'Success' } : { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(signal ? 137 : code) }] } };
    onStatus(status);
    (streams.stdout as NodeJS.WritableStream).end();
    closed.emit('close');
  });
  return { close: () => child.kill('SIGKILL'), onClose: (listener) => closed.on('close', listener) };
};
/** A stand-in for `claude mcp serve`: answers each line with `echo:<line>`, exits 0 at end of input, 137 on "die". */
const ECHO_SERVER = `require('readline').createInterface({ input: process.stdin }).on('line', (line) => { if (line === 'die') process.kill(process.pid, 'SIGKILL'); process.stdout.write('echo:' + line + '\\n'); }).on('close', () => process.exit(0));`;

function runBridge(socketPath: string, input: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const bridge = spawn(process.execPath, [BRIDGE_SCRIPT, socketPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    bridge.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    bridge.on('close', (code) => resolve({ code, stdout }));
    bridge.stdin.write(input);
    if (!input.includes('die')) bridge.stdin.end();
  });
}

test('the bridge and relay carry the MCP stream both ways; the tool server ends normally when its input ends', async () => {
  const relay = await McpRelay.open(localExec, logger);
  const ends: Array<V1Status | undefined> = [];
  relay.onEnd((status) => ends.push(status));
  try {
    const { code, stdout } = await runBridge(relay.socketPath, '{"jsonrpc":"2.0","id":1}\n{"jsonrpc":"2.0","id":2}\n');
    assert.equal(code, 0);
    assert.equal(stdout, 'echo:{"jsonrpc":"2.0","id":1}\necho:{"jsonrpc":"2.0","id":2}\n');
    for (let i = 0; i < 50 && ends.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(ends, [{ status: 'Success' }]);
  } finally {
    await relay.close();
  }
  assert.equal(existsSync(path.dirname(relay.socketPath)), false, 'the private socket directory is removed');
});

test('a tool server killed in the pod reaches the relay as exit 137, and the bridge ends', async () => {
  const relay = await McpRelay.open(localExec, logger);
  const ends: Array<V1Status | undefined> = [];
  relay.onEnd((status) => ends.push(status));
  try {
    const { code } = await runBridge(relay.socketPath, 'hello\ndie\n');
    assert.equal(code, 0, 'the bridge ends with its stream');
    for (let i = 0; i < 50 && ends.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(ends[0]?.details?.causes?.[0]?.message, '137');
  } finally {
    await relay.close();
  }
});

test('the bridge holds no credential: it is given only the socket path, and fails clearly without a relay', async () => {
  const { code } = await new Promise<{ code: number | null }>((resolve) => {
    const bridge = spawn(process.execPath, [BRIDGE_SCRIPT, '/nonexistent/mcp.sock'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    bridge.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    bridge.on('close', (exitCode) => {
      assert.match(stderr, /multiclaude sandbox bridge: .*ENOENT/);
      resolve({ code: exitCode });
    });
  });
  assert.equal(code, 1);
});

/** A local HTTP stand-in for the API server: answers access reviews from `allowed`, lists pods, counts requests. */
async function fakeApiServer(allowed: (attributes: { verb: string; resource: string; subresource?: string }) => boolean) {
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url}`);
      response.setHeader('content-type', 'application/json');
      if (request.url?.startsWith('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')) {
        const review = JSON.parse(body) as { spec: { resourceAttributes: { verb: string; resource: string; subresource?: string } } };
        response.end(JSON.stringify({ ...review, status: { allowed: allowed(review.spec.resourceAttributes) } }));
      } else if (request.url?.startsWith('/api/v1/namespaces/agents/pods')) {
        response.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [] }));
      } else if (request.url?.startsWith('/version')) {
        response.end(JSON.stringify({ gitVersion: 'v1.35.4', major: '1', minor: '35' }));
      } else {
        response.statusCode = 404;
        response.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: `${request.url} not found`, code: 404 }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function runtimeFor(server: string, active = true): KubernetesRuntime {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser({ name: 'test', server, skipTLSVerify: true }, { name: 'test' });
  return new KubernetesRuntime({
    namespace: 'agents',
    image: 'claude-mcp:latest',
    workspaceClaim: 'workspace',
    workspaceLocal: '/workspace',
    memory: '2g',
    cpus: '1',
    uidRange: DEFAULT_UID_RANGE,
    owner: 'test',
    store: 'teststore0000000',
    kubeConfig,
    active,
    logger,
  });
}

test('check() passes when the API server grants every right in the namespace, and names the cluster and image', async () => {
  const api = await fakeApiServer(() => true);
  const check = await runtimeFor(api.url).check();
  assert.equal(check.ok, true, check.detail);
  assert.match(check.detail, new RegExp(`cluster ${api.url}, namespace agents, image claude-mcp:latest, rights granted`));
});

test('check() and /diagnostics name each right the orchestrator lacks (here pods/exec and delete)', async () => {
  const api = await fakeApiServer(({ verb, subresource }) => subresource !== 'exec' && verb !== 'delete');
  const runtime = runtimeFor(api.url);
  const check = await runtime.check();
  assert.equal(check.ok, false);
  assert.match(check.detail, /may not delete pods, create pods\/exec in namespace agents/);
  const rights = await runtime.diagnostics()['kubernetes_rights']!(AbortSignal.timeout(10_000));
  assert.equal(rights.status, 'error');
  assert.deepEqual(rights['missing'], ['delete pods', 'create pods/exec']);
  const reachability = await runtime.diagnostics()['kubernetes_api']!(AbortSignal.timeout(10_000));
  assert.deepEqual(reachability, { reachable: true, server: api.url, version: 'v1.35.4', namespace: 'agents', image: 'claude-mcp:latest', runtime_class: null });
});

test('an unreachable API server is a failed check saying so, never a throw', async () => {
  const check = await runtimeFor('http://127.0.0.1:1').check();
  assert.equal(check.ok, false);
  assert.match(check.detail, /kubernetes runtime: the cluster at http:\/\/127\.0\.0\.1:1 is not usable: .*ECONNREFUSED/);
  const reachability = await runtimeFor('http://127.0.0.1:1').diagnostics()['kubernetes_api']!(AbortSignal.timeout(10_000));
  assert.equal(reachability.status, 'error');
  assert.equal(reachability['reachable'], false);
});

test('the sweep touches the agents namespace only when this orchestrator runs its agents there', async () => {
  const api = await fakeApiServer(() => true);
  assert.deepEqual(await runtimeFor(api.url, false).reapStale(() => false), []);
  assert.equal(api.requests.length, 0, 'an inactive kubernetes runtime sends nothing');
  assert.deepEqual(await runtimeFor(api.url, true).reapStale(() => false), []);
  const listed = api.requests.find((request) => request.startsWith('GET /api/v1/namespaces/agents/pods?labelSelector='));
  assert.ok(listed, api.requests.join('\n'));
  assert.equal(new URL(`http://x${listed.slice(4)}`).searchParams.get('labelSelector'), 'multiclaude.managed=true,multiclaude.store=teststore0000000', "only this run store's pods");
});

test('the owner label is the pod name, made a valid label value', () => {
  assert.equal(ownerName({ POD_NAME: 'orchestrator-7d9f-abcde' }), 'orchestrator-7d9f-abcde');
  assert.equal(ownerName({ POD_NAME: '-weird name!' }), 'weird-name');
});

test('closing the relay ends at once even while a bridge still holds a connection whose tool server never started', async () => {
  const failingExec: PodExec = async () => {
    throw new Error('Unexpected server response: 404');
  };
  const relay = await McpRelay.open(failingExec, logger);
  const ends: Array<V1Status | undefined> = [];
  relay.onEnd((status) => ends.push(status));
  const bridge = spawn(process.execPath, [BRIDGE_SCRIPT, relay.socketPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  for (let i = 0; i < 100 && ends.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(ends[0]?.message ?? '', /could not exec into the sandbox pod: Unexpected server response: 404/);
  const closed = await Promise.race([relay.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000))]);
  assert.equal(closed, 'closed');
  bridge.kill();
});
