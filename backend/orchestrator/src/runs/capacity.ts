// How many agents may run at once, from what they really cost: their measured resident memory against the headroom of the cgroup's memory limit (or the machine's); MAX_CONCURRENT_AGENTS overrides it. Keeps the slots and the warm pool to that figure.
import os from 'node:os';
import type { Logger } from 'pino';
import type { AgentFootprint } from '../agents/footprint.ts';
import { formatBytes } from '../workspace/disk.ts';
import type { AgentSlots } from './agent-slots.ts';

const MIB = 1024 * 1024;
/**
 * An agent's cost before one has been measured: its `claude` (~250 MB resident once started) and, with the
 * local runtime, the tool server it starts (`claude mcp serve`, about as much), with room for a conversation
 * to grow.
 */
export const ESTIMATED_AGENT_BYTES = 600 * MIB;
/** The same with the Docker or Kubernetes runtime: the tool server runs in its container or pod, outside this process's memory (bounded by SANDBOX_MEMORY). */
export const ESTIMATED_DOCKER_AGENT_BYTES = 320 * MIB;
/** Kept for the orchestrator itself (~200 MB resident), git and the page cache: the larger of this and a tenth of the limit. */
export const RESERVED_BYTES = 512 * MIB;

/** The estimate for a sandbox runtime, by its name. */
export function estimatedAgentBytes(runtime: string): number {
  return runtime === 'docker' || runtime === 'kubernetes' ? ESTIMATED_DOCKER_AGENT_BYTES : ESTIMATED_AGENT_BYTES;
}
/** A bound whatever the memory says: agents mostly wait on the model, but each still needs some CPU. */
export const MAX_AGENTS = 64;
/** How often the footprint is measured and the capacity worked out again. */
export const REFRESH_MS = 5_000;

export interface MemoryReading {
  /** The memory the orchestrator's container may use: its cgroup's limit, or the machine's memory. */
  limitBytes: number;
  limitSource: 'cgroup' | 'machine';
  /** Memory still free for new processes (within the cgroup when there is one). */
  availableBytes: number;
}

/** process.constrainedMemory() reads the cgroup (v1 or v2); no limit reads as 0 or as more than the machine has. */
export function readMemory(): MemoryReading {
  const machine = os.totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  const available = typeof process.availableMemory === 'function' ? process.availableMemory() : os.freemem();
  if (constrained > 0 && constrained < machine) return { limitBytes: constrained, limitSource: 'cgroup', availableBytes: Math.min(available, constrained) };
  return { limitBytes: machine, limitSource: 'machine', availableBytes: available };
}

export interface CapacityInput {
  memory: MemoryReading;
  /** Measured per-agent resident bytes; undefined before any agent ran (the estimate is used). */
  measuredAgentBytes: number | undefined;
  /** The estimate until then (estimatedAgentBytes); ESTIMATED_AGENT_BYTES when omitted. */
  estimatedAgentBytes?: number;
  /** Resident bytes of the agents and spares running now (already counted as used in availableBytes). */
  agentsResidentBytes: number;
  cores: number;
  /** MAX_CONCURRENT_AGENTS, when set. */
  override: number | undefined;
}

export interface Capacity {
  /** Agents (and spare sessions) at once. */
  agents: number;
  source: 'MAX_CONCURRENT_AGENTS' | 'memory';
  /** In words, for /diagnostics and the log. */
  reason: string;
  memory_limit_bytes: number;
  memory_limit_source: 'cgroup' | 'machine';
  memory_available_bytes: number;
  agent_bytes: number;
  agent_bytes_source: 'measured' | 'estimate';
  reserved_bytes: number;
  /** `claude` processes starting at once (the rest wait): start-up is CPU-bound. */
  startup_concurrency: number;
}

/** Claude processes starting at once: two per core keeps the cores busy without starving the API (the agents run niced). */
export function startupConcurrency(cores: number): number {
  return Math.max(2, cores * 2);
}

/**
 * Agents that fit: in a cgroup, its limit less a reserve over the cost of one; on a machine shared with
 * others, what is free now plus what our own agents hold, so another tenant's use is respected too.
 */
export function computeCapacity(input: CapacityInput): Capacity {
  const { memory } = input;
  const agentBytes = Math.max(64 * MIB, input.measuredAgentBytes ?? input.estimatedAgentBytes ?? ESTIMATED_AGENT_BYTES);
  const reserved = Math.max(RESERVED_BYTES, Math.floor(memory.limitBytes / 10));
  const usable =
    memory.limitSource === 'cgroup'
      ? memory.limitBytes - reserved
      : Math.min(memory.limitBytes - reserved, memory.availableBytes + input.agentsResidentBytes - reserved);
  const byMemory = Math.max(1, Math.min(MAX_AGENTS, Math.floor(usable / agentBytes)));
  const facts = {
    memory_limit_bytes: memory.limitBytes,
    memory_limit_source: memory.limitSource,
    memory_available_bytes: memory.availableBytes,
    agent_bytes: agentBytes,
    agent_bytes_source: input.measuredAgentBytes === undefined ? ('estimate' as const) : ('measured' as const),
    reserved_bytes: reserved,
    startup_concurrency: startupConcurrency(input.cores),
  };
  const where = memory.limitSource === 'cgroup' ? `the container's memory limit of ${formatBytes(memory.limitBytes)}` : `the machine's ${formatBytes(memory.limitBytes)} (${formatBytes(memory.availableBytes)} free now)`;
  const each = `${formatBytes(agentBytes)} per agent (${facts.agent_bytes_source === 'measured' ? 'the largest measured recently' : 'an estimate until one is measured'})`;
  const memoryReason = `${byMemory} agent(s) fit in ${where} less ${formatBytes(reserved)} kept for the orchestrator, at ${each}${byMemory === MAX_AGENTS ? `, capped at ${MAX_AGENTS}` : ''}`;
  if (input.override !== undefined) {
    return { agents: input.override, source: 'MAX_CONCURRENT_AGENTS', reason: `MAX_CONCURRENT_AGENTS=${input.override} (set explicitly; by memory it would be: ${memoryReason})`, ...facts };
  }
  return { agents: byMemory, source: 'memory', reason: memoryReason, ...facts };
}

/** What the capacity keeps in step: the warm pool is given what running agents leave. */
export interface CapacityUser {
  /** Spare sessions it may hold now (capacity less the agents running); it closes any beyond that. */
  setAllowance(spares: number): void;
  /** Spares it holds now, ready or starting (they are counted against the capacity). */
  readonly spares: number;
  /** Of those, the ones ready to be claimed. */
  readonly ready: number;
}

export interface CapacityControllerOptions {
  slots: AgentSlots;
  footprint: AgentFootprint;
  override: number | undefined;
  logger: Logger;
  /** An agent's cost until one is measured (estimatedAgentBytes of the runtime). */
  estimatedAgentBytes?: number;
  cores?: number;
  readMemory?: () => MemoryReading;
  refreshMs?: number;
}

/** Measures and re-plans every few seconds, resizes the slots, and tells the warm pool its share. */
export class CapacityController {
  readonly #options: CapacityControllerOptions;
  #capacity: Capacity;
  #timer: NodeJS.Timeout | undefined;
  #pool: CapacityUser | undefined;
  #allotting = false;

  constructor(options: CapacityControllerOptions) {
    this.#options = options;
    this.#capacity = this.#compute();
    options.slots.setCapacity(this.#capacity.agents);
    options.slots.onChange(() => this.#allot());
  }

  get current(): Capacity {
    return this.#capacity;
  }

  /** The warm pool, once built: it is told its share whenever agents start or end. */
  attach(pool: CapacityUser): void {
    this.#pool = pool;
    this.#allot();
  }

  #compute(): Capacity {
    const { footprint } = this.#options;
    return computeCapacity({
      memory: (this.#options.readMemory ?? readMemory)(),
      measuredAgentBytes: footprint.perAgentBytes(),
      ...(this.#options.estimatedAgentBytes ? { estimatedAgentBytes: this.#options.estimatedAgentBytes } : {}),
      agentsResidentBytes: footprint.last.totalBytes,
      cores: this.#options.cores ?? os.availableParallelism(),
      override: this.#options.override,
    });
  }

  /** Measures the agents now and works the capacity out again. */
  async refresh(): Promise<Capacity> {
    await this.#options.footprint.sample();
    const before = this.#capacity.agents;
    this.#capacity = this.#compute();
    if (this.#capacity.agents !== before) this.#options.logger.info({ capacity: this.#capacity.agents, reason: this.#capacity.reason }, 'agent capacity changed');
    this.#options.slots.setCapacity(this.#capacity.agents);
    this.#allot();
    return this.#capacity;
  }

  /**
   * Spares may use what running agents leave of the capacity. Worked out on the next turn of the event loop:
   * agents just admitted claim their spares first (synchronously, as they start), so a spare is taken by
   * the agent it was kept for rather than closed to make room for it.
   */
  #allot(): void {
    if (this.#allotting || !this.#pool) return;
    this.#allotting = true;
    setImmediate(() => {
      this.#allotting = false;
      this.#pool?.setAllowance(Math.max(0, this.#capacity.agents - this.#options.slots.inUse));
    });
  }

  start(): void {
    this.#timer = setInterval(() => void this.refresh().catch(() => undefined), this.#options.refreshMs ?? REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** For /diagnostics. */
  describe(): Capacity & { agents_running: number; agents_waiting: number; spares: number; spares_ready: number; [fact: string]: unknown } {
    return {
      ...this.#capacity,
      agents_running: this.#options.slots.inUse,
      agents_waiting: this.#options.slots.waiting,
      spares: this.#pool?.spares ?? 0,
      spares_ready: this.#pool?.ready ?? 0,
    };
  }
}
