// Measures 1, 2 and 4 from the same runs: run setup (POST → every agent's first model request), N-agent wall time with CPU and memory, and event latency, each beside the bare-SDK floor taken in turn with it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ProbedModel } from '../lib/model-probe.ts';
import { failedAgents, followRun, submitRun, type Orchestrator } from '../lib/orchestrator.ts';
import { runFloor } from '../lib/floor.ts';
import { TreeSampler, waitForNoDescendants, type TreeUsage } from '../lib/processes.ts';
import { agentLogTimes, phasesOf, type AgentTimes, type Phases } from '../lib/phases.ts';

const exec = promisify(execFile);

export interface Sample {
  /** POST sent → 202 received (ours); raw-git.sh alone (floor). */
  gitMs: number;
  /** POST sent (script start) → the last agent's first model request. */
  setupMs: number;
  /** POST sent (script start) → run_finished received (every session ended). */
  wallMs: number;
  /** For each assistant text: model's message_stop written → SSE event received (SDK message, for the floor). */
  eventLatenciesMs: number[];
  usage: TreeUsage;
  phases: Phases;
}

export interface AgentsContext {
  model: ProbedModel;
  claude: string;
  image: string;
  prompt: string;
  timeoutMs: number;
  log: (line: string) => void;
}

/** Each agent's branch tip must be its own commit: the work was really done. */
async function verifyCommits(runDirectory: string, agents: number): Promise<void> {
  for (let agentId = 1; agentId <= agents; agentId++) {
    const { stdout } = await exec('git', ['-C', runDirectory, 'log', '-1', '--format=%s', `agent-${agentId}`]);
    if (!stdout.startsWith(`Agent ${agentId}:`)) throw new Error(`${runDirectory}: agent-${agentId} has no commit of its own (${stdout.trim()})`);
  }
}

function firstRequestsSpan(model: ProbedModel, agents: number, from: number): number {
  const first = model.firstRequests();
  if (first.size !== agents) throw new Error(`expected a first model request from ${agents} agents, saw ${first.size}`);
  return Math.max(...first.values()) - from;
}

/** Pairs each received text with the model's end of the answer that carried it (by agent and text). */
function eventLatencies(model: ProbedModel, received: Array<{ agentId: number; text: string; at: number }>): number[] {
  const ends = new Map<string, number[]>();
  for (const end of model.responseEnds()) {
    const key = `${end.agentId}\0${end.text}`;
    ends.set(key, [...(ends.get(key) ?? []), end.at]);
  }
  const latencies: number[] = [];
  for (const item of received) {
    const at = ends.get(`${item.agentId}\0${item.text}`)?.shift();
    if (at !== undefined) latencies.push(item.at - at);
  }
  return latencies;
}

function modelTimes(model: ProbedModel, agentId: number): { firstRequestAt: number; lastResponseAt: number } {
  return { firstRequestAt: model.firstRequests().get(agentId) ?? Number.NaN, lastResponseAt: model.lastResponseEnds().get(agentId) ?? Number.NaN };
}

/** Our agents' phase times; the log is written asynchronously, so its last lines may take a moment. */
async function ourAgentTimes(model: ProbedModel, logFile: string, runId: string, agents: number): Promise<AgentTimes[]> {
  for (let attempt = 0; ; attempt++) {
    const logged = await agentLogTimes(logFile, runId);
    const complete = [...logged.values()].filter((times) => !Number.isNaN(times.finishedAt)).length === agents;
    if (complete || attempt >= 30) {
      return [...logged.entries()].map(([agentId, times]) => ({ sessionAt: times.startedAt, endedAt: times.finishedAt, ...modelTimes(model, agentId) }));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function measureOurs(context: AgentsContext, orchestrator: Orchestrator, agents: number): Promise<Sample> {
  const { model } = context;
  await waitForNoDescendants(orchestrator.pid);
  model.reset();
  const sampler = new TreeSampler(orchestrator.pid);
  await sampler.start();
  const submitted = await submitRun(orchestrator.url, context.prompt, agents);
  const { events, finishedAt } = await followRun(orchestrator.url, submitted.runId, context.timeoutMs);
  const failed = failedAgents(events);
  if (failed.length > 0) throw new Error(`run ${submitted.runId}: ${failed.join('; ')}`);
  // The claude processes exit just after their result; their CPU is reaped into ours then.
  await waitForNoDescendants(orchestrator.pid);
  const usage = await sampler.stop();
  await verifyCommits(path.join(orchestrator.workspace, 'runs', `run_${submitted.runId}`), agents);
  const texts = events
    .filter((event) => event.type === 'agent_text')
    .map((event) => ({ agentId: event.data.agent_id!, text: event.data.text!, at: event.at }));
  const times = await ourAgentTimes(model, orchestrator.logFile, submitted.runId, agents);
  return {
    gitMs: submitted.acceptedAt - submitted.sentAt,
    setupMs: firstRequestsSpan(model, agents, submitted.sentAt),
    wallMs: finishedAt - submitted.sentAt,
    eventLatenciesMs: eventLatencies(model, texts),
    usage,
    phases: phasesOf(submitted.sentAt, times, finishedAt),
  };
}

export async function measureFloor(context: AgentsContext, directory: string, runtime: 'local' | 'docker', agents: number): Promise<Sample> {
  const { model } = context;
  model.reset();
  const result = await runFloor({
    directory,
    modelUrl: model.url,
    claude: context.claude,
    agents,
    runtime,
    image: context.image,
    prompt: context.prompt,
    timeoutMs: context.timeoutMs,
  });
  const failed = result.sessions.filter((session) => !session.ok);
  if (failed.length > 0) throw new Error(`floor: ${failed.map((session) => `agent ${session.agent}: ${session.error ?? 'failed'}`).join('; ')}`);
  await verifyCommits(path.join(directory, 'run-1'), agents);
  const texts = result.sessions.flatMap((session) => session.texts.map((text) => ({ agentId: session.agent, ...text })));
  const times = result.sessions.map((session) => ({ sessionAt: session.startedAt, endedAt: session.endedAt, ...modelTimes(model, session.agent) }));
  return {
    gitMs: result.setupDoneAt[0]! - result.startedAt,
    setupMs: firstRequestsSpan(model, agents, result.startedAt),
    wallMs: result.endedAt - result.startedAt,
    eventLatenciesMs: eventLatencies(model, texts),
    usage: result.usage,
    phases: phasesOf(result.startedAt, times, result.endedAt),
  };
}

export interface Pair {
  agents: number;
  runtime: 'local' | 'docker';
  ours: Sample[];
  floor: Sample[];
}

/** Ours and the floor alternate (which goes first flips each repetition), so drift in the machine's load hits both alike. */
export async function measurePairs(
  context: AgentsContext,
  orchestrator: Orchestrator,
  runtime: 'local' | 'docker',
  counts: readonly number[],
  repetitions: number,
  scratch: string,
): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (const agents of counts) {
    const pair: Pair = { agents, runtime, ours: [], floor: [] };
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const floorDirectory = path.join(scratch, `floor-${runtime}-${agents}-${repetition}`);
      const steps = [
        async () => pair.ours.push(await measureOurs(context, orchestrator, agents)),
        async () => pair.floor.push(await measureFloor(context, floorDirectory, runtime, agents)),
      ];
      for (const step of repetition % 2 === 0 ? steps : steps.reverse()) await step();
      const [ours, floor] = [pair.ours.at(-1)!, pair.floor.at(-1)!];
      context.log(
        `${runtime} N=${agents} #${repetition + 1}: setup ${ours.setupMs.toFixed(0)} vs ${floor.setupMs.toFixed(0)} ms, ` +
          `wall ${ours.wallMs.toFixed(0)} vs ${floor.wallMs.toFixed(0)} ms, git ${ours.gitMs.toFixed(0)} vs ${floor.gitMs.toFixed(0)} ms`,
      );
    }
    pairs.push(pair);
  }
  return pairs;
}
