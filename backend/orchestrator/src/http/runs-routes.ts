// The run API over HTTP: POST /runs, GET /runs, GET /runs/:id, its live event stream, cancel, follow-ups, and the synchronous POST /orchestrate; each route parses, calls the run service once, and answers.
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ContinueRequestSchema, CreateRunRequestSchema, OrchestrateRequestSchema, type ContinueResponse, type CancelResponse, type CreateRunResponse, type OrchestrateResponse, type RunList } from '@multiclaude/contract';
import type { RunService } from '../runs/run-service.ts';
import { isRunId } from '../workspace/run-id.ts';
import { ServiceError } from '../runs/errors.ts';
import { readJsonBody } from './json-body.ts';

export function registerRunRoutes(app: Hono, runs: RunService): void {
  app.post('/orchestrate', async (context) => {
    const request = await readJsonBody(context, OrchestrateRequestSchema);
    return context.json((await runs.orchestrate(request)) satisfies OrchestrateResponse);
  });

  app.post('/runs', async (context) => {
    const accepted = (await runs.submit(await readJsonBody(context, CreateRunRequestSchema))) satisfies CreateRunResponse;
    context.header('Location', `/runs/${accepted.run_id}`);
    return context.json(accepted, 202);
  });

  app.get('/runs', async (context) => {
    const limit = Number(context.req.query('limit') ?? '20');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new ServiceError('invalid_request', 'limit must be an integer from 1 to 100', { field: 'limit' });
    }
    const before = context.req.query('before');
    if (before !== undefined && !isRunId(before)) throw new ServiceError('invalid_request', 'before must be a run id', { field: 'before' });
    return context.json((await runs.list(limit, before)) satisfies RunList);
  });

  // The body is a RunState, serialized by the service (the same JSON as context.json would write).
  app.get('/runs/:id', async (context) => context.body(await runs.getBody(context.req.param('id')), 200, { 'content-type': 'application/json' }));

  app.post('/runs/:id/cancel', async (context) => context.json((await runs.cancel(context.req.param('id'))) satisfies CancelResponse, 202));

  app.post('/runs/:id/agents/:n/cancel', async (context) =>
    context.json((await runs.cancel(context.req.param('id'), context.req.param('n'))) satisfies CancelResponse, 202),
  );

  app.post('/runs/:id/agents/:n/continue', async (context) => {
    const { prompt } = await readJsonBody(context, ContinueRequestSchema);
    const accepted = (await runs.continue(context.req.param('id'), context.req.param('n'), prompt)) satisfies ContinueResponse;
    return context.json(accepted, 202);
  });

  app.get('/runs/:id/events', async (context) => {
    const runId = context.req.param('id');
    await runs.get(runId); // a 404 before the stream's headers
    const lastEventId = Number(context.req.header('last-event-id') ?? context.req.query('after') ?? '0');
    context.header('X-Accel-Buffering', 'no');
    return streamSSE(context, async (stream) => {
      const controller = new AbortController();
      stream.onAbort(() => controller.abort());
      for await (const event of runs.events(runId, Number.isInteger(lastEventId) ? lastEventId : 0, controller.signal)) {
        await stream.writeSSE({ id: String(event.id), event: event.type, data: JSON.stringify(event) });
      }
    });
  });
}
