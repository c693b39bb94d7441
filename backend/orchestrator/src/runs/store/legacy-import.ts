// Moves the records of earlier versions (files under runs/run_<id>/.multiclaude/) into the run store, once per workspace, at start-up, keeping every run and event.
import { readFile, readdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { RunEventSchema, RunStateSchema, type RunEvent, type RunState } from '@multiclaude/contract';
import type { WorkspaceLayout } from '../../workspace/layout.ts';
import type { RunStore } from '../run-store.ts';

/** The store's mark that the workspace's files were imported: later start-ups read no run directory. */
export const LEGACY_IMPORT_MARK = 'legacy_files_imported';

export interface LegacyImportResult {
  imported: number;
  /** Already in the store (another replica imported them, or a previous attempt stopped half way). */
  skipped: number;
  /** Run directories with no readable state (a run that never got one, or a forged or torn file). */
  unreadable: string[];
}

async function readState(file: string, runId: string): Promise<RunState | undefined> {
  try {
    const parsed = RunStateSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    // A record that names another run (copied or forged) is not this run's.
    return parsed.success && parsed.data.run_info.run_id === runId ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function readEvents(file: string, runId: string): Promise<RunEvent[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const events = new Map<number, RunEvent>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const parsed = RunEventSchema.safeParse(JSON.parse(line));
      if (parsed.success && parsed.data.run_id === runId && !events.has(parsed.data.id)) events.set(parsed.data.id, parsed.data);
    } catch {
      // a torn line (a crash mid-append)
    }
  }
  return [...events.values()].sort((a, b) => a.id - b.id);
}

/**
 * Imports every run recorded as files that the store does not have yet, then marks the workspace imported.
 * The files are read, never changed: a failed start-up loses nothing and the next one imports what is left.
 * A run that was queued or running comes in without a lease, so the sweep closes it as interrupted.
 */
export async function importLegacyRuns(options: { store: RunStore; layout: WorkspaceLayout; logger: Logger }): Promise<LegacyImportResult> {
  const { store, layout, logger } = options;
  const result: LegacyImportResult = { imported: 0, skipped: 0, unreadable: [] };
  if (await store.readMark(LEGACY_IMPORT_MARK)) return result;
  const entries = await readdir(layout.runsDirectory).catch(() => [] as string[]);
  for (const runId of layout.runIdsIn(entries).sort()) {
    if (await store.hasRun(runId)) {
      result.skipped++;
      continue;
    }
    const files = layout.legacyRecords(runId);
    const state = await readState(files.statePath, runId);
    if (!state) {
      result.unreadable.push(runId);
      continue;
    }
    // Events first: a state in the store means the run was imported whole.
    const events = await readEvents(files.eventsPath, runId);
    for (let start = 0; start < events.length; start += 500) await store.appendEvents(runId, events.slice(start, start + 500));
    await store.writeState(state);
    result.imported++;
  }
  await store.writeMark(LEGACY_IMPORT_MARK, new Date().toISOString());
  if (result.imported > 0 || result.unreadable.length > 0) {
    logger.info({ imported: result.imported, skipped: result.skipped, unreadable: result.unreadable }, 'run records of an earlier version imported into the run store');
  }
  return result;
}
