// Serves the offline model over HTTP as the Anthropic Messages API does: POST /v1/messages, streamed as SSE.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readAgentContext, scriptReply, type ContentBlock, type MessagesRequest, type ReportedUsage } from './script.ts';

export interface OfflineModel {
  /** Base URL to give as ANTHROPIC_BASE_URL. */
  readonly url: string;
  /** Messages requests answered so far, errors included. */
  readonly requestCount: number;
  /**
   * The most agent sessions that were working at once: a session counts from its first request until
   * its final answer (end_turn) or an error it does not recover from.
   */
  readonly maxConcurrentSessions: number;
  /** Messages requests received and not answered in full yet (waiting out a [[slow]] delay, or streaming). */
  readonly requestsInFlight: number;
  close(): Promise<void>;
}

export interface OfflineModelOptions {
  port?: number;
  host?: string;
  /** Called once per request as its answer starts, for logs and benchmarks. */
  onRequest?: (summary: RequestSummary) => void;
  /**
   * The credential every request must carry as x-api-key; others are answered 401 as Anthropic's API
   * does. None: any or no key is accepted.
   */
  apiKey?: string;
  /** Called with each request's method and path, for tests that check what reaches the model. */
  onPath?: (method: string, path: string) => void;
  /** Called as each Messages request arrives, before any [[slow]] delay; for benchmarks timing when agents ask. */
  onReceived?: (summary: Omit<RequestSummary, 'status'>) => void;
  /** Called once a streamed (200) answer has been written out in full, after its message_stop; for benchmarks. */
  onResponseEnd?: (summary: ResponseSummary) => void;
}

export interface RequestSummary {
  agentId: number | null;
  status: number;
  /** The CLI's x-claude-code-session-id header, '' when absent. */
  sessionId: string;
}

export interface ResponseSummary {
  agentId: number | null;
  sessionId: string;
  stopReason: string;
  /** The answer's text blocks, in order. */
  texts: string[];
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function sse(response: http.ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Splits text into a few deltas, so clients see it stream. */
function chunks(text: string): string[] {
  const parts = text.match(/.{1,24}(\s|$)|.{1,24}/g) ?? [text];
  return parts.length > 0 ? parts : [text];
}

function streamMessage(
  response: http.ServerResponse,
  model: string,
  content: ContentBlock[],
  stopReason: string,
  inputTokens: number,
  reported: ReportedUsage | undefined,
): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const id = `msg_offline_${randomBytes(8).toString('hex')}`;
  sse(response, 'message_start', {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 1, ...reported },
    },
  });
  let outputText = '';
  content.forEach((block, index) => {
    if (block.type === 'text') {
      sse(response, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const text of chunks(block.text)) {
        sse(response, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
      }
      outputText += block.text;
    } else {
      sse(response, 'content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      });
      const json = JSON.stringify(block.input);
      sse(response, 'content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: json },
      });
      outputText += json;
    }
    sse(response, 'content_block_stop', { type: 'content_block_stop', index });
  });
  sse(response, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: estimateTokens(outputText), ...reported },
  });
  sse(response, 'message_stop', { type: 'message_stop' });
  response.end();
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function startOfflineModel(options: OfflineModelOptions = {}): Promise<OfflineModel> {
  let requestCount = 0;
  // 529s served per agent session, so `[[overload times=N]]` lets the CLI's retry succeed afterwards.
  const overloads = new Map<string, number>();
  const sockets = new Set<import('node:net').Socket>();
  const activeSessions = new Set<string>();
  let maxConcurrentSessions = 0;
  let requestsInFlight = 0;

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://offline');
    let size = 0;
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size <= MAX_BODY_BYTES) parts.push(part);
    });
    request.on('end', () => {
      options.onPath?.(request.method ?? '', url.pathname);
      if (options.apiKey !== undefined && request.headers['x-api-key'] !== options.apiKey) {
        sendJson(response, 401, { type: 'error', error: { type: 'authentication_error', message: 'offline model: invalid x-api-key' } });
        return;
      }
      if (request.method !== 'POST' || !url.pathname.startsWith('/v1/messages')) {
        sendJson(response, 404, { type: 'error', error: { type: 'not_found_error', message: 'offline model: not found' } });
        return;
      }
      let body: MessagesRequest;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as MessagesRequest;
      } catch {
        sendJson(response, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'invalid JSON' } });
        return;
      }
      const raw = JSON.stringify(body.messages ?? []);
      if (url.pathname.endsWith('/count_tokens')) {
        sendJson(response, 200, { input_tokens: estimateTokens(raw) });
        return;
      }
      requestCount++;
      const context = readAgentContext(body);
      const sessionId = String(request.headers['x-claude-code-session-id'] ?? '');
      const sessionKey = `${sessionId}:${context.agentId ?? '-'}`;
      const served = overloads.get(sessionKey) ?? 0;
      const reply = scriptReply(body, served, randomBytes(6).toString('hex'));
      requestsInFlight++;
      response.once('close', () => requestsInFlight--);
      options.onReceived?.({ agentId: context.agentId, sessionId });
      activeSessions.add(sessionKey);
      maxConcurrentSessions = Math.max(maxConcurrentSessions, activeSessions.size);
      const sessionEnds = (reply.kind === 'message' && reply.stopReason === 'end_turn') || (reply.kind === 'error' && reply.status !== 529);
      const answer = (): void => {
        if (sessionEnds) activeSessions.delete(sessionKey);
        if (response.destroyed) return;
        if (reply.kind === 'error') {
          if (reply.status === 529) overloads.set(sessionKey, served + 1);
          options.onRequest?.({ agentId: context.agentId, status: reply.status, sessionId });
          sendJson(response, reply.status, { type: 'error', error: { type: reply.errorType, message: reply.message } });
          return;
        }
        options.onRequest?.({ agentId: context.agentId, status: 200, sessionId });
        streamMessage(response, body.model ?? 'offline-model', reply.content, reply.stopReason, estimateTokens(raw), reply.usage);
        if (options.onResponseEnd) {
          const texts = reply.content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
          options.onResponseEnd({ agentId: context.agentId, sessionId, stopReason: reply.stopReason, texts });
        }
      };
      if (reply.delayMs > 0) setTimeout(answer, reply.delayMs).unref();
      else answer();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    get requestCount() {
      return requestCount;
    },
    get maxConcurrentSessions() {
      return maxConcurrentSessions;
    },
    get requestsInFlight() {
      return requestsInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
