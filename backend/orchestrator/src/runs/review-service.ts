// Reviewing a run's attempts for every entry point: each agent's diff, a comparison of two, files at a branch tip, merge into main, export, and push to the run's source.
import type { Logger } from 'pino';
import type { AgentState, DiffResponse, MergeResponse, PushResponse, RunState } from '@multiclaude/contract';
import type { SourceRepositories } from '../git/source.ts';
import { diffFiles, diffPatch, exportBranch, isSafeTreePath, mergeIntoMain, readTreePath, resolveCommit, statsOf, type ExportFormat, type TreeLookup } from '../git/review.ts';
import type { WorkspaceLayout } from '../workspace/layout.ts';
import type { RunStore } from './run-store.ts';
import type { RunService } from './run-service.ts';
import { Mutex } from './mutex.ts';
import { ServiceError, fromSourceError } from './errors.ts';

export interface ReviewServiceOptions {
  runs: RunService;
  store: RunStore;
  layout: WorkspaceLayout;
  sources: SourceRepositories;
  logger: Logger;
}

interface Found {
  state: RunState;
  agent: AgentState;
  directory: string;
}

export class ReviewService {
  readonly #options: ReviewServiceOptions;
  readonly #merges = new Mutex();

  constructor(options: ReviewServiceOptions) {
    this.#options = options;
  }

  async #find(runId: string, agentId: number | string | undefined): Promise<Found> {
    const state = await this.#options.runs.get(runId);
    const id = Number(agentId);
    const agent = Number.isInteger(id) ? state.results.find((result) => result.agent_id === id) : undefined;
    if (!agent) throw new ServiceError('not_found', `run ${runId} has no agent ${agentId ?? ''}`);
    return { state, agent, directory: this.#options.layout.run(state.run_info.run_id).directory };
  }

  async #diff(found: Found, base: string, head: string): Promise<DiffResponse> {
    const [baseCommit, headCommit] = await Promise.all([resolveCommit(found.directory, base), resolveCommit(found.directory, head)]);
    const [{ patch, truncated }, files] = await Promise.all([diffPatch(found.directory, baseCommit, headCommit), diffFiles(found.directory, baseCommit, headCommit)]);
    return { run_id: found.state.run_info.run_id, base: baseCommit, head: headCommit, stats: statsOf(files), files, patch, truncated };
  }

  /** The agent's branch against the commit every branch started from. */
  async diff(runId: string, agentId: number | string): Promise<DiffResponse> {
    const found = await this.#find(runId, agentId);
    const branch = found.agent.workspace.branch_name;
    return this.#diff(found, found.state.base_commit || `${branch}~0`, branch);
  }

  /** Agent `b`'s branch against agent `a`'s. */
  async compare(runId: string, a: number | string | undefined, b: number | string | undefined): Promise<DiffResponse> {
    const first = await this.#find(runId, a);
    const second = await this.#find(runId, b);
    return this.#diff(first, first.agent.workspace.branch_name, second.agent.workspace.branch_name);
  }

  /** A file's bytes or a directory's listing on the agent's branch, read from git objects (never the disk). */
  async file(runId: string, agentId: number | string, treePath: string): Promise<TreeLookup & { branch: string }> {
    const found = await this.#find(runId, agentId);
    if (!isSafeTreePath(treePath)) throw new ServiceError('forbidden', 'path is outside the branch');
    const branch = found.agent.workspace.branch_name;
    return { ...(await readTreePath(found.directory, branch, treePath)), branch };
  }

  /** Merges the agent's branch into the run's main once the run has ended; a conflict changes nothing. */
  async merge(runId: string, agentId: number): Promise<MergeResponse> {
    const found = await this.#find(runId, agentId);
    const { agent, state } = found;
    if (agent.status === 'pending' || agent.status === 'running') {
      throw new ServiceError('conflict', `agent ${agent.agent_id} is still ${agent.status}; merge it when it has ended`);
    }
    // The run's other agents commit into the same object store; the orchestrator writes there only once they are done.
    if (state.status === 'queued' || state.status === 'running') {
      throw new ServiceError('conflict', `run ${runId} is still running; merge once every agent has ended`);
    }
    return this.#merges.run(runId, async () => {
      const branch = agent.workspace.branch_name;
      const outcome = await mergeIntoMain(found.directory, branch, `Merge ${branch}: Agent ${agent.agent_id}'s attempt`);
      if (!outcome.merged) {
        throw new ServiceError('conflict', `merging ${branch} into main conflicts`, { details: { conflicting_files: outcome.conflictingFiles } });
      }
      const record = { agent_id: agent.agent_id, commit: outcome.commit, fast_forward: outcome.fastForward, merged_at: new Date().toISOString() };
      await this.#options.store.updateState(runId, (latest) => void latest.merges.push(record));
      this.#options.logger.info({ run_id: runId, ...record }, 'agent merged into main');
      return { run_id: runId, agent_id: agent.agent_id, branch_name: branch, fast_forward: outcome.fastForward, commit: outcome.commit };
    });
  }

  /** Pushes the agent's branch tip to the run's source as a new branch (never forced). */
  async push(runId: string, agentId: number | string, branch?: string): Promise<PushResponse> {
    const found = await this.#find(runId, agentId);
    const { agent, state } = found;
    const source = state.run_info.source;
    if (!source) throw new ServiceError('invalid_request', `run ${runId} has no source to push to: it started from a fresh repository`);
    if (agent.status === 'pending' || agent.status === 'running') {
      throw new ServiceError('conflict', `agent ${agent.agent_id} is still ${agent.status}; push it when it has ended`);
    }
    const target = branch ?? `multiclaude/${runId}/agent-${agent.agent_id}`;
    const commit = await resolveCommit(found.directory, agent.workspace.branch_name);
    let outcome;
    try {
      outcome = await this.#options.sources.push(found.directory, source, target, commit);
    } catch (error) {
      throw fromSourceError(error);
    }
    const record = { agent_id: agent.agent_id, remote: outcome.remote, branch: outcome.branch, commit, pushed_at: new Date().toISOString() };
    if (!outcome.alreadyThere) await this.#options.store.updateState(runId, (latest) => void latest.pushes.push(record));
    this.#options.logger.info({ run_id: runId, ...record, already_there: outcome.alreadyThere }, 'agent pushed to the source');
    return { remote: outcome.remote, branch: outcome.branch, commit };
  }

  /** The agent's branch as a git bundle or an archive of its tip, streamed. */
  async export(runId: string, agentId: number | string, format: ExportFormat, signal: AbortSignal) {
    const found = await this.#find(runId, agentId);
    const branch = found.agent.workspace.branch_name;
    return { branch, child: exportBranch(found.directory, branch, format, signal), logger: this.#options.logger.child({ run_id: runId }) };
  }
}
