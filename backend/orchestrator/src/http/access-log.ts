// Hono middleware that writes one access-log line per request (method, path, status, duration_ms), like gunicorn's --access-logfile.
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';

export interface AccessLogOptions {
  /**
   * Paths logged at debug rather than info: Kubernetes probes hit them every few seconds and would bury
   * the real traffic in `kubectl logs`; they still reach orchestrator.log.
   */
  quietPaths?: ReadonlyArray<string>;
}

export function accessLog(logger: Logger, options: AccessLogOptions = {}): MiddlewareHandler {
  const quiet = new Set(options.quietPaths ?? ['/health', '/ready']);
  const log = logger.child({ component: 'http' });
  return async (context, next) => {
    const started = performance.now();
    // For a streamed answer (SSE) this measures the time to its headers, not the stream's whole life.
    try {
      await next();
    } finally {
      // The path only, never the query string: a client may put a token there.
      const path = context.req.path;
      const status = context.res.status;
      const line = {
        method: context.req.method,
        path,
        status,
        duration_ms: Math.round(performance.now() - started),
      };
      const message = `${line.method} ${path} ${status}`;
      // A 5xx's cause is already logged at error by the app's error handler; this line is the request's record.
      if (status >= 500) log.warn(line, message);
      else if (quiet.has(path)) log.debug(line, message);
      else log.info(line, message);
    }
  };
}
