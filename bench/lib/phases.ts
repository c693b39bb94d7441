// Where an agent's time goes, phase by phase, from our orchestrator's log and the model's timestamps (ours) or the floor script's own (floor).
import { readFile } from 'node:fs/promises';

/** Mean over a run's agents, ms. */
export interface Phases {
  /** POST sent (script start) → the agent's session about to start: git, queueing, sandbox preparation. */
  toSession: number;
  /** → its first model request: claude's start-up and MCP connection. */
  toFirstRequest: number;
  /** → the model's last answer written. */
  conversation: number;
  /** → the agent recorded as ended: claude's exit, sandbox teardown. */
  teardown: number;
  /** Last agent ended → the run reported finished. */
  finish: number;
}

export interface AgentTimes {
  sessionAt: number;
  firstRequestAt: number;
  lastResponseAt: number;
  endedAt: number;
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

export function phasesOf(startAt: number, agents: AgentTimes[], finishedAt: number): Phases {
  return {
    toSession: mean(agents.map((agent) => agent.sessionAt - startAt)),
    toFirstRequest: mean(agents.map((agent) => agent.firstRequestAt - agent.sessionAt)),
    conversation: mean(agents.map((agent) => agent.lastResponseAt - agent.firstRequestAt)),
    teardown: mean(agents.map((agent) => agent.endedAt - agent.lastResponseAt)),
    finish: finishedAt - Math.max(...agents.map((agent) => agent.endedAt)),
  };
}

/** `agent started` / `agent finished` times of one run's agents, from orchestrator.log (ISO times, ms precision). */
export async function agentLogTimes(logFile: string, runId: string): Promise<Map<number, { startedAt: number; finishedAt: number }>> {
  const times = new Map<number, { startedAt: number; finishedAt: number }>();
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.includes(runId) || !line.includes('"msg":"agent ')) continue;
    const entry = JSON.parse(line) as { run_id?: string; agent_id?: number; msg?: string; time?: string | number };
    if (entry.run_id !== runId || entry.agent_id === undefined || entry.time === undefined) continue;
    const at = typeof entry.time === 'number' ? entry.time : Date.parse(entry.time);
    const record = times.get(entry.agent_id) ?? { startedAt: Number.NaN, finishedAt: Number.NaN };
    if (entry.msg === 'agent started') record.startedAt = at;
    if (entry.msg === 'agent finished') record.finishedAt = at;
    times.set(entry.agent_id, record);
  }
  return times;
}
