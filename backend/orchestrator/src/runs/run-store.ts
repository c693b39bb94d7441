// The RunStore interface: every record of every run — state (with its agents), events, leases and cancel requests — behind one API, whichever database keeps them.
import { z } from 'zod';
import type { RunEvent, RunListItem, RunState } from '@multiclaude/contract';

/** Who runs a run now: one orchestrator process, on one host. */
export const LeaseHolderSchema = z.object({ owner: z.string().min(1), host: z.string(), pid: z.number().int() });
export type LeaseHolder = z.infer<typeof LeaseHolderSchema>;

/** A lease as the store reads it back: the holder, its last heartbeat, and whether it has expired by the database's clock. */
export interface Lease extends LeaseHolder {
  heartbeat_at: string;
  expired: boolean;
}

/** What a cancel request asks: the whole run, or some of its agents. */
export type CancelTarget = 'all' | number[];
export const CancelTargetSchema = z.union([z.literal('all'), z.array(z.number().int().positive())]);

export interface RunPage {
  runs: RunListItem[];
  nextBefore: string | null;
}

/** A run recorded as queued or running, with its lease (undefined when it has none). */
export interface UnfinishedRun {
  runId: string;
  lease: Lease | undefined;
}

export type EventListener = (event: RunEvent) => void;

/** A fact for /ready and /diagnostics: is the database answering, and which one it is. */
export interface StoreCheck {
  ok: boolean;
  detail: string;
  kind: 'sqlite' | 'postgres';
}

/**
 * Every record of a run; the one interface through which the service reads and writes them. Each call that
 * changes something is one transaction. Every query is answered from an index: its cost follows the runs it
 * is about, never the size of the history.
 */
export interface RunStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates the run's record or replaces its state. */
  writeState(state: RunState): Promise<void>;
  /** The run's state, or undefined when there is no such run. */
  readState(runId: string): Promise<RunState | undefined>;
  /** Reads, changes and writes a run's state as one transaction; undefined when there is no such run. */
  updateState(runId: string, change: (state: RunState) => void): Promise<RunState | undefined>;
  /** Appends events (ids the caller numbered, increasing); subscribers on every replica hear of them. */
  appendEvents(runId: string, events: RunEvent[]): Promise<void>;
  /** Events with id greater than `afterId`, in order. */
  readEvents(runId: string, afterId?: number): Promise<RunEvent[]>;
  /**
   * Delivers the run's events after `afterId` in order, then each new one as any replica appends it, until
   * the returned function is called.
   */
  subscribe(runId: string, afterId: number, listener: EventListener): () => void;
  /** A page of runs, newest first, strictly older than `before` when given. */
  list(limit: number, before?: string): Promise<RunPage>;
  /** Runs recorded as queued or running, with their leases. */
  unfinishedRuns(): Promise<UnfinishedRun[]>;
  /** Takes or refreshes the run's lease for `ttlMs` of the database's clock. */
  renewLease(runId: string, holder: LeaseHolder, ttlMs: number): Promise<void>;
  /**
   * Closes an orphaned run as one transaction, exactly once across replicas: only if it is still queued or
   * running and its lease is still `expected` (same holder and heartbeat; undefined = none). Appends the final
   * `run_finished` event and drops the lease. Returns the new state, or undefined when another replica acted
   * first or the owner came back.
   */
  interrupt(runId: string, expected: Lease | undefined, close: (state: RunState) => RunState): Promise<RunState | undefined>;
  /** Leaves a cancel request for the run's owner (another replica), merged with any pending one. */
  requestCancel(runId: string, target: CancelTarget): Promise<void>;
  /** Takes (reads and removes) the pending cancel request, if any. */
  takeCancelRequest(runId: string): Promise<CancelTarget | undefined>;
  /** Finished runs created before `createdBefore` (ISO time), oldest first, at most `limit`. */
  finishedBefore(createdBefore: string, limit: number): Promise<string[]>;
  /** Removes every record of a finished run; false (and nothing removed) when it is queued or running. */
  deleteRun(runId: string): Promise<boolean>;
  /** Whether a run is recorded at all (for the one-time import of older workspaces). */
  hasRun(runId: string): Promise<boolean>;
  /** A named flag kept in the database (e.g. that an old workspace was imported). */
  readMark(name: string): Promise<string | undefined>;
  writeMark(name: string, value: string): Promise<void>;
  check(): Promise<StoreCheck>;
  close(): Promise<void>;
}

/** The list entry of a run: the fields GET /runs shows, kept beside the state so listing never reads a whole state. */
export function listItemOf(state: RunState): RunListItem {
  return {
    run_id: state.run_info.run_id,
    status: state.status,
    prompt: state.prompt.length > 200 ? `${state.prompt.slice(0, 199)}…` : state.prompt,
    agent_count: state.agent_count,
    created_at: state.created_at,
    finished_at: state.finished_at,
    summary: state.summary,
    followups: state.followups,
    ...(state.run_info.source ? { source: state.run_info.source } : {}),
  };
}

export function mergeCancelTargets(existing: CancelTarget | undefined, target: CancelTarget): CancelTarget {
  return target === 'all' || existing === 'all' ? 'all' : [...new Set([...(existing ?? []), ...target])];
}
