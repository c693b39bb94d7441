// `npm start`: runs everything a local user needs (the orchestrator, and the web frontend once built) and stops them together.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const services: Array<{ name: string; entry: string }> = [
  { name: 'orchestrator', entry: 'backend/orchestrator/src/main.ts' },
  { name: 'frontend', entry: 'frontend/src/server/main.ts' },
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
  const child = spawn(process.execPath, ['--import', 'tsx', service.entry], { cwd: root, stdio: 'inherit', env: process.env });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${service.name} exited (${signal ?? code}); stopping the rest`);
      stopAll(code ?? 1);
    }
  });
  children.push(child);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
