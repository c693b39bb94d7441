// Bounds every request body before it is read, by route: a request over its route's limit gets 413 in the API's error shape, and memory never grows with what a client sends.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_PROMPT_LENGTH } from '@multiclaude/contract';

/** Room for a maximal prompt in multi-byte characters, plus the rest of the JSON. */
export const RUN_REQUEST_MAX_BYTES = MAX_PROMPT_LENGTH * 4 + 64 * 1024;
/** Every other route: control requests (cancel, merge) carry a few fields at most. */
export const CONTROL_REQUEST_MAX_BYTES = 16 * 1024;

interface RouteLimit {
  method: string;
  path: RegExp;
  maxBytes: number;
  /** The field named in the 413 answer, where one field makes a body big. */
  field?: string;
}

/** The documented limits (README, API); anything not listed gets CONTROL_REQUEST_MAX_BYTES. */
export const ROUTE_LIMITS: readonly RouteLimit[] = [
  { method: 'POST', path: /^\/(orchestrate|runs)$/, maxBytes: RUN_REQUEST_MAX_BYTES, field: 'prompt' },
  // A follow-up carries a prompt as large as a run's.
  { method: 'POST', path: /^\/runs\/[^/]+\/agents\/[^/]+\/continue$/, maxBytes: RUN_REQUEST_MAX_BYTES, field: 'prompt' },
  { method: 'POST', path: /^\/runs\/[^/]+\/agents\/[^/]+\/push$/, maxBytes: CONTROL_REQUEST_MAX_BYTES, field: 'branch' },
];

function limiter(maxBytes: number, field?: string): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (context) => context.json({ error: `request body is too large (at most ${maxBytes} bytes)`, ...(field ? { field } : {}) }, 413),
  });
}

export function boundedBodies(): MiddlewareHandler {
  const routes = ROUTE_LIMITS.map((route) => ({ ...route, handler: limiter(route.maxBytes, route.field) }));
  const fallback = limiter(CONTROL_REQUEST_MAX_BYTES);
  return (context, next) => {
    const route = routes.find((candidate) => candidate.method === context.req.method && candidate.path.test(context.req.path));
    return (route?.handler ?? fallback)(context, next);
  };
}
