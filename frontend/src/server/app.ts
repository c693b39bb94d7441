// The frontend server as a Hono app: the page and its assets, POST /submit, and the same-origin /api proxy to the orchestrator.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { FrontendConfig } from './config.ts';
import { forward, MAX_BODY_BYTES, type Upstream } from './proxy.ts';

export interface FrontendAppOptions {
  config: FrontendConfig;
  /** Where the built page is (index.html, app.js, app.css). */
  assetsDir: string;
  fetch?: typeof fetch;
  upstreamTimeoutMs?: number;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.js.map': { file: 'app.js.map', type: 'application/json; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/app.css.map': { file: 'app.css.map', type: 'application/json; charset=utf-8' },
};

// Only the run API is reachable through the proxy, with ids of the orchestrator's own shape.
const ID = '[A-Za-z0-9_-]+';
const PROXIED: Array<{ method: 'GET' | 'POST'; pattern: RegExp; streaming?: boolean }> = [
  { method: 'GET', pattern: /^\/ready$/ },
  { method: 'GET', pattern: /^\/health$/ },
  { method: 'GET', pattern: /^\/runs$/ },
  { method: 'POST', pattern: /^\/runs$/ },
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}$`) },
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}/events$`), streaming: true },
  { method: 'POST', pattern: new RegExp(`^/runs/${ID}/cancel$`) },
  { method: 'POST', pattern: new RegExp(`^/runs/${ID}/agents/\\d+/cancel$`) },
  { method: 'POST', pattern: new RegExp(`^/runs/${ID}/agents/\\d+/continue$`) },
  // Review: an agent's diff, two agents compared, merge into main and its dry run, push to the source, a branch or main as a download.
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}/agents/\\d+/diff$`) },
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}/compare$`) },
  { method: 'POST', pattern: new RegExp(`^/runs/${ID}/merge$`) },
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}/agents/\\d+/merge-check$`) },
  { method: 'POST', pattern: new RegExp(`^/runs/${ID}/agents/\\d+/push$`) },
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}/agents/\\d+/export$`), streaming: true },
  { method: 'GET', pattern: new RegExp(`^/runs/${ID}/export$`), streaming: true },
];

const SECURITY_HEADERS: Record<string, string> = {
  // Everything the page needs comes from this server: no CDN, no inline script.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(hostHeader: string): string {
  return hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : (hostHeader.split(':')[0] ?? '');
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // "null" and other opaque origins
  }
}

/**
 * The proxy acts with the frontend's token, so only the page itself may use it: a state-changing request from
 * another site is refused, and on a loopback address so is any Host name but a loopback one (DNS rebinding).
 */
function sameOriginOnly(config: FrontendConfig): MiddlewareHandler {
  const loopbackOnly = LOOPBACK_NAMES.has(config.host) || config.host.startsWith('127.');
  return async (context, next) => {
    const host = context.req.header('host') ?? '';
    if (loopbackOnly && !LOOPBACK_NAMES.has(hostnameOf(host)) && !hostnameOf(host).startsWith('127.')) {
      return context.json({ error: `unexpected Host ${host}: open the page at http://localhost:${config.port}/` }, 403);
    }
    if (context.req.method !== 'GET' && context.req.method !== 'HEAD') {
      const site = context.req.header('sec-fetch-site');
      const origin = context.req.header('origin');
      const crossSite = site !== undefined ? site !== 'same-origin' && site !== 'none' : origin !== undefined && originHost(origin) !== host;
      if (crossSite) return context.json({ error: 'cross-site requests are refused' }, 403);
    }
    return next();
  };
}

const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (context) => context.json({ error: 'request body is too large', field: 'prompt' }, 413),
});

export function createFrontendApp(options: FrontendAppOptions): Hono {
  const { config } = options;
  const upstream: Upstream = {
    baseUrl: config.orchestratorUrl,
    token: config.orchestratorToken,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.upstreamTimeoutMs ? { timeoutMs: options.upstreamTimeoutMs } : {}),
  };
  const app = new Hono();

  app.onError((error, context) => {
    console.error(`frontend: ${context.req.method} ${context.req.path} failed:`, error);
    return context.json({ error: 'internal error in the frontend server' }, 500);
  });
  app.notFound((context) => context.json({ error: `no route for ${context.req.method} ${context.req.path}` }, 404));
  app.use('*', async (context, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) context.header(name, value);
  });
  app.use('*', sameOriginOnly(config));

  for (const [route, asset] of Object.entries(ASSETS)) {
    app.get(route, async (context) => {
      let content: Buffer;
      try {
        content = await readFile(path.join(options.assetsDir, asset.file));
      } catch {
        return context.json({ error: `${asset.file} is not built: run npm run build -w @multiclaude/frontend` }, 503);
      }
      return context.body(new Uint8Array(content), 200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
    });
  }

  const proxy = async (context: Context, method: 'GET' | 'POST', orchestratorPath: string, streaming: boolean) => {
    const query = new URL(context.req.url).search;
    return forward(upstream, {
      method,
      path: `${orchestratorPath}${query}`,
      headers: context.req.raw.headers,
      body: method === 'POST' ? await context.req.arrayBuffer() : null,
      signal: context.req.raw.signal,
      streaming,
    });
  };

  // The design's endpoint: the page's Run button. It answers with POST /runs's answer (202, run id), errors included.
  app.post('/submit', limitBody, (context) => proxy(context, 'POST', '/runs', false));

  app.on(['GET', 'POST'], '/api/*', limitBody, async (context) => {
    const orchestratorPath = context.req.path.slice('/api'.length);
    const method = context.req.method as 'GET' | 'POST';
    const route = PROXIED.find((candidate) => candidate.method === method && candidate.pattern.test(orchestratorPath));
    if (!route) return context.json({ error: `no route for ${method} ${context.req.path}` }, 404);
    return proxy(context, method, orchestratorPath, route.streaming ?? false);
  });

  return app;
}
