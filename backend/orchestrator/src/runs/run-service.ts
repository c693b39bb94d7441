// The run API every entry point (HTTP, CLI, MCP) calls: submit, read, list, cancel and follow runs, whichever replica owns them.
import type { CancelResponse, ContinueResponse, CreateRunRequest, CreateRunResponse, OrchestrateResponse, RunEvent, RunList, RunState } from '@multiclaude/contract';
import type { RunManager } from './run-manager.ts';
import type { RunStore } from './run-store.ts';
import type { ResolvedSource, SourceRepositories } from '../git/source.ts';
import { isTerminal, isTerminalRun, toOrchestrateResponse } from './run-state.ts';
import { ServiceError, fromSourceError, runNotFound } from './errors.ts';

export interface RunServiceOptions {
  manager: RunManager;
  store: RunStore;
  sources: SourceRepositories;
}

export class RunService {
  readonly #manager: RunManager;
  readonly #store: RunStore;
  readonly #sources: SourceRepositories;

  constructor(options: RunServiceOptions) {
    this.#manager = options.manager;
    this.#store = options.store;
    this.#sources = options.sources;
  }

  /** A requested source checked against its repository before anything is created (ls-remote): 4xx naming the field otherwise. */
  async #resolveSource(request: CreateRunRequest): Promise<ResolvedSource | undefined> {
    if (!request.source) return undefined;
    try {
      return await this.#sources.resolve(request.source);
    } catch (error) {
      throw fromSourceError(error);
    }
  }

  async submit(request: CreateRunRequest): Promise<CreateRunResponse> {
    const state = await this.#manager.submit(request, await this.#resolveSource(request));
    return { run_id: state.run_info.run_id, status: state.status, queue_position: state.queue_position };
  }

  /** Submits and waits for the end: the design's synchronous answer. The run goes on if the caller goes away. */
  async orchestrate(request: CreateRunRequest): Promise<OrchestrateResponse> {
    const accepted = await this.#manager.submit(request, await this.#resolveSource(request));
    return toOrchestrateResponse(await this.#manager.waitForRun(accepted.run_info.run_id));
  }

  async get(runId: string): Promise<RunState> {
    const state = await this.#manager.get(runId);
    if (!state) throw runNotFound(runId);
    return state;
  }

  /** The run's state as JSON bytes, for the API's polls (see RunManager.getBody). */
  async getBody(runId: string): Promise<Uint8Array<ArrayBuffer>> {
    const body = await this.#manager.getBody(runId);
    if (body === undefined) throw runNotFound(runId);
    return body;
  }

  /** For the API's front thread (http/front-thread.ts): a live run's state at once, and when it changes. */
  liveBody(runId: string): string | undefined {
    return this.#manager.liveBody(runId);
  }

  onStateChange(listener: (runId: string) => void): () => void {
    return this.#manager.onStateChange(listener);
  }

  async list(limit: number, before?: string): Promise<RunList> {
    const page = await this.#store.list(limit, before);
    return { runs: page.runs, next_before: page.nextBefore };
  }

  /** Cancels the run, or one of its agents; the owning replica acts on it (this one at once, another at its next heartbeat). */
  async cancel(runId: string, agent?: number | string): Promise<CancelResponse> {
    if (agent === undefined) {
      if (this.#manager.cancelRun(runId)) return { run_id: runId, status: 'cancelling' };
      const state = await this.get(runId);
      if (state.status !== 'queued' && state.status !== 'running') {
        throw new ServiceError('conflict', `run ${runId} has already ended (${state.status})`);
      }
      await this.#store.requestCancel(runId, 'all');
      return { run_id: runId, status: 'cancelling' };
    }
    const state = await this.get(runId);
    const agentId = Number(agent);
    const found = Number.isInteger(agentId) ? state.results.find((result) => result.agent_id === agentId) : undefined;
    if (!found) throw new ServiceError('not_found', `run ${runId} has no agent ${agent}`);
    const outcome = this.#manager.cancelAgent(runId, agentId);
    if (outcome === 'already_finished' || (outcome === 'not_found' && isTerminal(found.status))) {
      throw new ServiceError('conflict', `agent ${agentId} has already ended (${found.status})`);
    }
    if (outcome === 'not_found') await this.#store.requestCancel(runId, [agentId]);
    return { run_id: runId, agent_id: agentId, status: 'cancelling' };
  }

  /** Sends a follow-up to one agent of an ended run (see RunManager.continueAgent); the run's events follow it. */
  async continue(runId: string, agent: number | string, prompt: string): Promise<ContinueResponse> {
    const agentId = Number(agent);
    if (!Number.isInteger(agentId)) throw new ServiceError('not_found', `run ${runId} has no agent ${agent}`);
    const state = await this.#manager.continueAgent(runId, agentId, prompt);
    return { run_id: runId, agent_id: agentId, status: state.status };
  }

  /**
   * The run's events after `afterId`: from this process's own log while it runs the run, else from the store,
   * which tells of each new event as any replica commits it (a run of another replica, or one that has ended).
   * Ends after the last `run_finished` it has (a follow-up adds events after one) or when the signal aborts.
   */
  async *events(runId: string, afterId: number, signal: AbortSignal): AsyncGenerator<RunEvent> {
    await this.get(runId);
    const queue: RunEvent[] = [];
    let wake: () => void = () => {};
    const push = (event: RunEvent): void => {
      queue.push(event);
      wake();
    };
    const live = this.#manager.subscribe(runId, afterId, push);
    if (!live && isTerminalRun((await this.#store.readState(runId))?.status) && (await this.#store.readEvents(runId, afterId)).length === 0) {
      // A follower that already has the last event of an ended run has nothing left to wait for.
      return;
    }
    const unsubscribe = live ?? this.#store.subscribe(runId, afterId, push);
    const onAbort = (): void => wake();
    signal.addEventListener('abort', onAbort);
    let lastId = afterId;
    try {
      while (!signal.aborted) {
        while (queue.length > 0 && !signal.aborted) {
          const event = queue.shift()!;
          if (event.id <= lastId) continue;
          lastId = event.id;
          yield event;
          // A follow-up runs an ended run again: its events come after the earlier run_finished, so only the last one ends the stream.
          if (event.type === 'run_finished' && queue.length === 0) return;
        }
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (queue.length > 0) resolve();
        });
        wake = () => {};
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
