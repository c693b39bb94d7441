// The orchestrator's HTTP API as a Hono app; main.ts serves it, tests call it in-process.
import { mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { HealthResponse, ReadyResponse } from '@multiclaude/contract';
import type { RunMachinery } from '../runs/wiring.ts';
import type { SandboxRuntime } from '../sandboxes/runtime.ts';
import { errorHandler } from './errors.ts';
import { boundedBodies } from './body-limits.ts';
import { formatBytes, freeSpace } from '../workspace/disk.ts';
import { bearerAuth } from './auth.ts';
import { registerRunRoutes } from './runs-routes.ts';
import { accessLog } from './access-log.ts';
import { registerOperationsRoutes } from './operations-routes.ts';
import { registerWorkspaceRoutes } from './workspace-routes.ts';
import { registerReviewRoutes } from './review-routes.ts';

export interface AppDependencies {
  machinery: Pick<RunMachinery, 'manager' | 'runs' | 'review' | 'store' | 'capacity'>;
  runtime: SandboxRuntime;
  /** The other runtimes known, shown in /diagnostics as information. */
  otherRuntimes?: SandboxRuntime[];
  /** Why this runtime was chosen (AGENT_RUNTIME=auto says what it found). */
  runtimeReason?: string;
  workspaceLocal: string;
  /** Shown in /ready so a user can tell the demo model from Claude. */
  modelDescription: string;
  /** When set, every route but /health and /ready needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** New runs are refused below this much free space (MIN_FREE_DISK); /ready reports it. */
  minFreeDiskBytes: number;
  /** For /diagnostics and /test-docker. */
  operations: { dockerImage: string; claudeExecutable: string; logDirectory?: string };
  logger: Logger;
}

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

async function enoughSpace(workspaceLocal: string, floorBytes: number): Promise<{ ok: boolean; detail: string }> {
  try {
    const { freeBytes } = await freeSpace(workspaceLocal);
    const detail = `${formatBytes(freeBytes)} free on the workspace's file system (MIN_FREE_DISK ${formatBytes(floorBytes)})`;
    return freeBytes >= floorBytes ? { ok: true, detail } : { ok: false, detail: `${detail}: new runs are refused` };
  } catch (error) {
    return { ok: false, detail: `cannot read the free space of ${workspaceLocal}: ${(error as Error).message}` };
  }
}

export function createApp(dependencies: AppDependencies): Hono {
  const app = new Hono();
  const { logger } = dependencies;

  app.onError(errorHandler(logger));
  app.notFound((context) => context.json({ error: `no route for ${context.req.method} ${context.req.path}` }, 404));
  // Before auth, so refused requests are in the access log too.
  app.use('*', accessLog(logger));
  app.use('*', bearerAuth(dependencies.token));
  app.use('*', boundedBodies());

  app.get('/health', (context) => context.json({ status: 'ok' } satisfies HealthResponse));

  app.get('/ready', async (context) => {
    const [workspace, runtime, disk, store] = await Promise.all([
      workspaceWritable(dependencies.workspaceLocal),
      dependencies.runtime.check(AbortSignal.timeout(10_000)),
      enoughSpace(dependencies.workspaceLocal, dependencies.minFreeDiskBytes),
      dependencies.machinery.store.check(),
    ]);
    const database = { ok: store.ok, detail: store.detail };
    const body: ReadyResponse = {
      status: workspace.ok && runtime.ok && disk.ok && database.ok ? 'ready' : 'not_ready',
      runtime: dependencies.runtime.name,
      ...(dependencies.runtimeReason ? { runtime_reason: dependencies.runtimeReason } : {}),
      model: dependencies.modelDescription,
      checks: { workspace, runtime, disk, database },
    };
    return context.json(body, body.status === 'ready' ? 200 : 503);
  });

  const { machinery } = dependencies;
  registerRunRoutes(app, machinery.runs);
  registerOperationsRoutes(app, {
    runtime: dependencies.runtime,
    sandboxRuntime: dependencies.runtime,
    ...(dependencies.otherRuntimes ? { otherRuntimes: dependencies.otherRuntimes } : {}),
    runtimeReason: dependencies.runtimeReason,
    dockerImage: dependencies.operations.dockerImage,
    claudeExecutable: dependencies.operations.claudeExecutable,
    logDirectory: dependencies.operations.logDirectory,
    workspaceLocal: dependencies.workspaceLocal,
    runsInFlight: () => machinery.manager.runsInFlight,
    database: () => machinery.store.check(),
    unrecordedRuns: () => machinery.manager.unrecordedRunIds,
    capacity: () => machinery.capacity.describe(),
    minFreeDiskBytes: dependencies.minFreeDiskBytes,
    logger,
  });
  registerWorkspaceRoutes(app, { workspaceLocal: dependencies.workspaceLocal, logger });
  registerReviewRoutes(app, machinery.review);
  return app;
}
