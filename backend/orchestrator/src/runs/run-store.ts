// Keeps every run's records — state, event log, lease and cancel requests — as files beside its repository (`.multiclaude/`), behind the RunStore interface the rest of the service uses.
import { mkdir, readFile, readdir, rename, rm, writeFile, appendFile, open } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { RunEventSchema, RunStateSchema, type RunEvent, type RunListItem, type RunState } from '@multiclaude/contract';
import { LayoutError, type WorkspaceLayout } from '../workspace/layout.ts';
import { Mutex } from './mutex.ts';

export const LeaseSchema = z.object({ owner: z.string(), host: z.string(), pid: z.number().int(), heartbeat_at: z.string() });
export type Lease = z.infer<typeof LeaseSchema>;

/** What a cancel request asks: the whole run, or some of its agents. */
export type CancelTarget = 'all' | number[];
const CancelRequestSchema = z.object({ target: z.union([z.literal('all'), z.array(z.number().int().positive())]) });

export interface RunPage {
  runs: RunListItem[];
  nextBefore: string | null;
}

/** Every record of a run; the one interface through which the service reads and writes them. */
export interface RunStore {
  writeState(state: RunState): Promise<void>;
  /** The run's state, or undefined when there is no such run (or the id is not a run id). */
  readState(runId: string): Promise<RunState | undefined>;
  /** Read, change and write a run's state as one step (per run, in this process); undefined when there is no such run. */
  updateState(runId: string, change: (state: RunState) => void): Promise<RunState | undefined>;
  appendEvents(runId: string, events: RunEvent[]): Promise<void>;
  /** Events with id greater than `afterId`, in order. */
  readEvents(runId: string, afterId?: number): Promise<RunEvent[]>;
  /** A page of runs, newest first, strictly older than `before` when given. */
  list(limit: number, before?: string): Promise<RunPage>;
  /** Runs recorded as queued or running. */
  unfinishedRunIds(): Promise<string[]>;
  writeLease(runId: string, lease: Lease): Promise<void>;
  readLease(runId: string): Promise<Lease | undefined>;
  /** Leaves a cancel request for the run's owner (another replica), merged with any pending one. */
  requestCancel(runId: string, target: CancelTarget): Promise<void>;
  /** Takes (reads and removes) the pending cancel request, if any. */
  takeCancelRequest(runId: string): Promise<CancelTarget | undefined>;
}

async function writeAtomically(target: string, text: string): Promise<void> {
  const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, target);
}

async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // a torn or foreign file reads as no record
  }
}

/** The file-backed store: run.json (atomic), events.jsonl (append-only), lease.json, cancel-request.json. */
export class FileRunStore implements RunStore {
  readonly #layout: WorkspaceLayout;
  readonly #updates = new Mutex();
  /** Runs whose event log this process has checked ends on a whole line (after a crash mid-append). */
  readonly #repairedLogs = new Set<string>();

  constructor(layout: WorkspaceLayout) {
    this.#layout = layout;
  }

  /** The run's paths, or undefined for anything that is not a run id (never a path built from it). */
  #paths(runId: string) {
    try {
      return this.#layout.run(runId);
    } catch (error) {
      if (error instanceof LayoutError) return undefined;
      throw error;
    }
  }

  #require(runId: string) {
    const paths = this.#paths(runId);
    if (!paths) throw new LayoutError(`not a run id: ${runId}`);
    return paths;
  }

  async writeState(state: RunState): Promise<void> {
    const paths = this.#require(state.run_info.run_id);
    await mkdir(paths.recordsDirectory, { recursive: true });
    await writeAtomically(paths.statePath, JSON.stringify(state, null, 2));
  }

  async readState(runId: string): Promise<RunState | undefined> {
    const paths = this.#paths(runId);
    const state = paths && (await readJson(paths.statePath, RunStateSchema));
    // A record that names another run (copied or forged) is not this run's.
    return state && state.run_info.run_id === runId ? state : undefined;
  }

  async updateState(runId: string, change: (state: RunState) => void): Promise<RunState | undefined> {
    return this.#updates.run(runId, async () => {
      const state = await this.readState(runId);
      if (!state) return undefined;
      change(state);
      await this.writeState(state);
      return state;
    });
  }

  async appendEvents(runId: string, events: RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const paths = this.#require(runId);
    if (!this.#repairedLogs.has(runId)) {
      await this.#repairEventLog(paths.eventsPath);
      this.#repairedLogs.add(runId);
    }
    await appendFile(paths.eventsPath, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  }

  async readEvents(runId: string, afterId = 0): Promise<RunEvent[]> {
    const paths = this.#paths(runId);
    if (!paths) return [];
    let text: string;
    try {
      text = await readFile(paths.eventsPath, 'utf8');
    } catch {
      return [];
    }
    const events: RunEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const parsed = RunEventSchema.safeParse(JSON.parse(line));
        if (parsed.success && parsed.data.id > afterId && parsed.data.run_id === runId) events.push(parsed.data);
      } catch {
        // a torn line (a crash mid-append)
      }
    }
    return events;
  }

  /** Makes sure the log ends on a whole line, so the next append does not join a torn one. */
  async #repairEventLog(file: string): Promise<void> {
    const handle = await open(file, 'r+').catch(() => undefined);
    if (!handle) return;
    try {
      const { size } = await handle.stat();
      if (size === 0) return;
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await handle.write('\n', size);
    } finally {
      await handle.close();
    }
  }

  /** Run ids on disk, newest first (ids start with their UTC timestamp). */
  async #runIds(): Promise<string[]> {
    const entries = await readdir(this.#layout.runsDirectory).catch(() => [] as string[]);
    return this.#layout.runIdsIn(entries).sort().reverse();
  }

  async list(limit: number, before?: string): Promise<RunPage> {
    const ids = (await this.#runIds()).filter((id) => !before || id < before);
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
        ...(state.run_info.source ? { source: state.run_info.source } : {}),
      });
    }
    const nextBefore = index < ids.length && runs.length > 0 ? runs.at(-1)!.run_id : null;
    return { runs, nextBefore };
  }

  async unfinishedRunIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const runId of await this.#runIds()) {
      const state = await this.readState(runId);
      if (state && (state.status === 'queued' || state.status === 'running')) ids.push(runId);
    }
    return ids;
  }

  async writeLease(runId: string, lease: Lease): Promise<void> {
    await writeAtomically(this.#require(runId).leasePath, JSON.stringify(lease));
  }

  async readLease(runId: string): Promise<Lease | undefined> {
    const paths = this.#paths(runId);
    return paths && readJson(paths.leasePath, LeaseSchema);
  }

  async requestCancel(runId: string, target: CancelTarget): Promise<void> {
    const paths = this.#require(runId);
    const existing = (await readJson(paths.cancelRequestPath, CancelRequestSchema))?.target;
    const merged: CancelTarget = target === 'all' || existing === 'all' ? 'all' : [...new Set([...(existing ?? []), ...target])];
    await writeAtomically(paths.cancelRequestPath, JSON.stringify({ target: merged }));
  }

  async takeCancelRequest(runId: string): Promise<CancelTarget | undefined> {
    const paths = this.#paths(runId);
    if (!paths) return undefined;
    const request = await readJson(paths.cancelRequestPath, CancelRequestSchema);
    if (request) await rm(paths.cancelRequestPath, { force: true });
    return request?.target;
  }
}
