// Reads a request's JSON body and validates it with a zod schema, giving the API's error shape on any failure.
import type { Context } from 'hono';
import type { z } from 'zod';
import { toErrorResponse, type ErrorResponse } from '@multiclaude/contract';

export type ParsedBody<T> = { ok: true; value: T } | { ok: false; status: 400 | 413 | 415; body: ErrorResponse };

export async function parseJsonBody<T extends z.ZodType>(context: Context, schema: T): Promise<ParsedBody<z.infer<T>>> {
  const contentType = context.req.header('content-type') ?? '';
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType)) {
    return { ok: false, status: 415, body: { error: 'request body must be JSON (Content-Type: application/json)' } };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await context.req.text());
  } catch {
    return { ok: false, status: 400, body: { error: 'request body is not valid JSON' } };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, status: 400, body: { error: 'request body must be a JSON object' } };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const body = toErrorResponse(parsed.error);
    const tooLong = parsed.error.issues.some((issue) => issue.message.includes('at most') && issue.path[0] === 'prompt');
    return { ok: false, status: tooLong ? 413 : 400, body };
  }
  return { ok: true, value: parsed.data };
}
