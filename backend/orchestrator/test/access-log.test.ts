// The access log: one line per request with method, path, status and duration, probes quieter, failures louder, no query string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { accessLog } from '../src/http/access-log.ts';
import { memoryLogger } from './support/harness.ts';

/** The access line is written on the event loop's next turn, after the answer. */
const written = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function appWithAccessLog() {
  const { logger, lines } = memoryLogger();
  const app = new Hono();
  app.onError((_error, context) => context.json({ error: 'internal error' }, 500));
  app.use('*', accessLog(logger));
  app.get('/health', (context) => context.json({ status: 'ok' }));
  app.get('/slow', async (context) => {
    await new Promise((resolve) => setTimeout(resolve, 60));
    return context.text('done');
  });
  app.get('/boom', () => {
    throw new Error('handler failed');
  });
  app.post('/refused', (context) => context.json({ error: 'no' }, 401));
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { app, records };
}

test('each request gets one access line with method, path, status and duration', async () => {
  const { app, records } = appWithAccessLog();
  await app.request('/slow');
  await written();
  await app.request('/refused', { method: 'POST' });
  await written();
  const [slow, refused, ...rest] = records();
  assert.equal(rest.length, 0);
  assert.deepEqual([slow?.['method'], slow?.['path'], slow?.['status'], slow?.['level'], slow?.['msg']], ['GET', '/slow', 200, 30, 'GET /slow 200']);
  assert.ok((slow?.['duration_ms'] as number) >= 50, `duration ${slow?.['duration_ms']}`);
  assert.deepEqual([refused?.['method'], refused?.['status']], ['POST', 401]);
});

test('a handler that throws is logged with the 500 the error handler answered, at warn', async () => {
  const { app, records } = appWithAccessLog();
  const response = await app.request('/boom');
  await written();
  assert.equal(response.status, 500);
  const [line] = records();
  assert.deepEqual([line?.['path'], line?.['status'], line?.['level']], ['/boom', 500, 40]);
});

test('probe paths are logged at debug so they stay out of the stdout stream', async () => {
  const { app, records } = appWithAccessLog();
  await app.request('/health');
  await written();
  assert.deepEqual([records()[0]?.['path'], records()[0]?.['level']], ['/health', 20]);
});

test('the query string is never logged, since a client may put a token in it', async () => {
  const { app, records } = appWithAccessLog();
  await app.request('/slow?token=abc123secret&x=1');
  await written();
  assert.equal(records()[0]?.['path'], '/slow');
  assert.doesNotMatch(JSON.stringify(records()), /abc123secret/);
});

test("a known secret in a request's path is scrubbed from its access line", async () => {
  const secret = 'sk-' + 'ant-access-log-secret-0123456789';
  const { logger, lines } = memoryLogger([secret]);
  const app = new Hono();
  app.use('*', accessLog(logger));
  app.get('/runs/:id', (context) => context.json({}));
  await app.request(`/runs/${secret}`);
  await written();
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, new RegExp(secret));
  assert.match(lines[0]!, /"path":"\/runs\/\[redacted\]"/);
});

test('the access line is written after the answer, so its writes are not the client’s wait', async () => {
  const { app, records } = appWithAccessLog();
  const response = await app.request('/health');
  assert.equal(response.status, 200);
  assert.equal(records().length, 0, 'not yet written when the answer is ready');
  await written();
  assert.equal(records().length, 1);
});
