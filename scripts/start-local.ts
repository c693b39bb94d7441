// `npm start`: runs everything a local user needs (the orchestrator, and the web frontend once built) and stops them together.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SECRET_VARIABLES, scrubOwnEnvironment, scrubProcessTree } from '../backend/orchestrator/src/process/scrub-environment.ts';

const root = path.resolve(import.meta.dirname, '..');
// Held here and handed to the services explicitly: this process's own environ (readable by an agent's
// tools in the local runtime) is blanked before anything else starts.
const secrets = Object.fromEntries(SECRET_VARIABLES.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
scrubOwnEnvironment();
const orchestratorPort = process.env['PORT'] ?? '8080';
// PORT and HOST name the orchestrator's address; the frontend takes FRONTEND_PORT/FRONTEND_HOST and
// is pointed at the orchestrator it was started with. It needs the orchestrator token, not the API key.
const frontendEnvironment: NodeJS.ProcessEnv = {
  ...process.env,
  ...(secrets['ORCHESTRATOR_TOKEN'] ? { ORCHESTRATOR_TOKEN: secrets['ORCHESTRATOR_TOKEN'] } : {}),
  PORT: process.env['FRONTEND_PORT'] ?? '3000',
  HOST: process.env['FRONTEND_HOST'] ?? '127.0.0.1',
  ORCHESTRATOR_URL: process.env['ORCHESTRATOR_URL'] ?? `http://127.0.0.1:${orchestratorPort}`,
};
const frontendUrl = `http://${frontendEnvironment['HOST']}:${frontendEnvironment['PORT']}/`;
const services: Array<{ name: string; entry: string; env: NodeJS.ProcessEnv; readyUrl?: string }> = [
  // The orchestrator blanks its own copy once it has read its configuration.
  { name: 'orchestrator', entry: 'backend/orchestrator/src/main.ts', env: { ...process.env, ...secrets } },
  { name: 'frontend', entry: 'frontend/src/server/main.ts', env: frontendEnvironment, readyUrl: frontendUrl },
].filter((service) => existsSync(path.join(root, service.entry)));

const children: ChildProcess[] = [];
let stopping = false;

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const forced = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(code);
  }, 10_000);
  forced.unref();
  Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve))))).then(
    () => process.exit(code),
  );
}

for (const service of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', service.entry], { cwd: root, stdio: 'inherit', env: service.env });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${service.name} exited (${signal ?? code}); stopping the rest`);
      stopAll(code ?? 1);
    }
  });
  children.push(child);
  if (service.readyUrl && child.pid !== undefined) void blankOnceServing(child.pid, service.readyUrl);
}

/**
 * A service that serves has read its configuration once and for all: its token's copy in its
 * environ, and in its children's (tsx's esbuild), is blanked then, as the orchestrator does its own.
 */
async function blankOnceServing(pid: number, url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!stopping && Date.now() < deadline) {
    if (await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false)) {
      const result = scrubProcessTree(pid);
      if (result.error) console.error(`could not blank the secrets in the environment of pid ${pid}: ${result.error}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
