// Forwards one browser request to the orchestrator with the bearer token added, streaming the answer back (event streams included).
import { MAX_PROMPT_LENGTH } from '@multiclaude/contract';

export interface Upstream {
  /** The orchestrator's base URL, without a trailing slash. */
  baseUrl: string;
  token: string | undefined;
  /** How long a non-streaming request may take before the browser is told the orchestrator is too slow. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ForwardRequest {
  method: 'GET' | 'POST';
  /** Path and query on the orchestrator, e.g. `/runs?limit=20`. */
  path: string;
  /** The browser's headers; only the few the orchestrator needs are passed on. */
  headers: Headers;
  body: ArrayBuffer | null;
  /** Aborts the orchestrator request when the browser goes away. */
  signal: AbortSignal;
  /** Event streams run as long as the run: no timeout. */
  streaming: boolean;
}

// Room for a maximal prompt in multi-byte characters, plus the rest of the JSON (as the orchestrator allows).
export const MAX_BODY_BYTES = MAX_PROMPT_LENGTH * 4 + 64 * 1024;

const REQUEST_HEADERS = ['accept', 'content-type', 'last-event-id'];
const RESPONSE_HEADERS = ['content-type', 'cache-control', 'retry-after', 'content-disposition'];

function jsonError(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

export async function forward(upstream: Upstream, request: ForwardRequest): Promise<Response> {
  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  // Whatever the browser sent as credentials is not passed on; the frontend's own token is.
  if (upstream.token) headers.set('authorization', `Bearer ${upstream.token}`);
  const signal = request.streaming
    ? request.signal
    : AbortSignal.any([request.signal, AbortSignal.timeout(upstream.timeoutMs ?? 30_000)]);
  let answer: Response;
  try {
    answer = await (upstream.fetch ?? fetch)(`${upstream.baseUrl}${request.path}`, {
      method: request.method,
      headers,
      body: request.body,
      signal,
      redirect: 'manual',
    });
  } catch (error) {
    if (request.signal.aborted) return jsonError(499, 'the browser went away');
    if ((error as Error).name === 'TimeoutError') {
      return jsonError(504, `the orchestrator at ${upstream.baseUrl} did not answer within ${(upstream.timeoutMs ?? 30_000) / 1000} s`);
    }
    return jsonError(502, `orchestrator unreachable at ${upstream.baseUrl}`);
  }
  if (answer.status === 401) {
    // The user cannot fix this from the page: it is the frontend's configuration that is wrong.
    await answer.body?.cancel();
    return jsonError(502, `the orchestrator at ${upstream.baseUrl} refused the frontend: set ORCHESTRATOR_TOKEN to the orchestrator's token`);
  }
  const responseHeaders = new Headers();
  for (const name of RESPONSE_HEADERS) {
    const value = answer.headers.get(name);
    if (value !== null) responseHeaders.set(name, value);
  }
  if (request.streaming) {
    responseHeaders.set('cache-control', 'no-cache');
    responseHeaders.set('x-accel-buffering', 'no');
  }
  return new Response(answer.body, { status: answer.status, headers: responseHeaders });
}
