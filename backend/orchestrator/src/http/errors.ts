// The HTTP API's one error path: a ServiceError becomes its status and the design's `{error, field?}` body; anything else is logged and answered 500 without detail.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { ServiceError, type ServiceErrorCode } from '../runs/errors.ts';

const STATUS: Record<ServiceErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  insufficient_storage: 507,
  bad_gateway: 502,
};

export function errorHandler(logger: Logger) {
  return (error: Error, context: Context): Response => {
    if (error instanceof ServiceError) {
      if (error.retryAfterSeconds !== undefined) context.header('Retry-After', String(error.retryAfterSeconds));
      const body = { error: error.message, ...(error.field ? { field: error.field } : {}), ...error.details };
      return context.json(body, STATUS[error.code]);
    }
    logger.error({ err: error, method: context.req.method, path: context.req.path }, 'request failed');
    return context.json({ error: 'internal error' }, 500);
  };
}
