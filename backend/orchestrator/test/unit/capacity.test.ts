import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { computeCapacity, CapacityController, ESTIMATED_AGENT_BYTES, estimatedAgentBytes, startupConcurrency, type MemoryReading } from '../../src/runs/capacity.ts';
import { AgentSlots } from '../../src/runs/agent-slots.ts';
import { AgentFootprint } from '../../src/agents/footprint.ts';
import { loadConfig, ConfigError } from '../../src/config.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const cgroup = (limit: number): MemoryReading => ({ limitBytes: limit, limitSource: 'cgroup', availableBytes: limit - 100 * MIB });

test('in a container with a small memory limit the cap is what fits in it, and it says so', () => {
  const capacity = computeCapacity({ memory: cgroup(2 * GIB), measuredAgentBytes: undefined, agentsResidentBytes: 0, cores: 2, override: undefined });
  // 2 GiB less 512 MiB kept, over the 600 MiB estimate.
  assert.equal(capacity.agents, 2);
  assert.equal(capacity.source, 'memory');
  assert.equal(capacity.memory_limit_source, 'cgroup');
  assert.equal(capacity.agent_bytes, ESTIMATED_AGENT_BYTES);
  assert.equal(capacity.agent_bytes_source, 'estimate');
  assert.match(capacity.reason, /container's memory limit of 2\.0 GiB/);
});

test('with the Docker runtime the estimate leaves out the tool server, which runs in its container: the design’s 2 GiB pod holds four', () => {
  const capacity = computeCapacity({ memory: cgroup(2 * GIB), measuredAgentBytes: undefined, estimatedAgentBytes: estimatedAgentBytes('docker'), agentsResidentBytes: 0, cores: 2, override: undefined });
  assert.equal(capacity.agents, 4);
  assert.equal(estimatedAgentBytes('local'), ESTIMATED_AGENT_BYTES);
});

test('a measured agent cost replaces the estimate', () => {
  const capacity = computeCapacity({ memory: cgroup(4 * GIB), measuredAgentBytes: 300 * MIB, agentsResidentBytes: 0, cores: 2, override: undefined });
  assert.equal(capacity.agents, Math.floor((4 * GIB - 512 * MIB) / (300 * MIB)));
  assert.equal(capacity.agent_bytes_source, 'measured');
});

test('on a shared machine what others use counts: free memory plus what our own agents hold', () => {
  const machine: MemoryReading = { limitBytes: 24 * GIB, limitSource: 'machine', availableBytes: 4 * GIB };
  const idle = computeCapacity({ memory: machine, measuredAgentBytes: 500 * MIB, agentsResidentBytes: 0, cores: 2, override: undefined });
  const busy = computeCapacity({ memory: machine, measuredAgentBytes: 500 * MIB, agentsResidentBytes: 5 * GIB, cores: 2, override: undefined });
  assert.ok(idle.agents >= 1 && idle.agents < busy.agents, `${idle.agents} < ${busy.agents}`);
  assert.match(idle.reason, /machine's/);
});

test('MAX_CONCURRENT_AGENTS overrides the memory, and the reason still tells what memory would allow', () => {
  const capacity = computeCapacity({ memory: cgroup(2 * GIB), measuredAgentBytes: undefined, agentsResidentBytes: 0, cores: 2, override: 10 });
  assert.equal(capacity.agents, 10);
  assert.equal(capacity.source, 'MAX_CONCURRENT_AGENTS');
  assert.match(capacity.reason, /MAX_CONCURRENT_AGENTS=10 .*2 agent\(s\) fit/);
});

test('never less than one agent, and start-ups are paced to two per core', () => {
  const capacity = computeCapacity({ memory: cgroup(512 * MIB), measuredAgentBytes: undefined, agentsResidentBytes: 0, cores: 1, override: undefined });
  assert.equal(capacity.agents, 1);
  assert.equal(startupConcurrency(1), 2);
  assert.equal(startupConcurrency(4), 8);
});

test('the controller resizes the slots to the capacity, and the warm pool is given what running agents leave', async () => {
  const slots = new AgentSlots(1);
  const allowances: number[] = [];
  const controller = new CapacityController({
    slots,
    footprint: new AgentFootprint(),
    override: undefined,
    logger: pino({ level: 'silent' }),
    cores: 2,
    readMemory: () => cgroup(4 * GIB),
  });
  assert.equal(slots.capacity, 5, '(4 GiB - 512 MiB) / 600 MiB');
  controller.attach({ spares: 0, ready: 0, setAllowance: (spares) => allowances.push(spares) });
  const releases = await Promise.all(slots.acquireGroup([{}, {}, {}]));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(allowances.at(-1), 2, 'three agents running leave two for spares');
  for (const release of releases) release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(allowances.at(-1), 5);
  assert.equal(controller.describe().agents_running, 0);
});

test('a group waits for room for all of it, and is admitted when the capacity grows', async () => {
  const slots = new AgentSlots(1);
  const hold = await slots.acquire();
  const started: number[] = [];
  const group = slots.acquireGroup([{}, {}]).map((promise, index) => promise.then((release) => (started.push(index), release)));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(started, [], 'a group of two does not start in one slot while another holds it');
  slots.setCapacity(3);
  const releases = await Promise.all(group);
  assert.deepEqual(started.sort(), [0, 1]);
  for (const release of [...releases, hold]) release();
  assert.equal(slots.inUse, 0);
});

test('WARM_POOL_SIZE defaults small, 0 turns warm starts off, and a bad value is named', () => {
  assert.equal(loadConfig({ HOME: '/h' }).warmPool.size, 2);
  assert.equal(loadConfig({ HOME: '/h', WARM_POOL_SIZE: '0' }).warmPool.size, 0);
  assert.equal(loadConfig({ HOME: '/h' }).maxConcurrentAgents, undefined, 'no cap unless set: memory decides');
  assert.throws(() => loadConfig({ HOME: '/h', WARM_POOL_SIZE: '-1' }), (error: unknown) => error instanceof ConfigError && /WARM_POOL_SIZE/.test(error.message));
  assert.throws(() => loadConfig({ HOME: '/h', WARM_POOL_IDLE_MS: 'soon' }), (error: unknown) => error instanceof ConfigError && /WARM_POOL_IDLE_MS/.test(error.message));
});
