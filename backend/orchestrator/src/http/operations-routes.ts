// The operator's routes: GET /diagnostics (every health fact, each check on its own) and GET /test-docker (a throwaway container).
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { collectDiagnostics, type DiagnosticsDependencies } from '../diagnostics/diagnostics.ts';
import { testDocker } from '../diagnostics/test-docker.ts';

export interface OperationsDependencies extends DiagnosticsDependencies {
  logger: Logger;
  /** The image /test-docker runs. */
  dockerImage: string;
  dockerCommand?: string;
  /** For the test container's whole life. */
  testDockerTimeoutMs?: number;
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
}
