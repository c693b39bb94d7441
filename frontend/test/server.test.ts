// Frontend server tests, in-process over real loopback HTTP: the page, POST /submit, and the /api proxy against a stand-in orchestrator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { createFrontendApp } from '../src/server/app.ts';
import { buildClient } from '../src/server/build.ts';
import { loadConfig, ConfigError } from '../src/server/config.ts';
import { listen, unusedPort, type Listening } from './support/servers.ts';

const TOKEN = 'frontend-test-token-5f3a9c';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  lastEventId: string | undefined;
  cookie: string | undefined;
}

let assets: string;
let seen: Seen[] = [];
let releaseStream: () => void = () => {};
let streamAborted: () => void = () => {};

/** Answers like the orchestrator would, and remembers what reached it. */
function standInOrchestrator(requireToken: string | undefined): Hono {
  const app = new Hono();
  app.use('*', async (context, next) => {
    seen.push({
      method: context.req.method,
      path: new URL(context.req.url).pathname + new URL(context.req.url).search,
      authorization: context.req.header('authorization'),
      lastEventId: context.req.header('last-event-id'),
      cookie: context.req.header('cookie'),
    });
    if (requireToken && context.req.header('authorization') !== `Bearer ${requireToken}`) return context.json({ error: 'invalid token' }, 401);
    return next();
  });
  app.get('/runs', (context) => context.json({ runs: [], next_before: null }));
  app.post('/runs', async (context) => {
    const body = (await context.req.json()) as { prompt?: string };
    if (!body.prompt?.trim()) return context.json({ error: 'prompt must not be blank', field: 'prompt' }, 400);
    return context.json({ run_id: '20260204_123456_abc12345', status: 'queued', queue_position: null }, 202);
  });
  app.get('/runs/:id/events', (context) =>
    streamSSE(context, async (stream) => {
      stream.onAbort(() => streamAborted());
      await stream.writeSSE({ id: '1', event: 'agent_text', data: JSON.stringify({ id: 1, type: 'agent_text', text: 'hello' }) });
      await new Promise<void>((resolve) => (releaseStream = resolve));
      await stream.writeSSE({ id: '2', event: 'run_finished', data: JSON.stringify({ id: 2, type: 'run_finished' }) });
    }),
  );
  app.get('/runs/:id/agents/:n/export', (context) =>
    context.body('PK-zip-bytes', 200, { 'content-type': 'application/zip', 'content-disposition': 'attachment; filename="run-agent-1.zip"' }),
  );
  app.post('/runs/:id/agents/:n/push', (context) => context.json({ remote: '/srv/git/project.git', branch: `multiclaude/${context.req.param('id')}/agent-${context.req.param('n')}`, commit: 'c'.repeat(40) }));
  app.get('/workspace', (context) => context.json({ files: ['secret'] }));
  return app;
}

async function startFrontend(orchestratorUrl: string, token: string | undefined): Promise<Listening> {
  const config = loadConfig({ ORCHESTRATOR_URL: orchestratorUrl, ORCHESTRATOR_TOKEN: token, PORT: '0' });
  return listen(createFrontendApp({ config, assetsDir: assets, upstreamTimeoutMs: 5000 }));
}

before(async () => {
  assets = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-frontend-assets-'));
  await buildClient(assets);
});
after(async () => {
  await rm(assets, { recursive: true, force: true });
});

test('the proxy adds the bearer token and drops the browser credentials', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const frontend = await startFrontend(orchestrator.url, TOKEN);
  try {
    seen = [];
    const response = await fetch(`${frontend.url}/api/runs?limit=5`, { headers: { authorization: 'Bearer from-the-browser', cookie: 'session=1' } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { runs: [], next_before: null });
    assert.deepEqual(seen, [{ method: 'GET', path: '/runs?limit=5', authorization: `Bearer ${TOKEN}`, lastEventId: undefined, cookie: undefined }]);
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('the token appears nowhere in the page, its script, its styles or any answer header', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const frontend = await startFrontend(orchestrator.url, TOKEN);
  try {
    for (const asset of ['/', '/app.js', '/app.css', '/app.js.map', '/api/runs']) {
      const response = await fetch(`${frontend.url}${asset}`);
      assert.equal(response.status, 200, asset);
      const text = await response.text();
      assert.ok(!text.includes(TOKEN), `${asset} contains the token`);
      for (const [name, value] of response.headers) assert.ok(!value.includes(TOKEN), `${asset} header ${name} contains the token`);
    }
    const page = await (await fetch(frontend.url)).text();
    assert.match(page, /<label for="prompt">Prompt<\/label>/);
    assert.match(page, /type="range" min="1" max="10"/);
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('POST /submit forwards to POST /runs and answers with its status and JSON, errors included', async () => {
  const orchestrator = await listen(standInOrchestrator(undefined));
  const frontend = await startFrontend(orchestrator.url, undefined);
  try {
    seen = [];
    const accepted = await fetch(`${frontend.url}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Build a clock', agent_count: 2 }),
    });
    assert.equal(accepted.status, 202);
    assert.deepEqual(await accepted.json(), { run_id: '20260204_123456_abc12345', status: 'queued', queue_position: null });
    assert.equal(seen[0]?.path, '/runs');
    assert.equal(seen[0]?.authorization, undefined);
    const refused = await fetch(`${frontend.url}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: '  ', agent_count: 2 }),
    });
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { error: 'prompt must not be blank', field: 'prompt' });
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('an orchestrator that is down gets a 502 JSON error naming its address, from the proxy and from /submit', async () => {
  const downUrl = `http://127.0.0.1:${await unusedPort()}`;
  const frontend = await startFrontend(downUrl, TOKEN);
  try {
    for (const [pathName, init] of [
      ['/api/runs', {}],
      ['/api/ready', {}],
      ['/api/runs/20260204_123456_abc12345/events', { headers: { accept: 'text/event-stream' } }],
      ['/submit', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"x","agent_count":1}' }],
    ] as const) {
      const response = await fetch(`${frontend.url}${pathName}`, init);
      assert.equal(response.status, 502, pathName);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await response.json(), { error: `orchestrator unreachable at ${downUrl}` });
    }
  } finally {
    await frontend.close();
  }
});

test('the event stream is passed through as it comes, with Last-Event-ID, and ends when the run does', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const frontend = await startFrontend(orchestrator.url, TOKEN);
  try {
    seen = [];
    const response = await fetch(`${frontend.url}/api/runs/20260204_123456_abc12345/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': '0' },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    // The first event must arrive while the orchestrator still holds the second back: nothing buffers the stream.
    while (!text.includes('\n\n')) text += (await reader.read()).value ?? '';
    assert.match(text, /event: agent_text\n/);
    assert.match(text, /\nid: 1\n/);
    assert.doesNotMatch(text, /run_finished/);
    releaseStream();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    assert.match(text, /event: run_finished/);
    assert.equal(seen[0]?.lastEventId, '0');
    assert.equal(seen[0]?.authorization, `Bearer ${TOKEN}`);
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('a browser that closes its event stream closes the orchestrator stream behind it', async () => {
  const orchestrator = await listen(standInOrchestrator(undefined));
  const frontend = await startFrontend(orchestrator.url, undefined);
  try {
    const upstreamClosed = new Promise<void>((resolve) => (streamAborted = resolve));
    const browser = new AbortController();
    const response = await fetch(`${frontend.url}/api/runs/20260204_123456_abc12345/events`, { signal: browser.signal });
    const reader = response.body!.getReader();
    await reader.read();
    browser.abort();
    const closed = await Promise.race([upstreamClosed.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
    assert.equal(closed, true, 'the orchestrator stream was still open 5 s after the browser left');
  } finally {
    releaseStream();
    await frontend.close();
    await orchestrator.close();
  }
});

test('a branch download passes through the proxy with its file name', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const frontend = await startFrontend(orchestrator.url, TOKEN);
  try {
    const response = await fetch(`${frontend.url}/api/runs/20260204_123456_abc12345/agents/1/export?format=zip`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-disposition'), 'attachment; filename="run-agent-1.zip"');
    assert.equal(await response.text(), 'PK-zip-bytes');
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('a push of an agent’s branch passes through the proxy with the token', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const frontend = await startFrontend(orchestrator.url, TOKEN);
  try {
    const response = await fetch(`${frontend.url}/api/runs/20260204_123456_abc12345/agents/2/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: frontend.url },
      body: '{}',
    });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { branch: string }).branch, 'multiclaude/20260204_123456_abc12345/agent-2');
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('only the run API is reachable through the proxy', async () => {
  const orchestrator = await listen(standInOrchestrator(undefined));
  const frontend = await startFrontend(orchestrator.url, undefined);
  try {
    seen = [];
    for (const pathName of ['/api/workspace', '/api/runs/..%2F..%2Fetc/cancel', '/api/orchestrate']) {
      const response = await fetch(`${frontend.url}${pathName}`);
      assert.equal(response.status, 404, pathName);
    }
    assert.deepEqual(seen, []);
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('a frontend without the orchestrator token says how to fix it instead of asking the browser to log in', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const frontend = await startFrontend(orchestrator.url, undefined);
  try {
    const response = await fetch(`${frontend.url}/api/runs`);
    assert.equal(response.status, 502);
    assert.equal(response.headers.get('www-authenticate'), null);
    assert.match(((await response.json()) as { error: string }).error, /ORCHESTRATOR_TOKEN/);
  } finally {
    await frontend.close();
    await orchestrator.close();
  }
});

test('requests from another site, or to a foreign Host name, never reach the orchestrator', async () => {
  const orchestrator = await listen(standInOrchestrator(TOKEN));
  const config = loadConfig({ ORCHESTRATOR_URL: orchestrator.url, ORCHESTRATOR_TOKEN: TOKEN, PORT: '3000' });
  const app = createFrontendApp({ config, assetsDir: assets });
  try {
    seen = [];
    const crossSite = await app.request('/api/runs/20260204_123456_abc12345/cancel', {
      method: 'POST',
      headers: { host: '127.0.0.1:3000', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(crossSite.status, 403);
    const rebound = await app.request('/api/runs', { headers: { host: 'evil.example:3000' } });
    assert.equal(rebound.status, 403);
    assert.deepEqual(seen, []);
    const sameSite = await app.request('/api/runs', { headers: { host: 'localhost:3000', 'sec-fetch-site': 'same-origin' } });
    assert.equal(sameSite.status, 200);
  } finally {
    await orchestrator.close();
  }
});

test('the page is served with a policy that allows no outside script, style or connection', async () => {
  const config = loadConfig({ PORT: '0' });
  const response = await createFrontendApp({ config, assetsDir: assets }).request('/', { headers: { host: '127.0.0.1' } });
  assert.equal(response.status, 200);
  const policy = response.headers.get('content-security-policy') ?? '';
  assert.match(policy, /default-src 'self'/);
  assert.match(policy, /connect-src 'self'/);
  const page = await response.text();
  assert.doesNotMatch(page, /https?:\/\//, 'the page loads nothing from another host');
});

test('configuration has defaults and refuses a bad ORCHESTRATOR_URL or PORT with a message naming it', () => {
  assert.deepEqual(loadConfig({}), { host: '127.0.0.1', port: 3000, orchestratorUrl: 'http://127.0.0.1:8080', orchestratorToken: undefined });
  assert.equal(loadConfig({ ORCHESTRATOR_URL: 'http://orchestrator-service.backend:8080/' }).orchestratorUrl, 'http://orchestrator-service.backend:8080');
  assert.throws(() => loadConfig({ ORCHESTRATOR_URL: 'not a url' }), (error: unknown) => error instanceof ConfigError && /ORCHESTRATOR_URL/.test(error.message));
  assert.throws(() => loadConfig({ PORT: 'eighty' }), (error: unknown) => error instanceof ConfigError && /PORT/.test(error.message));
});
