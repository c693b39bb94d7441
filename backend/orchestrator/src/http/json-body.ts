// Reads a request's JSON body and validates it with a zod schema; any failure is a ServiceError naming the field, answered by the app's one error path.
import type { Context } from 'hono';
import type { z } from 'zod';
import { toErrorResponse } from '@multiclaude/contract';
import { ServiceError } from '../runs/errors.ts';

/** `emptyIsObject`: a request without a body means `{}` (a route whose fields are all optional). */
export async function readJsonBody<T extends z.ZodType>(context: Context, schema: T, options: { emptyIsObject?: boolean } = {}): Promise<z.infer<T>> {
  const contentType = context.req.header('content-type') ?? '';
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new ServiceError('unsupported_media_type', 'request body must be JSON (Content-Type: application/json)');
  }
  let raw: unknown;
  try {
    const text = await context.req.text();
    raw = options.emptyIsObject && text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new ServiceError('invalid_request', 'request body is not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ServiceError('invalid_request', 'request body must be a JSON object');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const { error, field } = toErrorResponse(parsed.error);
    const tooLong = parsed.error.issues.some((issue) => issue.message.includes('at most') && issue.path[0] === 'prompt');
    throw new ServiceError(tooLong ? 'too_large' : 'invalid_request', error, field ? { field } : {});
  }
  return parsed.data;
}
