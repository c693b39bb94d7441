// Cancel requests for runs owned by another replica: written beside the run, picked up by the owner's heartbeat.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type CancelTarget = 'all' | number[];

const FILE = 'cancel-request.json';

export async function requestCancel(metadataDirectory: string, target: CancelTarget): Promise<void> {
  const existing = await takeCancelRequest(metadataDirectory, { keep: true });
  const merged: CancelTarget =
    target === 'all' || existing === 'all' ? 'all' : [...new Set([...(existing ?? []), ...target])];
  await writeFile(path.join(metadataDirectory, FILE), JSON.stringify({ target: merged }));
}

/** Reads (and by default removes) a pending cancel request. */
export async function takeCancelRequest(metadataDirectory: string, options: { keep?: boolean } = {}): Promise<CancelTarget | undefined> {
  const file = path.join(metadataDirectory, FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!options.keep) await rm(file, { force: true });
  try {
    const target = (JSON.parse(text) as { target?: unknown }).target;
    if (target === 'all') return 'all';
    if (Array.isArray(target)) return target.filter((value): value is number => Number.isInteger(value));
  } catch {
    // a torn write: treat as no request
  }
  return undefined;
}
