// The model proxy between agents and the Messages API, in front of the offline model (which demands the real key) or a hand-made upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { startOfflineModel, type OfflineModel } from '@multiclaude/offline-model';
import { startModelProxy, type ModelProxy } from '../../src/model-proxy/model-proxy.ts';

const logger = pino({ level: 'silent' });
const apiKey = 'sk-' + `ant-test-${randomBytes(16).toString('hex')}`;
const paths: string[] = [];
let model: OfflineModel;
let proxy: ModelProxy;

before(async () => {
  model = await startOfflineModel({ apiKey, onPath: (method, path) => paths.push(`${method} ${path}`) });
  proxy = await startModelProxy({ upstreamUrl: model.url, apiKey, logger });
});
after(async () => {
  await proxy.close();
  await model.close();
});

function ask(token: string | undefined, content = 'Say hello.', path = '/v1/messages'): Promise<Response> {
  return fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...(token ? { 'x-api-key': token } : {}) },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content }] }),
  });
}

test('an agent token reaches the model with the real key in its place, and the answer streams back', async () => {
  const grant = proxy.grant({ runId: 'r1', agentId: 1 });
  const response = await ask(grant.token);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await response.text();
  assert.match(text, /event: message_start/);
  assert.match(text, /event: message_stop/);
  grant.revoke();
});

test('a response is priced from the usage it reports: input, output and cache, at the model family price', async () => {
  const grant = proxy.grant({ runId: 'r1', agentId: 2 });
  await (await ask(grant.token, 'x [[usage input_tokens=1000000 output_tokens=100000 cache_read_input_tokens=1000000]]')).text();
  // Sonnet: $3 per million in, $15 per million out, a tenth of input for cache reads.
  assert.equal(grant.spentUsd.toFixed(4), (3 + 1.5 + 0.3).toFixed(4));
  grant.revoke();
});

test('an unknown, missing or revoked token is refused with 401 in the API error shape, and nothing reaches the model', async () => {
  const grant = proxy.grant({ runId: 'r1', agentId: 3 });
  grant.revoke();
  const before = paths.length;
  for (const token of [grant.token, undefined, 'not-a-token', apiKey]) {
    const response = await ask(token);
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { type: 'error', error: { type: 'authentication_error', message: 'model proxy: unknown or revoked agent token' } });
  }
  assert.equal(paths.length, before, 'no refused request was forwarded');
});

test('a token in an Authorization bearer header works as well as x-api-key', async () => {
  const grant = proxy.grant({ runId: 'r1', agentId: 4 });
  const response = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${grant.token}` },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(response.status, 200);
  await response.text();
  grant.revoke();
});

test('once an agent has spent its budget its next request is refused with a 400 saying so, and its other tokens are unaffected', async () => {
  const spender = proxy.grant({ runId: 'r2', agentId: 1, budgetUsd: 1 });
  const other = proxy.grant({ runId: 'r2', agentId: 2, budgetUsd: 1 });
  const first = await ask(spender.token, 'x [[usage input_tokens=200000]]');
  assert.equal(first.status, 200, 'under budget: answered');
  await first.text();
  assert.equal(spender.budgetReached, false);
  await (await ask(spender.token, 'x [[usage input_tokens=200000]]')).text();
  assert.equal(spender.budgetReached, true, '$1.20 of $1 spent');
  const before = paths.length;
  const refused = await ask(spender.token);
  assert.equal(refused.status, 400);
  const body = (await refused.json()) as { type: string; error: { type: string; message: string } };
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
  assert.match(body.error.message, /^budget reached: agent 1 spent \$1\.2\d+ of its \$1\.0000 share of the run's budget_usd$/);
  assert.equal(paths.length, before, 'the refused request was not forwarded');
  assert.equal(spender.refusals, 1);
  assert.equal((await ask(other.token)).status, 200, 'another agent of the same run still works');
  spender.revoke();
  other.revoke();
});

test('only the Messages API is forwarded: another path is a 404', async () => {
  const grant = proxy.grant({ runId: 'r1', agentId: 5 });
  const response = await ask(grant.token, 'hi', '/api/oauth/profile');
  assert.equal(response.status, 404);
  assert.equal(((await response.json()) as { error: { type: string } }).error.type, 'not_found_error');
  grant.revoke();
});

test('count_tokens is forwarded and costs nothing', async () => {
  const grant = proxy.grant({ runId: 'r1', agentId: 6 });
  const response = await ask(grant.token, 'hi', '/v1/messages/count_tokens?beta=true');
  assert.equal(response.status, 200);
  assert.ok(((await response.json()) as { input_tokens: number }).input_tokens > 0);
  assert.equal(grant.spentUsd, 0);
  grant.revoke();
});

test('an unreachable model endpoint is a 502 api_error, which the CLI retries', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const lonely = await startModelProxy({ upstreamUrl: `http://127.0.0.1:${port}`, apiKey, logger });
  try {
    const grant = lonely.grant({ runId: 'r1', agentId: 1 });
    const response = await fetch(`${lonely.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': grant.token }, body: '{}' });
    assert.equal(response.status, 502);
    assert.equal(((await response.json()) as { error: { type: string } }).error.type, 'api_error');
  } finally {
    await lonely.close();
  }
});

test('each event reaches the agent as the model sends it, before the stream ends, and an upstream path prefix is kept', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const seen: Array<{ path: string | undefined; key: unknown; authorization: unknown }> = [];
  const upstream = http.createServer((request, response) => {
    seen.push({ path: request.url, key: request.headers['x-api-key'], authorization: request.headers.authorization });
    request.resume();
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('event: message_start\ndata: {"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":1000000,"output_tokens":1}}}\n\n');
    // The rest only once the agent has the first event: a buffering proxy would never get here.
    void released.then(() => {
      response.write('event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":1000000}}\n\n');
      response.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const streaming = await startModelProxy({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/gateway/`, apiKey, logger });
  try {
    const grant = streaming.grant({ runId: 'r1', agentId: 1 });
    const response = await fetch(`${streaming.url}/v1/messages?beta=true`, { method: 'POST', headers: { 'x-api-key': grant.token }, body: '{}' });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('message_start')) text += decoder.decode((await reader.read()).value);
    release();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
    assert.match(text, /message_stop/);
    assert.deepEqual(seen, [{ path: '/gateway/v1/messages?beta=true', key: apiKey, authorization: undefined }]);
    // Haiku 4.5: $1 per million in, $5 per million out; message_delta's output count replaces message_start's.
    assert.equal(grant.spentUsd.toFixed(4), '6.0000');
  } finally {
    await streaming.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});

test('with ANTHROPIC_AUTH_TOKEN the real credential goes as a bearer token, and the agent token never goes upstream', async () => {
  const seen: Array<{ key: unknown; authorization: unknown }> = [];
  const upstream = http.createServer((request, response) => {
    seen.push({ key: request.headers['x-api-key'], authorization: request.headers.authorization });
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"usage":{"input_tokens":1}}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const bearer = await startModelProxy({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, apiKey: undefined, authToken: 'gateway-token', logger });
  try {
    const grant = bearer.grant({ runId: 'r1', agentId: 1 });
    const response = await fetch(`${bearer.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${grant.token}` }, body: '{}' });
    assert.equal(response.status, 200);
    await response.text();
    assert.deepEqual(seen, [{ key: undefined, authorization: 'Bearer gateway-token' }]);
  } finally {
    await bearer.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
