// Bearer-token auth for the API when ORCHESTRATOR_TOKEN is set; /health and /ready stay open for probes.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const OPEN_PATHS = new Set(['/health', '/ready']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares digests so neither the token's content nor its length leaks through timing. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function bearerAuth(token: string | undefined): MiddlewareHandler {
  return async (context, next) => {
    if (!token || OPEN_PATHS.has(context.req.path)) return next();
    const header = context.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !tokenMatches(match[1]!.trim(), token)) {
      context.header('WWW-Authenticate', 'Bearer realm="multiclaude"');
      return context.json({ error: match ? 'invalid token' : 'missing bearer token (Authorization: Bearer <ORCHESTRATOR_TOKEN>)' }, 401);
    }
    return next();
  };
}
