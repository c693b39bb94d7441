// Reviewing a run's attempts for every entry point: each agent's diff, a comparison of two, files at a branch tip, merge into main (and whether it would conflict), export of a branch or main, and push to the run's source.
import type { Logger } from 'pino';
import type { AgentState, DiffResponse, MergeCheckResponse, MergeResponse, PushResponse, RunState } from '@multiclaude/contract';
import type { SourceRepositories } from '../git/source.ts';
import { diffFiles, diffPatch, exportBranch, isSafeTreePath, mergeConflicts, mergeIntoMain, readTreePath, resolveCommit, statsOf, type ExportFormat, type TreeLookup } from '../git/review.ts';
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
  /** The run repository's git directory, from the layout (never from what the run's record says). */
  gitDirectory: string;
  /** The agent's branch, from the layout (never the record's `branch_name`). */
  branch: string;
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
    const paths = this.#options.layout.run(runId);
    return { state, agent, gitDirectory: paths.gitDirectory, branch: paths.agent(agent.agent_id).branchName };
  }

  async #diff(found: Found, base: string, head: string): Promise<DiffResponse> {
    const [baseCommit, headCommit] = await Promise.all([resolveCommit(found.gitDirectory, base), resolveCommit(found.gitDirectory, head)]);
    const [{ patch, truncated }, files] = await Promise.all([diffPatch(found.gitDirectory, baseCommit, headCommit), diffFiles(found.gitDirectory, baseCommit, headCommit)]);
    return { run_id: found.state.run_info.run_id, base: baseCommit, head: headCommit, stats: statsOf(files), files, patch, truncated };
  }

  /** The agent's branch against the commit every branch started from. */
  async diff(runId: string, agentId: number | string): Promise<DiffResponse> {
    const found = await this.#find(runId, agentId);
    const base = /^[0-9a-f]{40}$/.test(found.state.base_commit) ? found.state.base_commit : `refs/heads/${found.branch}~0`;
    return this.#diff(found, base, `refs/heads/${found.branch}`);
  }

  /** Agent `b`'s branch against agent `a`'s. */
  async compare(runId: string, a: number | string | undefined, b: number | string | undefined): Promise<DiffResponse> {
    const first = await this.#find(runId, a);
    const second = await this.#find(runId, b);
    return this.#diff(first, `refs/heads/${first.branch}`, `refs/heads/${second.branch}`);
  }

  /** A file's bytes or a directory's listing on the agent's branch, read from git objects (never the disk). */
  async file(runId: string, agentId: number | string, treePath: string): Promise<TreeLookup & { branch: string }> {
    const found = await this.#find(runId, agentId);
    if (!isSafeTreePath(treePath)) throw new ServiceError('forbidden', 'path is outside the branch');
    return { ...(await readTreePath(found.gitDirectory, found.branch, treePath)), branch: found.branch };
  }

  /** Merges the agent's branch into the run's main once the run has ended; a conflict changes nothing. */
  async merge(runId: string, agentId: number): Promise<MergeResponse> {
    const found = await this.#find(runId, agentId);
    const { agent, state } = found;
    if (agent.status === 'pending' || agent.status === 'running') {
      throw new ServiceError('conflict', `agent ${agent.agent_id} is still ${agent.status}; merge it when it has ended`);
    }
    // Agents' work is imported into the run repository as each ends; main moves only once all are in.
    if (state.status === 'queued' || state.status === 'running') {
      throw new ServiceError('conflict', `run ${runId} is still running; merge once every agent has ended`);
    }
    return this.#merges.run(runId, async () => {
      const branch = found.branch;
      const outcome = await mergeIntoMain(found.gitDirectory, branch, `Merge ${branch}: Agent ${agent.agent_id}'s attempt`);
      if (!outcome.merged) {
        throw new ServiceError('conflict', `merging ${branch} into main conflicts`, { details: { conflicting_files: outcome.conflictingFiles } });
      }
      const record = { agent_id: agent.agent_id, commit: outcome.commit, fast_forward: outcome.fastForward, merged_at: new Date().toISOString() };
      await this.#options.store.updateState(runId, (latest) => void latest.merges.push(record));
      this.#options.logger.info({ run_id: runId, ...record }, 'agent merged into main');
      return { run_id: runId, agent_id: agent.agent_id, branch_name: branch, fast_forward: outcome.fastForward, commit: outcome.commit };
    });
  }

  /** Whether merging the agent into main now would be clean, and the files it would conflict on: nothing is merged. */
  async mergeCheck(runId: string, agentId: number | string): Promise<MergeCheckResponse> {
    const found = await this.#find(runId, agentId);
    const files = await this.#merges.run(runId, () => mergeConflicts(found.gitDirectory, found.branch));
    return { run_id: runId, agent_id: found.agent.agent_id, clean: files.length === 0, conflicting_files: files };
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
    const commit = await resolveCommit(found.gitDirectory, found.branch);
    let outcome;
    try {
      outcome = await this.#options.sources.push(this.#options.layout.run(runId), source, target, commit);
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
    return this.#export(runId, found.gitDirectory, found.branch, format, signal);
  }

  /** The run's main (the merged result) as a git bundle or an archive of its tip, streamed. */
  async exportMain(runId: string, format: ExportFormat, signal: AbortSignal) {
    const state = await this.#options.runs.get(runId);
    return this.#export(runId, this.#options.layout.run(state.run_info.run_id).gitDirectory, 'main', format, signal);
  }

  #export(runId: string, gitDirectory: string, branch: string, format: ExportFormat, signal: AbortSignal) {
    return { branch, child: exportBranch(gitDirectory, branch, format, signal), logger: this.#options.logger.child({ run_id: runId }) };
  }
}
