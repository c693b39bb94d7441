// Starts the frontend server: config → page build if needed → HTTP server on HOST:PORT, stopped by a signal.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { ConfigError, loadConfig } from './config.ts';
import { createFrontendApp } from './app.ts';
import { DEFAULT_DIST, ensureBuilt } from './build.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`frontend: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

try {
  if (await ensureBuilt(DEFAULT_DIST)) console.log(`frontend: built the page into ${DEFAULT_DIST}`);
} catch (error) {
  // A read-only image still has the page it was built with; only a missing page is fatal.
  if (!existsSync(path.join(DEFAULT_DIST, 'index.html'))) {
    console.error(`frontend: could not build the page into ${DEFAULT_DIST}: ${(error as Error).message}`);
    process.exit(1);
  }
  console.warn(`frontend: could not rebuild the page (${(error as Error).message}); serving the one in ${DEFAULT_DIST}`);
}

const app = createFrontendApp({ config, assetsDir: DEFAULT_DIST });
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (address) => {
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  console.log(
    `frontend: open http://${shownHost}:${address.port}/ (orchestrator ${config.orchestratorUrl}${config.orchestratorToken ? ', with token' : ''})`,
  );
});
// Event streams last as long as a run: Node's default request timeout would cut them off.
server.setTimeout?.(0);
if ('requestTimeout' in server) (server as { requestTimeout: number }).requestTimeout = 0;

function shutdown(): void {
  const forced = setTimeout(() => process.exit(0), 3_000);
  forced.unref();
  // Open event streams would keep close() waiting; the browser reconnects to the next server by itself.
  if ('closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
