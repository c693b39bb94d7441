// Measures what agents really cost in memory: the resident set of each tracked `claude` process and everything it started (its tool server), read from /proc.
import { readFileSync, readdirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Linux's page size for statm; 4 KiB on every platform the orchestrator's images run. */
const PAGE_BYTES = 4096;
/** How many whole-agent samples the estimate keeps (the largest recent one is used). */
const KEPT_SAMPLES = 50;

// Synchronous on purpose: a /proc read is an in-memory copy of a few microseconds, while the promise API costs four
// thread-pool round trips per file. Twenty trees of multi-threaded processes made thousands of them every refresh,
// and the API's answers queued behind their callbacks (bench §9: 15–43 ms of busy event loop every 5 s). Only statm and
// children are read this way: neither takes the process's memory-map lock, which an agent could hold up (environ and
// cmdline do, so they stay off the event loop's thread).
function residentBytes(pid: number): number {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8');
    return Number(statm.split(' ')[1] ?? 0) * PAGE_BYTES;
  } catch {
    return 0; // gone, or not Linux
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      let text = '';
      try {
        text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
      } catch {
        // the thread ended meanwhile
      }
      for (const child of text.split(' ')) if (child.trim()) children.push(Number(child));
    }
  } catch {
    // gone
  }
  return children;
}

/** The resident bytes of a process and all its descendants (a claude process, its tool server and their tools). */
export function treeResidentBytes(pid: number): number {
  let total = 0;
  const pending = [pid];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    total += residentBytes(next);
    pending.push(...childrenOf(next));
  }
  return total;
}

export interface FootprintSample {
  /** Agents (and spares) measured. */
  processes: number;
  /** Their resident bytes together. */
  totalBytes: number;
  /** The largest of them. */
  largestBytes: number;
}

/**
 * The `claude` processes of running agents and warm spares, tracked from spawn to exit. An agent's cost is
 * the largest resident set seen recently of one such tree (its claude and the tool server it started):
 * agents grow as their conversation does, and admission must plan for the big ones, not the average.
 */
export class AgentFootprint {
  readonly #pids = new Set<number>();
  readonly #samples: number[] = [];
  #last: FootprintSample = { processes: 0, totalBytes: 0, largestBytes: 0 };

  /** Tracks one claude process until the returned function is called (at its exit). */
  track(pid: number): () => void {
    this.#pids.add(pid);
    return () => this.#pids.delete(pid);
  }

  get tracked(): number {
    return this.#pids.size;
  }

  /** Reads every tracked tree now; a tree that has not grown past a bare process yet (still starting) is not an agent's cost. */
  async sample(): Promise<FootprintSample> {
    const sizes: number[] = [];
    for (const pid of [...this.#pids]) {
      // One tree per loop turn (well under a millisecond each), so requests are answered between them.
      await nextTurn();
      sizes.push(treeResidentBytes(pid));
    }
    const measured = sizes.filter((bytes) => bytes > 0);
    for (const bytes of measured) {
      this.#samples.push(bytes);
      if (this.#samples.length > KEPT_SAMPLES) this.#samples.shift();
    }
    this.#last = { processes: measured.length, totalBytes: measured.reduce((sum, bytes) => sum + bytes, 0), largestBytes: Math.max(0, ...measured) };
    return this.#last;
  }

  /** The last sample's figures. */
  get last(): FootprintSample {
    return this.#last;
  }

  /** The largest recent per-agent figure, or undefined before anything was measured. */
  perAgentBytes(): number | undefined {
    return this.#samples.length > 0 ? Math.max(...this.#samples) : undefined;
  }
}
