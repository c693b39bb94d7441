// Samples a process tree through /proc (CPU time and resident memory of the root and of its descendants) and, for Docker sandboxes, the containers' cgroups.
import { readdir, readFile } from 'node:fs/promises';

const PAGE_BYTES = 4096;
const TICK_MS = 10; // CLK_TCK is 100 on Linux x86-64.
const CGROUP_MEMORY = '/sys/fs/cgroup/memory/docker';
const CGROUP_CPU = '/sys/fs/cgroup/cpuacct/docker';

export interface ProcStat {
  ppid: number;
  /** Own user+system CPU, ms. */
  cpuMs: number;
  /** CPU of reaped descendants, ms: a child's time lands here once its parent has waited for it. */
  childrenCpuMs: number;
  rssBytes: number;
}

export async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // The command name may hold spaces and parentheses; the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const number = (index: number): number => Number(fields[index] ?? 0);
  return {
    ppid: number(1),
    cpuMs: (number(11) + number(12)) * TICK_MS,
    childrenCpuMs: (number(13) + number(14)) * TICK_MS,
    rssBytes: number(21) * PAGE_BYTES,
  };
}

async function allStats(): Promise<Map<number, ProcStat>> {
  const stats = new Map<number, ProcStat>();
  const entries = (await readdir('/proc').catch(() => [])).filter((entry) => /^\d+$/.test(entry));
  await Promise.all(
    entries.map(async (entry) => {
      const stat = await readStat(Number(entry));
      if (stat) stats.set(Number(entry), stat);
    }),
  );
  return stats;
}

function descendantsOf(root: number, stats: Map<number, ProcStat>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  const found: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0 && found.length < 10_000) {
    const pid = stack.pop()!;
    found.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Waits (bounded) until `root` has no descendants left, so their CPU time has been reaped into its own. */
export async function waitForNoDescendants(root: number, timeoutMs = 5_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = descendantsOf(root, await allStats()).length;
    if (left === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface ContainerSample {
  rssBytes: number;
  cpuMs: number;
}

/** Whether a container runs `claude mcp serve` yet: while it starts, only `runc init` may be in it. */
async function isMcpContainer(id: string): Promise<boolean> {
  const procs = (await readFile(`${CGROUP_MEMORY}/${id}/cgroup.procs`, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  for (const pid of procs) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('mcp\0serve')) return true;
  }
  return false;
}

async function sampleContainer(id: string): Promise<ContainerSample | undefined> {
  const [memory, cpu] = await Promise.all([
    readFile(`${CGROUP_MEMORY}/${id}/memory.stat`, 'utf8').catch(() => undefined),
    readFile(`${CGROUP_CPU}/${id}/cpuacct.usage`, 'utf8').catch(() => undefined),
  ]);
  if (memory === undefined || cpu === undefined) return undefined;
  const rss = /^total_rss (\d+)$/m.exec(memory)?.[1] ?? '0';
  return { rssBytes: Number(rss), cpuMs: Number(cpu) / 1e6 };
}

export interface TreeUsage {
  /** The root's own CPU time over the measurement, ms. */
  rootCpuMs: number;
  /** CPU of every descendant over the measurement (reaped, plus any still alive), ms. */
  descendantsCpuMs: number;
  rootPeakRssBytes: number;
  /** Peak of the summed RSS of all descendants at one sample. */
  descendantsPeakRssBytes: number;
  /** Sandbox containers started during the measurement (cgroup v1), if any: CPU last seen, peak summed RSS. */
  containers: { count: number; cpuMs: number; peakRssBytes: number };
  samples: number;
}

/**
 * Samples every `intervalMs` until stop(). CPU comes from the root's own counters (start vs end), so it
 * misses nothing short-lived; memory is sampled, so a peak shorter than the interval can be missed.
 */
export class TreeSampler {
  readonly #root: number;
  readonly #intervalMs: number;
  #start: ProcStat | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #samples = 0;
  #rootPeak = 0;
  #descendantsPeak = 0;
  #containersPeak = 0;
  readonly #baselineContainers = new Set<string>();
  readonly #containers = new Map<string, number>();
  readonly #notMcp = new Set<string>();
  readonly #misses = new Map<string, number>();

  constructor(root: number, intervalMs = 100) {
    this.#root = root;
    this.#intervalMs = intervalMs;
  }

  async start(): Promise<void> {
    this.#start = await readStat(this.#root);
    for (const id of await readdir(CGROUP_MEMORY).catch(() => [])) this.#baselineContainers.add(id);
    this.#timer = setInterval(() => void this.#sample(), this.#intervalMs);
    await this.#sample();
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const stats = await allStats();
      const root = stats.get(this.#root);
      if (root) this.#rootPeak = Math.max(this.#rootPeak, root.rssBytes);
      const descendants = descendantsOf(this.#root, stats).reduce((sum, pid) => sum + (stats.get(pid)?.rssBytes ?? 0), 0);
      this.#descendantsPeak = Math.max(this.#descendantsPeak, descendants);
      let containerRss = 0;
      for (const id of await readdir(CGROUP_MEMORY).catch(() => [])) {
        if (id.length !== 64 || this.#baselineContainers.has(id) || this.#notMcp.has(id)) continue;
        if (!this.#containers.has(id) && !(await isMcpContainer(id))) {
          // Given up on after a few seconds of samples: another user's container, not a sandbox.
          const misses = (this.#misses.get(id) ?? 0) + 1;
          this.#misses.set(id, misses);
          if (misses * this.#intervalMs > 5_000) this.#notMcp.add(id);
          continue;
        }
        const sample = await sampleContainer(id);
        if (!sample) continue;
        this.#containers.set(id, sample.cpuMs);
        containerRss += sample.rssBytes;
      }
      this.#containersPeak = Math.max(this.#containersPeak, containerRss);
      this.#samples++;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Stops sampling. A root that has exited reports its own stats instead (`reported`): taken after its
   * imports and at its end, so both sides count the same work.
   */
  async stop(reported?: { start: ProcStat; end: ProcStat }): Promise<TreeUsage> {
    clearInterval(this.#timer);
    const last = reported?.end ?? (await readStat(this.#root));
    const stats = await allStats();
    const alive = reported ? 0 : descendantsOf(this.#root, stats).reduce((sum, pid) => sum + (stats.get(pid)?.cpuMs ?? 0), 0);
    const start = reported?.start ?? this.#start;
    return {
      rootCpuMs: last && start ? last.cpuMs - start.cpuMs : Number.NaN,
      descendantsCpuMs: last && start ? last.childrenCpuMs - start.childrenCpuMs + alive : Number.NaN,
      rootPeakRssBytes: this.#rootPeak,
      descendantsPeakRssBytes: this.#descendantsPeak,
      containers: {
        count: this.#containers.size,
        cpuMs: [...this.#containers.values()].reduce((sum, value) => sum + value, 0),
        peakRssBytes: this.#containersPeak,
      },
      samples: this.#samples,
    };
  }
}
