// Keeps each run's state and event log on the shared workspace, beside its repository: `.multiclaude/run.json` (atomic) and `events.jsonl` (append-only).
import { mkdir, readFile, readdir, rename, writeFile, appendFile, open } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RunEventSchema, RunStateSchema, type RunEvent, type RunListItem, type RunState } from '@multiclaude/contract';
import { isRunId, runDirectoryName } from './run-id.ts';
import { METADATA_DIRECTORY } from '../git/run-repository.ts';

export class RunStore {
  readonly #workspaceLocal: string;

  constructor(workspaceLocal: string) {
    this.#workspaceLocal = workspaceLocal;
  }

  get runsDirectory(): string {
    return path.join(this.#workspaceLocal, 'runs');
  }

  runDirectory(runId: string): string {
    return path.join(this.runsDirectory, runDirectoryName(runId));
  }

  metadataDirectory(runId: string): string {
    return path.join(this.runDirectory(runId), METADATA_DIRECTORY);
  }

  #statePath(runId: string): string {
    return path.join(this.metadataDirectory(runId), 'run.json');
  }

  #eventsPath(runId: string): string {
    return path.join(this.metadataDirectory(runId), 'events.jsonl');
  }

  /** Writes run.json whole through a temp file and rename, so a reader never sees half of it. */
  async writeState(state: RunState): Promise<void> {
    const target = this.#statePath(state.run_info.run_id);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(state, null, 2));
    await rename(temporary, target);
  }

  /** The run's state, or undefined when there is no such run (or the id is not a run id). */
  async readState(runId: string): Promise<RunState | undefined> {
    if (!isRunId(runId)) return undefined;
    let text: string;
    try {
      text = await readFile(this.#statePath(runId), 'utf8');
    } catch {
      return undefined;
    }
    const parsed = RunStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  }

  async appendEvents(runId: string, events: RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await appendFile(this.#eventsPath(runId), events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  }

  /** Events with id greater than `afterId`; a torn last line (a crash mid-append) is skipped. */
  async readEvents(runId: string, afterId = 0): Promise<RunEvent[]> {
    if (!isRunId(runId)) return [];
    let text: string;
    try {
      text = await readFile(this.#eventsPath(runId), 'utf8');
    } catch {
      return [];
    }
    const events: RunEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const parsed = RunEventSchema.safeParse(JSON.parse(line));
        if (parsed.success && parsed.data.id > afterId) events.push(parsed.data);
      } catch {
        // torn line
      }
    }
    return events;
  }

  /** The highest event id written so far, so a recovered run's new events continue the sequence. */
  async lastEventId(runId: string): Promise<number> {
    const events = await this.readEvents(runId);
    return events.at(-1)?.id ?? 0;
  }

  /** Run ids on disk, newest first (ids start with their UTC timestamp). */
  async listRunIds(): Promise<string[]> {
    const entries = await readdir(this.runsDirectory).catch(() => [] as string[]);
    return entries
      .filter((name) => name.startsWith('run_') && isRunId(name.slice(4)))
      .map((name) => name.slice(4))
      .sort()
      .reverse();
  }

  /** A page of runs, newest first, strictly older than `before` when given. */
  async list(limit: number, before?: string): Promise<{ runs: RunListItem[]; nextBefore: string | null }> {
    const ids = (await this.listRunIds()).filter((id) => !before || id < before);
    const runs: RunListItem[] = [];
    let index = 0;
    for (; index < ids.length && runs.length < limit; index++) {
      const state = await this.readState(ids[index]!);
      if (!state) continue;
      runs.push({
        run_id: state.run_info.run_id,
        status: state.status,
        prompt: state.prompt.length > 200 ? `${state.prompt.slice(0, 199)}…` : state.prompt,
        agent_count: state.agent_count,
        created_at: state.created_at,
        finished_at: state.finished_at,
        summary: state.summary,
      });
    }
    const nextBefore = index < ids.length && runs.length > 0 ? runs.at(-1)!.run_id : null;
    return { runs, nextBefore };
  }

  /** Makes sure a file ends on a whole line, after a crash mid-append. */
  async repairEventLog(runId: string): Promise<void> {
    const file = await open(this.#eventsPath(runId), 'r+').catch(() => undefined);
    if (!file) return;
    try {
      const { size } = await file.stat();
      if (size === 0) return;
      const last = Buffer.alloc(1);
      await file.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await file.write('\n', size);
    } finally {
      await file.close();
    }
  }
}
