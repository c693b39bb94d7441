// The review API over HTTP: each agent's diff, files at its branch tip, a comparison of two agents, merge into main and its dry run, export of a branch or main, and push to the source; each route parses, calls the review service once, and answers.
import type { Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { MergeRequestSchema, PushRequestSchema, type DiffResponse, type MergeCheckResponse, type MergeResponse, type PushResponse } from '@multiclaude/contract';
import type { ReviewService } from '../runs/review-service.ts';
import type { ExportFormat } from '../git/review.ts';
import { ServiceError } from '../runs/errors.ts';
import { readJsonBody } from './json-body.ts';

const MAX_FILE_BYTES = 1024 * 1024;
const EXPORT_TYPES: Record<ExportFormat, { contentType: string; extension: string }> = {
  bundle: { contentType: 'application/octet-stream', extension: 'bundle' },
  tar: { contentType: 'application/x-tar', extension: 'tar' },
  zip: { contentType: 'application/zip', extension: 'zip' },
};

function looksBinary(content: Buffer): boolean {
  return content.subarray(0, 8_000).includes(0);
}

function diffAnswer(context: Context, diff: DiffResponse): Response {
  const wantsPatch = context.req.query('format') === 'patch' || (context.req.header('accept') ?? '').includes('text/x-diff');
  if (wantsPatch) return context.body(diff.patch, 200, { 'content-type': 'text/x-diff; charset=utf-8' });
  return context.json(diff satisfies DiffResponse);
}

export function registerReviewRoutes(app: Hono, review: ReviewService): void {
  app.get('/runs/:id/agents/:n/diff', async (context) => diffAnswer(context, await review.diff(context.req.param('id'), context.req.param('n'))));

  app.get('/runs/:id/compare', async (context) =>
    diffAnswer(context, await review.compare(context.req.param('id'), context.req.query('a'), context.req.query('b'))),
  );

  app.get('/runs/:id/agents/:n/files/*', async (context) => {
    const { id, n } = context.req.param();
    let treePath: string;
    try {
      treePath = decodeURIComponent(context.req.path.slice(`/runs/${id}/agents/${n}/files`.length)).replace(/^\//, '').replace(/\/$/, '');
    } catch {
      throw new ServiceError('invalid_request', 'malformed path');
    }
    const lookup = await review.file(id, n, treePath);
    if (lookup.kind === 'missing') throw new ServiceError('not_found', `no ${treePath || '/'} on ${lookup.branch}`);
    if (lookup.kind === 'directory') return context.json({ path: treePath, type: 'directory', entries: lookup.entries });
    if (lookup.content.length > MAX_FILE_BYTES) {
      throw new ServiceError('too_large', `file is ${lookup.content.length} bytes, over the ${MAX_FILE_BYTES}-byte limit`);
    }
    if (looksBinary(lookup.content)) {
      return context.body(new Uint8Array(lookup.content), 200, { 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff' });
    }
    return context.body(lookup.content.toString('utf8'), 200, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  });

  app.post('/runs/:id/merge', async (context) => {
    const { agent_id: agentId } = await readJsonBody(context, MergeRequestSchema);
    return context.json((await review.merge(context.req.param('id'), agentId)) satisfies MergeResponse);
  });

  app.get('/runs/:id/agents/:n/merge-check', async (context) =>
    context.json((await review.mergeCheck(context.req.param('id'), context.req.param('n'))) satisfies MergeCheckResponse),
  );

  app.post('/runs/:id/agents/:n/push', async (context) => {
    const { branch } = await readJsonBody(context, PushRequestSchema, { emptyIsObject: true });
    return context.json((await review.push(context.req.param('id'), context.req.param('n'), branch)) satisfies PushResponse);
  });

  app.get('/runs/:id/agents/:n/export', async (context) => {
    const format = exportFormat(context);
    const controller = new AbortController();
    return exportAnswer(context, controller, await review.export(context.req.param('id'), context.req.param('n'), format, controller.signal), format);
  });

  // The run's main, e.g. after a merge: `?ref=main` is the only ref (agents' branches have their own route).
  app.get('/runs/:id/export', async (context) => {
    const reference = context.req.query('ref') ?? 'main';
    if (reference !== 'main') throw new ServiceError('invalid_request', 'ref must be main', { field: 'ref' });
    const format = exportFormat(context);
    const controller = new AbortController();
    return exportAnswer(context, controller, await review.exportMain(context.req.param('id'), format, controller.signal), format);
  });
}

function exportFormat(context: Context): ExportFormat {
  const format = (context.req.query('format') ?? 'bundle') as ExportFormat;
  if (!(format in EXPORT_TYPES)) throw new ServiceError('invalid_request', 'format must be bundle, tar or zip', { field: 'format' });
  return format;
}

type Export = Awaited<ReturnType<ReviewService['export']>>;

function exportAnswer(context: Context, controller: AbortController, { branch, child, logger }: Export, format: ExportFormat): Response {
  const runId = context.req.param('id');
  context.header('content-type', EXPORT_TYPES[format].contentType);
  context.header('content-disposition', `attachment; filename="${runId}-${branch}.${EXPORT_TYPES[format].extension}"`);
  return stream(context, async (output) => {
    output.onAbort(() => controller.abort());
    for await (const chunk of child.stdout!) await output.write(chunk as Uint8Array);
    await child.catch((error: unknown) => logger.warn({ err: error }, 'export failed'));
  });
}
