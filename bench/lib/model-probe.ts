// The offline model, run inside the bench process with timestamps on every request and every answer's end, so ours and the floors are timed on one clock at the model.
import { startOfflineModel, type OfflineModel } from '@multiclaude/offline-model';

// Date.now(), not performance.now(): the floor script stamps in another process, and only the wall clock is shared.
export const now = (): number => Date.now();

export interface ResponseEnd {
  agentId: number;
  text: string;
  at: number;
}

export interface ProbedModel {
  readonly url: string;
  readonly model: OfflineModel;
  /** Forgets what was seen so far: call before each measured run. */
  reset(): void;
  /** When each agent's first Messages request arrived since the reset, before any [[slow]] delay (agent id → epoch ms). */
  firstArrivals(): Map<number, number>;
  /** The most Messages requests the model held at once (received, not answered in full) since the reset. */
  maxRequestsInFlight(): number;
  /** When each agent's first Messages request was answered since the reset (after any [[slow]] delay; agent id → epoch ms). */
  firstRequests(): Map<number, number>;
  /** Every text the model streamed since the reset, stamped after its message_stop was written. */
  responseEnds(): ResponseEnd[];
  /** When each agent's last answer so far ended (agent id → epoch ms). */
  lastResponseEnds(): Map<number, number>;
  requestsSinceReset(): number;
  /** The most agent sessions open at once (first request → final answer) since the reset. */
  maxConcurrentSessions(): number;
  close(): Promise<void>;
}

const MAX_RECORDS = 100_000;

export async function startProbedModel(): Promise<ProbedModel> {
  let first = new Map<number, number>();
  let arrivals = new Map<number, number>();
  let maxInFlight = 0;
  // Set once the model has started; requests arrive only after that.
  let inFlight = (): number => 0;
  let ends: ResponseEnd[] = [];
  let lastEnds = new Map<number, number>();
  let requests = 0;
  const open = new Set<string>();
  let maxOpen = 0;
  const model = await startOfflineModel({
    onReceived: ({ agentId }) => {
      maxInFlight = Math.max(maxInFlight, inFlight());
      if (agentId !== null && !arrivals.has(agentId)) arrivals.set(agentId, now());
    },
    onRequest: ({ agentId, sessionId }) => {
      requests++;
      if (agentId !== null) open.add(`${sessionId}:${agentId}`);
      maxOpen = Math.max(maxOpen, open.size);
      if (agentId !== null && !first.has(agentId)) first.set(agentId, now());
    },
    onResponseEnd: ({ agentId, sessionId, texts, stopReason }) => {
      if (stopReason === 'end_turn') open.delete(`${sessionId}:${agentId}`);
      if (agentId === null || ends.length >= MAX_RECORDS) return;
      const at = now();
      lastEnds.set(agentId, at);
      for (const text of texts) ends.push({ agentId, text, at });
    },
  });
  inFlight = () => model.requestsInFlight;
  return {
    url: model.url,
    model,
    reset: () => {
      first = new Map();
      arrivals = new Map();
      maxInFlight = model.requestsInFlight;
      ends = [];
      lastEnds = new Map();
      requests = 0;
      maxOpen = open.size;
    },
    firstRequests: () => first,
    firstArrivals: () => arrivals,
    maxRequestsInFlight: () => maxInFlight,
    responseEnds: () => ends,
    lastResponseEnds: () => lastEnds,
    requestsSinceReset: () => requests,
    maxConcurrentSessions: () => maxOpen,
    close: () => model.close(),
  };
}
