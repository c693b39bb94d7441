// Under a burst of requests and oversized bodies: admission is one atomic step, every body is bounded before it is read, and memory stays flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { startHarness, type Harness } from '../support/harness.ts';
import { FakeExecutor } from '../support/fake-executor.ts';
import { CONTROL_REQUEST_MAX_BYTES, RUN_REQUEST_MAX_BYTES } from '../../src/http/body-limits.ts';

async function withHarness(options: Parameters<typeof startHarness>[0], body: (harness: Harness, executor: FakeExecutor) => Promise<void>): Promise<void> {
  const executor = new FakeExecutor();
  const harness = await startHarness({ ...options, executor });
  try {
    await body(harness, executor);
  } finally {
    await harness.close();
  }
}

test('forty concurrent POST /runs with MAX_QUEUED_RUNS=20 accept exactly twenty; the rest get 429 with Retry-After', async () => {
  await withHarness({ maxConcurrentAgents: 1, maxQueuedRuns: 20 }, async (harness) => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, index) => harness.post('/runs', { prompt: `burst ${index}`, agent_count: 1 })));
    const accepted = answers.filter((answer) => answer.status === 202);
    const refused = answers.filter((answer) => answer.status === 429);
    assert.equal(accepted.length, 20);
    assert.equal(refused.length, 20);
    for (const answer of refused) assert.ok(Number(answer.headers.get('retry-after')) > 0);
    const listed = (await (await harness.app.request('/runs?limit=100')).json()) as { runs: unknown[] };
    assert.equal(listed.runs.length, 20, 'a refused run leaves nothing behind');
    for (const answer of accepted) {
      const { run_id: runId } = (await answer.json()) as { run_id: string };
      await harness.app.request(`/runs/${runId}/cancel`, { method: 'POST' });
    }
  });
});

test('every POST route refuses a body over its limit with 413 in the API error shape', async () => {
  await withHarness({}, async (harness) => {
    const runId = '20250101_000000_deadbeef';
    const cases: Array<[string, number, string | undefined]> = [
      ['/runs', RUN_REQUEST_MAX_BYTES + 1, 'prompt'],
      ['/orchestrate', RUN_REQUEST_MAX_BYTES + 1, 'prompt'],
      [`/runs/${runId}/merge`, CONTROL_REQUEST_MAX_BYTES + 1, undefined],
      [`/runs/${runId}/cancel`, CONTROL_REQUEST_MAX_BYTES + 1, undefined],
      [`/runs/${runId}/agents/1/cancel`, CONTROL_REQUEST_MAX_BYTES + 1, undefined],
    ];
    for (const [path, size, field] of cases) {
      const answer = await harness.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(size) },
        body: 'x'.repeat(size),
      });
      assert.equal(answer.status, 413, path);
      const body = (await answer.json()) as { error: string; field?: string };
      assert.match(body.error, /request body is too large \(at most \d+ bytes\)/, path);
      assert.equal(body.field, field, path);
    }
  });
});

/** Streams `bytes` of body in chunks without a Content-Length (chunked), the way a hostile client would; resolves with the status. */
function streamBody(port: number, path: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const outgoing = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      outgoing.destroy();
      resolve(response.statusCode ?? 0);
    });
    outgoing.on('error', (error) => (outgoing.destroyed ? undefined : reject(error)));
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes && !outgoing.destroyed) {
        sent += chunk.length;
        if (!outgoing.write(chunk)) {
          outgoing.once('drain', pump);
          return;
        }
      }
      if (!outgoing.destroyed) outgoing.end();
    };
    pump();
  });
}

test('eight 100 MB bodies streamed at merge are refused with 413 while the server’s memory stays flat', async () => {
  await withHarness({}, async (harness) => {
    const run = await harness.machinery.runs.submit({ prompt: 'to merge', agent_count: 1 });
    let server: ServerType | undefined;
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: harness.app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(info.port));
    });
    try {
      global.gc?.();
      const before = process.memoryUsage().rss;
      const statuses = await Promise.all(Array.from({ length: 8 }, () => streamBody(port, `/runs/${run.run_id}/merge`, 100 * 1024 * 1024)));
      const grown = process.memoryUsage().rss - before;
      assert.deepEqual(statuses, Array(8).fill(413));
      assert.ok(grown < 100 * 1024 * 1024, `memory grew by ${Math.round(grown / 1024 / 1024)} MiB for 800 MiB sent`);
    } finally {
      server?.close();
      await harness.machinery.runs.cancel(run.run_id);
    }
  });
});
