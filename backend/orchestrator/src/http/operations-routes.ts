// The operator's routes: GET /diagnostics (every health fact, each check on its own), GET /test-docker (a throwaway container) and GET /test-sandbox (a throwaway sandbox of the runtime in use).
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { collectDiagnostics, type DiagnosticsDependencies } from '../diagnostics/diagnostics.ts';
import { testDocker } from '../diagnostics/test-docker.ts';
import { testSandbox } from '../diagnostics/test-sandbox.ts';
import type { SandboxRuntime } from '../sandboxes/runtime.ts';

export interface OperationsDependencies extends DiagnosticsDependencies {
  logger: Logger;
  /** The image /test-docker runs. */
  dockerImage: string;
  dockerCommand?: string;
  /** For the test container's whole life. */
  testDockerTimeoutMs?: number;
  /** The runtime /test-sandbox starts a throwaway sandbox with (the one agents use). */
  sandboxRuntime?: Pick<SandboxRuntime, 'name' | 'runCommand'>;
  testSandboxTimeoutMs?: number;
}

export function registerOperationsRoutes(app: Hono, dependencies: OperationsDependencies): void {
  const { logger } = dependencies;

  // Always 200: the report is the answer, and a failing check is a fact in it, not a failure of the request.
  app.get('/diagnostics', async (context) => {
    const report = await collectDiagnostics(dependencies);
    const failing = Object.entries(report.checks).filter(([, check]) => check.status !== 'ok');
    if (failing.length > 0) {
      logger.debug({ failing: Object.fromEntries(failing.map(([name, check]) => [name, check.error])) }, 'diagnostics: some checks are not ok');
    }
    return context.json(report);
  });

  app.get('/test-docker', async (context) => {
    const result = await testDocker({
      dockerImage: dependencies.dockerImage,
      ...(dependencies.dockerCommand ? { dockerCommand: dependencies.dockerCommand } : {}),
      ...(dependencies.testDockerTimeoutMs ? { timeoutMs: dependencies.testDockerTimeoutMs } : {}),
    });
    if (!result.body.success) logger.warn({ error: result.body.error, image: result.body.image }, 'test-docker failed');
    return context.json(result.body, result.httpStatus);
  });

  // The /test-docker of every runtime: a pod on the kubernetes runtime, a container on docker, a sandbox user on local.
  app.get('/test-sandbox', async (context) => {
    const runtime = dependencies.sandboxRuntime;
    if (!runtime) return context.json({ success: false, error: 'no sandbox runtime is configured in this process' }, 503);
    const result = await testSandbox({
      runtime,
      workspaceLocal: dependencies.workspaceLocal,
      logger,
      ...(dependencies.testSandboxTimeoutMs ? { timeoutMs: dependencies.testSandboxTimeoutMs } : {}),
    });
    if (!result.body.success) logger.warn({ error: result.body.error, runtime: result.body.runtime }, 'test-sandbox failed');
    return context.json(result.body, result.httpStatus);
  });
}
