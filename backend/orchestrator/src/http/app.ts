// The orchestrator's HTTP API as a Hono app; main.ts serves it, tests call it in-process.
import { mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { OrchestrateRequestSchema, MAX_PROMPT_LENGTH, type ReadyResponse } from '@multiclaude/contract';
import type { RunService } from '../runs/run-service.ts';
import type { SandboxRuntime } from '../sandboxes/runtime.ts';
import { parseJsonBody } from './json-body.ts';

export interface AppDependencies {
  runs: RunService;
  runtime: SandboxRuntime;
  workspaceLocal: string;
  /** Shown in /ready so a user can tell the demo model from Claude. */
  modelDescription: string;
  logger: Logger;
}

// Room for a maximal prompt in multi-byte characters, plus the rest of the JSON.
const MAX_BODY_BYTES = MAX_PROMPT_LENGTH * 4 + 64 * 1024;

async function workspaceWritable(workspaceLocal: string): Promise<{ ok: boolean; detail: string }> {
  const probe = path.join(workspaceLocal, `.ready-${process.pid}-${Date.now()}`);
  try {
    await mkdir(workspaceLocal, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
    return { ok: true, detail: `${workspaceLocal} is writable` };
  } catch (error) {
    return { ok: false, detail: `${workspaceLocal} is not writable: ${(error as Error).message}` };
  }
}

export function createApp(dependencies: AppDependencies): Hono {
  const app = new Hono();
  const { logger } = dependencies;

  app.onError((error, context) => {
    logger.error({ err: error, method: context.req.method, path: context.req.path }, 'request failed');
    return context.json({ error: 'internal error' }, 500);
  });
  app.notFound((context) => context.json({ error: `no route for ${context.req.method} ${context.req.path}` }, 404));

  app.get('/health', (context) => context.json({ status: 'ok' as const }));

  app.get('/ready', async (context) => {
    const [workspace, runtime] = await Promise.all([
      workspaceWritable(dependencies.workspaceLocal),
      dependencies.runtime.check(AbortSignal.timeout(10_000)),
    ]);
    const body: ReadyResponse = {
      status: workspace.ok && runtime.ok ? 'ready' : 'not_ready',
      runtime: dependencies.runtime.name,
      model: dependencies.modelDescription,
      checks: { workspace, runtime },
    };
    return context.json(body, body.status === 'ready' ? 200 : 503);
  });

  app.post(
    '/orchestrate',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (context) => context.json({ error: 'request body is too large', field: 'prompt' }, 413),
    }),
    async (context) => {
      const parsed = await parseJsonBody(context, OrchestrateRequestSchema);
      if (!parsed.ok) return context.json(parsed.body, parsed.status);
      const response = await dependencies.runs.orchestrate(parsed.value);
      return context.json(response);
    },
  );

  return app;
}
