// The run API: POST /runs, GET /runs, GET /runs/:id, its live event stream, cancel, and the synchronous POST /orchestrate over them.
import type { Hono, Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { bodyLimit } from 'hono/body-limit';
import { CreateRunRequestSchema, MAX_PROMPT_LENGTH, OrchestrateRequestSchema, type RunEvent } from '@multiclaude/contract';
import type { Logger } from 'pino';
import { QueueFullError, type RunManager } from '../runs/run-manager.ts';
import type { RunStore } from '../runs/run-store.ts';
import { isRunId } from '../runs/run-id.ts';
import { toOrchestrateResponse } from '../runs/run-state.ts';
import { requestCancel } from '../runs/cancel-requests.ts';
import { parseJsonBody } from './json-body.ts';

export interface RunRouteDependencies {
  manager: RunManager;
  store: RunStore;
  logger: Logger;
  /** How often a stream of a run owned by another replica re-reads the event log. */
  pollMs?: number;
}

// Room for a maximal prompt in multi-byte characters, plus the rest of the JSON.
const MAX_BODY_BYTES = MAX_PROMPT_LENGTH * 4 + 64 * 1024;
const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (context) => context.json({ error: 'request body is too large', field: 'prompt' }, 413),
});

function queueFull(context: Context, error: QueueFullError): Response {
  context.header('Retry-After', String(error.retryAfterSeconds));
  return context.json({ error: error.message }, 429);
}

function runNotFound(context: Context, runId: string): Response {
  return context.json({ error: `no run ${runId}` }, 404);
}

export function registerRunRoutes(app: Hono, dependencies: RunRouteDependencies): void {
  const { manager, store } = dependencies;

  app.post('/orchestrate', limitBody, async (context) => {
    const parsed = await parseJsonBody(context, OrchestrateRequestSchema);
    if (!parsed.ok) return context.json(parsed.body, parsed.status);
    try {
      const accepted = await manager.submit(parsed.value);
      // The run goes on if this client goes away; GET /runs/:id has it.
      const finished = await manager.waitForRun(accepted.run_info.run_id);
      return context.json(toOrchestrateResponse(finished));
    } catch (error) {
      if (error instanceof QueueFullError) return queueFull(context, error);
      throw error;
    }
  });

  app.post('/runs', limitBody, async (context) => {
    const parsed = await parseJsonBody(context, CreateRunRequestSchema);
    if (!parsed.ok) return context.json(parsed.body, parsed.status);
    try {
      const state = await manager.submit(parsed.value);
      context.header('Location', `/runs/${state.run_info.run_id}`);
      return context.json({ run_id: state.run_info.run_id, status: state.status, queue_position: state.queue_position }, 202);
    } catch (error) {
      if (error instanceof QueueFullError) return queueFull(context, error);
      throw error;
    }
  });

  app.get('/runs', async (context) => {
    const limitText = context.req.query('limit') ?? '20';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return context.json({ error: 'limit must be an integer from 1 to 100', field: 'limit' }, 400);
    }
    const before = context.req.query('before');
    if (before !== undefined && !isRunId(before)) return context.json({ error: 'before must be a run id', field: 'before' }, 400);
    const page = await store.list(limit, before);
    return context.json({ runs: page.runs, next_before: page.nextBefore });
  });

  app.get('/runs/:id', async (context) => {
    const runId = context.req.param('id');
    const state = await manager.get(runId);
    return state ? context.json(state) : runNotFound(context, runId);
  });

  app.post('/runs/:id/cancel', async (context) => {
    const runId = context.req.param('id');
    if (manager.cancelRun(runId)) return context.json({ run_id: runId, status: 'cancelling' }, 202);
    const state = await manager.get(runId);
    if (!state) return runNotFound(context, runId);
    if (state.status !== 'queued' && state.status !== 'running') {
      return context.json({ error: `run ${runId} has already ended (${state.status})` }, 409);
    }
    await requestCancel(store.metadataDirectory(runId), 'all');
    return context.json({ run_id: runId, status: 'cancelling' }, 202);
  });

  app.post('/runs/:id/agents/:n/cancel', async (context) => {
    const runId = context.req.param('id');
    const agentId = Number(context.req.param('n'));
    const state = await manager.get(runId);
    if (!state) return runNotFound(context, runId);
    const agent = Number.isInteger(agentId) ? state.results.find((result) => result.agent_id === agentId) : undefined;
    if (!agent) return context.json({ error: `run ${runId} has no agent ${context.req.param('n')}` }, 404);
    const outcome = manager.cancelAgent(runId, agentId);
    if (outcome === 'already_finished' || (outcome === 'not_found' && agent.status !== 'pending' && agent.status !== 'running')) {
      return context.json({ error: `agent ${agentId} has already ended (${agent.status})` }, 409);
    }
    if (outcome === 'not_found') await requestCancel(store.metadataDirectory(runId), [agentId]);
    return context.json({ run_id: runId, agent_id: agentId, status: 'cancelling' }, 202);
  });

  app.get('/runs/:id/events', async (context) => {
    const runId = context.req.param('id');
    if (!(await manager.get(runId))) return runNotFound(context, runId);
    const lastEventHeader = context.req.header('last-event-id') ?? context.req.query('after') ?? '0';
    const afterId = Number.isInteger(Number(lastEventHeader)) ? Number(lastEventHeader) : 0;
    context.header('X-Accel-Buffering', 'no');
    return streamSSE(context, async (stream) => {
      const send = (event: RunEvent) =>
        stream.writeSSE({ id: String(event.id), event: event.type, data: JSON.stringify(event) });
      let done = false;
      let wake: () => void = () => {};
      const queue: RunEvent[] = [];
      const unsubscribe = manager.subscribe(runId, afterId, (event) => {
        queue.push(event);
        wake();
      });
      stream.onAbort(() => {
        done = true;
        wake();
      });
      let lastId = afterId;
      try {
        while (!done) {
          if (!unsubscribe) {
            // Another replica owns this run (or it has ended): follow its event log on disk.
            queue.push(...(await store.readEvents(runId, lastId)));
          }
          while (queue.length > 0 && !done) {
            const event = queue.shift()!;
            if (event.id <= lastId) continue;
            lastId = event.id;
            await send(event);
            if (event.type === 'run_finished') done = true;
          }
          if (done) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (!unsubscribe) setTimeout(resolve, dependencies.pollMs ?? 250);
          });
          wake = () => {};
        }
      } finally {
        unsubscribe?.();
      }
    });
  });
}
