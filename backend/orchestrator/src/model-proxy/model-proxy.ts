// The model proxy: a loopback HTTP server that forwards agents' Messages API calls to the real endpoint with the real credential, accepting only live per-agent tokens and refusing an agent whose budget is spent; responses stream through unbuffered.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { AgentGrants, budgetMessage, type AdmissionResult, type GrantScope, type ModelGrant, type TokenReservation } from './agent-grants.ts';
import { UsageMeter } from './usage-meter.ts';

/** Anthropic's API, when ANTHROPIC_BASE_URL does not name another endpoint. */
export const ANTHROPIC_API_URL = 'https://api.anthropic.com';

/**
 * The status a spent budget is refused with. The CLI retries 429, 5xx and 529 with backoff but gives up
 * at once on a 400 (as the offline model's [[fail]] shows), ending the agent with the message.
 */
export const BUDGET_REFUSAL = { status: 400, type: 'invalid_request_error' } as const;

/** A response that sends nothing for this long is cut off (the CLI's own request timeout is 10 minutes). */
const UPSTREAM_IDLE_TIMEOUT_MS = 15 * 60 * 1000;

// Per-connection headers and the agent's credential never go upstream; the body is passed as it came.
const REQUEST_HEADERS_DROPPED = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'x-api-key', 'authorization', 'accept-encoding']);
const RESPONSE_HEADERS_DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'trailer']);

export interface ModelProxyOptions {
  /** The real Messages API endpoint (ANTHROPIC_BASE_URL, the offline model, or Anthropic's API). */
  upstreamUrl: string;
  /** The real credential, sent as x-api-key; none for an endpoint that needs none (the offline model). */
  apiKey: string | undefined;
  /** Sent as `Authorization: Bearer`, for endpoints that want it (ANTHROPIC_AUTH_TOKEN). */
  authToken?: string | undefined;
  logger: Logger;
}

/** How the run machinery reaches the model: a URL and a token per agent. */
export interface ModelAccess {
  /** The base URL agents are given as ANTHROPIC_BASE_URL. */
  readonly url: string;
  /** A token for one agent of one run; revoke it when the agent ends. */
  grant(scope: GrantScope): ModelGrant;
  /** A token for a warm spare, refused until a run claims the spare and activates it (agent-grants.ts). */
  reserve(): TokenReservation;
}

export interface ModelProxy extends ModelAccess {
  readonly grants: AgentGrants;
  close(): Promise<void>;
}

function sendError(response: http.ServerResponse, status: number, type: string, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function agentToken(request: http.IncomingMessage): string | undefined {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey;
  const authorization = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return authorization?.[1];
}

function forwardedHeaders(request: http.IncomingMessage, credentials: Pick<ModelProxyOptions, 'apiKey' | 'authToken'>): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !REQUEST_HEADERS_DROPPED.has(name)) headers[name] = value;
  }
  // Uncompressed, so the usage in the stream can be read as it passes.
  headers['accept-encoding'] = 'identity';
  if (credentials.apiKey) headers['x-api-key'] = credentials.apiKey;
  if (credentials.authToken) headers['authorization'] = `Bearer ${credentials.authToken}`;
  return headers;
}

/** A refused request's body is still read (and dropped), so the client sees an answer rather than a reset it would retry. */
const MAX_REFUSED_BODY_BYTES = 64 * 1024 * 1024;

function refuse(request: http.IncomingMessage, response: http.ServerResponse, admission: Exclude<AdmissionResult, { admitted: true }>): void {
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REFUSED_BODY_BYTES) request.destroy();
  });
  request.on('end', () => {
    if (admission.reason === 'unknown_token') {
      sendError(response, 401, 'authentication_error', 'model proxy: unknown or revoked agent token');
    } else {
      sendError(response, BUDGET_REFUSAL.status, BUDGET_REFUSAL.type, budgetMessage(admission.grant));
    }
  });
}

export async function startModelProxy(options: ModelProxyOptions): Promise<ModelProxy> {
  const upstream = new URL(options.upstreamUrl);
  const upstreamBasePath = upstream.pathname.replace(/\/+$/, '');
  const client = upstream.protocol === 'https:' ? https : http;
  // Kept-alive connections upstream: a new TLS handshake per model call would add to every turn.
  const agent = new client.Agent({ keepAlive: true });
  const grants = new AgentGrants();
  const sockets = new Set<Socket>();
  const { logger } = options;

  const server = http.createServer({ noDelay: true }, (request, response) => {
    const admission = grants.admit(agentToken(request));
    if (!admission.admitted) {
      if (admission.reason === 'unknown_token') {
        logger.warn({ method: request.method, path: request.url?.split('?')[0] }, 'model proxy: request with an unknown or revoked token refused');
      } else {
        const { runId, agentId } = admission.grant.scope;
        logger.warn({ run_id: runId, agent_id: agentId, spent_usd: admission.grant.spentUsd }, 'model proxy: budget reached, request refused');
      }
      refuse(request, response, admission);
      return;
    }
    const { grant } = admission;
    const pathAndQuery = request.url ?? '/';
    const pathName = pathAndQuery.split('?')[0] ?? '/';
    if (!pathName.startsWith('/v1/')) {
      sendError(response, 404, 'not_found_error', `model proxy: only the Messages API (/v1/…) is forwarded, not ${pathName.slice(0, 100)}`);
      return;
    }
    const started = Date.now();
    const upstreamRequest = client.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port || undefined,
      path: `${upstreamBasePath}${pathAndQuery}`,
      method: request.method,
      headers: forwardedHeaders(request, options),
      agent,
      timeout: UPSTREAM_IDLE_TIMEOUT_MS,
    });
    let meter: UsageMeter | undefined;
    let charged = false;
    const charge = (): void => {
      if (charged || !meter) return;
      charged = true;
      meter.end();
      const cost = grants.charge(grant, meter.model, meter.usage);
      logger.debug(
        { run_id: grant.scope.runId, agent_id: grant.scope.agentId, path: pathName, model: meter.model, usage: meter.usage, cost_usd: cost, spent_usd: grant.spentUsd, duration_ms: Date.now() - started },
        'model proxy: response metered',
      );
    };

    upstreamRequest.on('response', (upstreamResponse) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(upstreamResponse.headers)) {
        if (value !== undefined && !RESPONSE_HEADERS_DROPPED.has(name)) headers[name] = value;
      }
      response.writeHead(upstreamResponse.statusCode ?? 502, headers);
      // Every successful answer is metered: a count_tokens answer simply reports no usage to price.
      if ((upstreamResponse.statusCode ?? 0) < 300) meter = new UsageMeter(upstreamResponse.headers['content-type']);
      upstreamResponse.on('data', (chunk: Buffer) => {
        meter?.push(chunk);
        // Written as it arrives: an SSE event reaches the agent without waiting for the next.
        if (!response.write(chunk)) {
          upstreamResponse.pause();
          response.once('drain', () => upstreamResponse.resume());
        }
      });
      upstreamResponse.on('end', () => {
        charge();
        response.end();
      });
      upstreamResponse.on('error', () => {
        charge();
        response.destroy();
      });
    });
    upstreamRequest.on('timeout', () => upstreamRequest.destroy(new Error('the model endpoint sent nothing for too long')));
    upstreamRequest.on('error', (error) => {
      charge();
      logger.warn({ err: error, run_id: grant.scope.runId, agent_id: grant.scope.agentId, path: pathName }, 'model proxy: upstream request failed');
      sendError(response, 502, 'api_error', `model proxy: the model endpoint could not be reached: ${error.message}`);
    });
    // The agent hung up (cancelled, timed out): stop the upstream call too, and pay for what was streamed.
    response.on('close', () => {
      if (!response.writableFinished) {
        charge();
        upstreamRequest.destroy();
      }
    });
    // Small writes (the request's head, then its body) go out at once rather than waiting on Nagle.
    upstreamRequest.setNoDelay(true);
    request.pipe(upstreamRequest);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: agents' claude processes run beside the orchestrator; nothing else needs to reach it.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ upstream: `${upstream.origin}${upstreamBasePath}`, port }, 'model proxy listening');
  return {
    url: `http://127.0.0.1:${port}`,
    grants,
    grant: (scope) => grants.issue(scope),
    reserve: () => grants.reserve(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
