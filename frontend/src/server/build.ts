// Bundles the page (src/client) with esbuild into dist/: index.html, app.js and app.css; run directly by `npm run build`.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { renderPage } from './page.ts';

const packageRoot = path.resolve(import.meta.dirname, '..', '..');
export const DEFAULT_DIST = path.join(packageRoot, 'dist');
const CLIENT_DIR = path.join(packageRoot, 'src', 'client');
const OUTPUTS = ['index.html', 'app.js', 'app.css'];

export async function buildClient(outdir: string = DEFAULT_DIST): Promise<void> {
  await mkdir(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: { app: path.join(CLIENT_DIR, 'main.ts') },
    bundle: true,
    format: 'esm',
    // Browsers of the last few years, phones included; nothing older needs to open a developer tool.
    target: ['chrome111', 'firefox111', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    outdir,
    logLevel: 'warning',
    tsconfig: path.join(CLIENT_DIR, 'tsconfig.json'),
  });
  await writeFile(path.join(outdir, 'index.html'), renderPage());
}

async function newestMtime(directory: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtime(full));
    else if (entry.isFile()) newest = Math.max(newest, (await stat(full)).mtimeMs);
  }
  return newest;
}

/** Builds when dist/ is missing or older than the page's sources, so a fresh clone's `npm start` just works. */
export async function ensureBuilt(outdir: string = DEFAULT_DIST): Promise<boolean> {
  const sources = Math.max(await newestMtime(CLIENT_DIR), (await stat(path.join(import.meta.dirname, 'page.ts'))).mtimeMs);
  let oldestOutput = Infinity;
  try {
    for (const name of OUTPUTS) oldestOutput = Math.min(oldestOutput, (await stat(path.join(outdir, name))).mtimeMs);
  } catch {
    oldestOutput = 0;
  }
  if (oldestOutput >= sources) return false;
  await buildClient(outdir);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildClient();
  console.log(`built ${path.relative(process.cwd(), DEFAULT_DIST) || DEFAULT_DIST} in ${Date.now() - started} ms`);
}
