// The API's front thread: polls of running runs and /health answered off the main thread, everything else passed to the app unchanged, writes visible to the next read, auth kept, a clear error for a port in use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { startHarness, type Harness } from './support/harness.ts';
import { FakeExecutor } from './support/fake-executor.ts';
import { readEvents } from './support/sse.ts';
import { startFrontThread, FrontThreadError, type FrontThread } from '../src/http/front-thread.ts';

async function withFront(options: { token?: string }, body: (url: string, harness: Harness, executor: FakeExecutor, front: FrontThread) => Promise<void>): Promise<void> {
  const executor = new FakeExecutor();
  const harness = await startHarness({ executor, ...options });
  const front = await startFrontThread({ app: harness.app, runs: harness.machinery.runs, host: '127.0.0.1', port: 0, token: options.token, logger: harness.logger, onFailure: () => assert.fail('the front thread failed') });
  try {
    await body(`http://127.0.0.1:${front.port}`, harness, executor, front);
  } finally {
    await front.close();
    await harness.close();
  }
}

async function submit(url: string, agents: number): Promise<string> {
  const response = await fetch(`${url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'front', agent_count: agents }) });
  assert.equal(response.status, 202);
  return ((await response.json()) as { run_id: string }).run_id;
}

/** Asks from another thread while this one is blocked, and says whether both answers came and were right. */
function askWhileBlocked(url: string, runId: string): 'answered' | 'timed-out' {
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const client = new Worker(
    `const { workerData: { url, runId, signal } } = require('node:worker_threads');
     (async () => {
       const health = await fetch(url + '/health');
       const run = await fetch(url + '/runs/' + runId);
       const state = await run.json();
       Atomics.store(signal, 1, health.status === 200 && run.status === 200 && state.run_info.run_id === runId ? 1 : 2);
       Atomics.store(signal, 0, 1);
       Atomics.notify(signal, 0);
     })();`,
    { eval: true, execArgv: [], workerData: { url, runId, signal } },
  );
  // Nothing on this thread runs until the client has its answers, or 20 s have passed: the app cannot answer meanwhile.
  const outcome = Atomics.wait(signal, 0, 0, 20_000);
  void client.terminate();
  if (outcome === 'timed-out') return 'timed-out';
  return Atomics.load(signal, 1) === 1 ? 'answered' : 'timed-out';
}

test('a running run’s state and /health are answered while the main thread is blocked', async () => {
  await withFront({}, async (url, _harness, executor) => {
    const runId = await submit(url, 2);
    await executor.whenRunning(2);
    assert.equal(askWhileBlocked(url, runId), 'answered');
    executor.release(runId, 1);
    executor.release(runId, 2);
  });
});

test('the front thread’s answers are the app’s: the same bytes and content type', async () => {
  await withFront({}, async (url, harness, executor) => {
    const runId = await submit(url, 2);
    await executor.whenRunning(2);
    const health = await fetch(`${url}/health`);
    assert.deepEqual([health.status, health.headers.get('content-type'), await health.text()], [200, 'application/json', '{"status":"ok"}']);
    const polled = await fetch(`${url}/runs/${runId}`);
    assert.equal(polled.headers.get('content-type'), 'application/json');
    assert.equal(await polled.text(), Buffer.from(await harness.machinery.runs.getBody(runId)).toString());
    executor.release(runId, 1);
    executor.release(runId, 2);
  });
});

test('everything else reaches the app unchanged: refusals, a new run’s Location, an event stream to its end', async () => {
  await withFront({}, async (url, _harness, executor) => {
    const refused = await fetch(`${url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x', agent_count: 0 }) });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { field: string }).field, 'agent_count');
    const missing = await fetch(`${url}/runs/20990101_000000_00000000`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /no run/);
    const created = await fetch(`${url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x', agent_count: 1 }) });
    const { run_id: runId } = (await created.json()) as { run_id: string };
    assert.equal(created.headers.get('location'), `/runs/${runId}`);
    assert.equal(created.headers.get('x-multiclaude-mirror-version'), null, 'the front thread’s own header stays inside');
    await executor.whenRunning(1);
    const stream = fetch(`${url}/runs/${runId}/events`).then((response) => readEvents(response));
    executor.release(runId, 1);
    const events = await stream;
    assert.equal(events.at(-1)?.data.type, 'run_finished');
  });
});

test('each event a client hears is already in the state it polls next', async () => {
  await withFront({}, async (url, _harness, executor) => {
    const runId = await submit(url, 3);
    await executor.whenRunning(3);
    const checks: Array<Promise<void>> = [];
    const stream = fetch(`${url}/runs/${runId}/events`).then((response) =>
      readEvents(response, ({ data }) => {
        if (data.type !== 'agent_status') return;
        checks.push(
          fetch(`${url}/runs/${runId}`)
            .then((polled) => polled.json() as Promise<{ results: Array<{ agent_id: number; status: string }>; status: string }>)
            .then((state) => {
              const agent = state.results.find((result) => result.agent_id === data.agent_id);
              // The poll may be later than the event, never earlier: an agent that has ended stays ended.
              if (data.status === 'success' || data.status === 'error') assert.equal(agent?.status, data.status, `agent ${data.agent_id} after its ${data.status} event`);
            }),
        );
      }),
    );
    for (const agentId of [1, 2, 3]) executor.release(runId, agentId);
    await stream;
    await Promise.all(checks);
    assert.ok(checks.length >= 3);
  });
});

test('with a token, the front thread answers only requests that carry it; the rest get the app’s 401', async () => {
  const token = 'front-thread-token-' + 'x'.repeat(16);
  await withFront({ token }, async (url, _harness, executor) => {
    const created = await fetch(`${url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ prompt: 'x', agent_count: 1 }) });
    const { run_id: runId } = (await created.json()) as { run_id: string };
    await executor.whenRunning(1);
    assert.equal((await fetch(`${url}/health`)).status, 200, 'probes stay open');
    const without = await fetch(`${url}/runs/${runId}`);
    assert.equal(without.status, 401);
    assert.match(without.headers.get('www-authenticate') ?? '', /Bearer/);
    assert.equal((await fetch(`${url}/runs/${runId}`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${url}/runs/${runId}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    executor.release(runId, 1);
  });
});

test('the front thread’s own answers are in the access log, once each', async () => {
  await withFront({}, async (url, harness) => {
    await (await fetch(`${url}/health`)).text();
    await (await fetch(`${url}/health`)).text();
    await (await fetch(`${url}/runs?limit=1`)).text();
    const lines = async (): Promise<Array<Record<string, unknown>>> => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const found = harness.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['component'] === 'http');
        if (found.length >= 3) return found;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return [];
    };
    const access = await lines();
    assert.deepEqual(access.map((line) => [line['method'], line['path'], line['status']]).sort(), [['GET', '/health', 200], ['GET', '/health', 200], ['GET', '/runs', 200]]);
  });
});

test('a port already in use is a clear error, and nothing is left listening', async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const { port } = taken.address() as { port: number };
  const harness = await startHarness({ executor: new FakeExecutor() });
  try {
    await assert.rejects(
      startFrontThread({ app: harness.app, runs: harness.machinery.runs, host: '127.0.0.1', port, logger: harness.logger, onFailure: () => undefined }),
      (error: unknown) => error instanceof FrontThreadError && error.code === 'address_in_use' && error.message.includes(`127.0.0.1:${port}`),
    );
  } finally {
    taken.close();
    await harness.close();
  }
});

test('once closed, the front thread takes no more connections', async () => {
  const harness = await startHarness({ executor: new FakeExecutor() });
  const front = await startFrontThread({ app: harness.app, runs: harness.machinery.runs, host: '127.0.0.1', port: 0, logger: harness.logger, onFailure: () => undefined });
  try {
    assert.equal((await fetch(`http://127.0.0.1:${front.port}/health`)).status, 200);
    await front.close();
    await assert.rejects(fetch(`http://127.0.0.1:${front.port}/health`));
  } finally {
    await harness.close();
  }
});
