// Reads the V8 CPU profile an orchestrator wrote under `node --cpu-prof` and says where its time went: by function (self time) and by origin (our code, a dependency, node).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  byOrigin: Array<{ origin: string; ms: number }>;
  topFunctions: Array<{ name: string; ms: number }>;
}

function origin(url: string, functionName: string): string {
  if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName;
  if (!url) return '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  if (url.startsWith('node:')) return 'node';
  const ours = /\/(backend|packages|frontend|bench)\/(.*)$/.exec(url);
  return ours ? `ours: ${ours[1]}/${ours[2]!.split('/').slice(0, 3).join('/')}` : url;
}

export async function summarizeProfile(file: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1_000));
  const origins = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    totalMs += ms;
    if (frame.functionName === '(idle)') idleMs += ms;
    const where = origin(frame.url, frame.functionName);
    origins.set(where, (origins.get(where) ?? 0) + ms);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.replace(/^file:\/\/.*?\/(node_modules|backend|packages)\//, '$1/')}:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + ms);
  }
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return {
    file,
    totalMs,
    idleMs,
    byOrigin: sorted(origins)
      .filter(([name]) => name !== '(idle)')
      .slice(0, top)
      .map(([name, ms]) => ({ origin: name, ms })),
    topFunctions: sorted(functions)
      .filter(([name]) => !name.startsWith('(idle)'))
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms })),
  };
}

/** The newest main-thread profile in a directory, if any (`CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile`; thread 0 is main, the others tsx's loader). */
export async function newestProfile(directory: string): Promise<string | undefined> {
  const files = (await readdir(directory).catch(() => []))
    .filter((file) => file.endsWith('.cpuprofile') && file.split('.')[4] === '0')
    .sort();
  return files.length > 0 ? path.join(directory, files.at(-1)!) : undefined;
}
