// Test support: listening servers on loopback ports (the frontend app in-process, a scripted stand-in orchestrator) and their teardown.
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(app: Hono): Promise<Listening> {
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (address) => resolve(address.port));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Open event streams would keep close() waiting forever.
        if (server && 'closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections();
        server?.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on: bind one, note it, close it. */
export async function unusedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
