// The review API: each agent's diff, files at its branch tip, a comparison of two agents, merge into main, and export.
import type { Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { MergeRequestSchema, type AgentState, type RunState } from '@multiclaude/contract';
import type { Logger } from 'pino';
import type { RunManager } from '../runs/run-manager.ts';
import type { RunStore } from '../runs/run-store.ts';
import { diffFiles, diffPatch, exportBranch, isSafeTreePath, mergeIntoMain, readTreePath, resolveCommit, statsOf, type ExportFormat } from '../git/review.ts';
import { Mutex } from '../runs/mutex.ts';
import { parseJsonBody } from './json-body.ts';

export interface ReviewRouteDependencies {
  manager: RunManager;
  store: RunStore;
  logger: Logger;
}

const MAX_FILE_BYTES = 1024 * 1024;

type Found = { state: RunState; agent?: AgentState; runDirectory: string };

function looksBinary(content: Buffer): boolean {
  return content.subarray(0, 8_000).includes(0);
}

function wantsPatchText(context: Context): boolean {
  return context.req.query('format') === 'patch' || (context.req.header('accept') ?? '').includes('text/x-diff');
}

export function registerReviewRoutes(app: Hono, dependencies: ReviewRouteDependencies): void {
  const { manager, store, logger } = dependencies;
  const merges = new Mutex();

  async function findRun(context: Context): Promise<Found | Response> {
    const runId = context.req.param('id') ?? '';
    const state = await manager.get(runId);
    if (!state) return context.json({ error: `no run ${runId}` }, 404);
    return { state, runDirectory: store.runDirectory(runId) };
  }

  async function findAgent(context: Context, idText: string | undefined): Promise<Found | Response> {
    const found = await findRun(context);
    if (found instanceof Response) return found;
    const agentId = Number(idText);
    const agent = Number.isInteger(agentId) ? found.state.results.find((result) => result.agent_id === agentId) : undefined;
    if (!agent) return context.json({ error: `run ${found.state.run_info.run_id} has no agent ${idText ?? ''}` }, 404);
    return { ...found, agent };
  }

  async function diffResponse(context: Context, found: Found, base: string, head: string): Promise<Response> {
    const [baseCommit, headCommit] = await Promise.all([resolveCommit(found.runDirectory, base), resolveCommit(found.runDirectory, head)]);
    const { patch, truncated } = await diffPatch(found.runDirectory, baseCommit, headCommit);
    if (wantsPatchText(context)) return context.body(patch, 200, { 'content-type': 'text/x-diff; charset=utf-8' });
    const files = await diffFiles(found.runDirectory, baseCommit, headCommit);
    return context.json({ run_id: found.state.run_info.run_id, base: baseCommit, head: headCommit, stats: statsOf(files), files, patch, truncated });
  }

  app.get('/runs/:id/agents/:n/diff', async (context) => {
    const found = await findAgent(context, context.req.param('n'));
    if (found instanceof Response) return found;
    const base = found.state.base_commit || `${found.agent!.workspace.branch_name}~0`;
    return diffResponse(context, found, base, found.agent!.workspace.branch_name);
  });

  app.get('/runs/:id/compare', async (context) => {
    const first = await findAgent(context, context.req.query('a'));
    if (first instanceof Response) return first;
    const second = await findAgent(context, context.req.query('b'));
    if (second instanceof Response) return second;
    return diffResponse(context, first, first.agent!.workspace.branch_name, second.agent!.workspace.branch_name);
  });

  app.get('/runs/:id/agents/:n/files/*', async (context) => {
    const found = await findAgent(context, context.req.param('n'));
    if (found instanceof Response) return found;
    const prefix = `/runs/${found.state.run_info.run_id}/agents/${found.agent!.agent_id}/files`;
    let treePath: string;
    try {
      treePath = decodeURIComponent(context.req.path.slice(prefix.length)).replace(/^\//, '').replace(/\/$/, '');
    } catch {
      return context.json({ error: 'malformed path' }, 400);
    }
    if (!isSafeTreePath(treePath)) return context.json({ error: 'path is outside the branch' }, 403);
    const lookup = await readTreePath(found.runDirectory, found.agent!.workspace.branch_name, treePath);
    if (lookup.kind === 'missing') return context.json({ error: `no ${treePath || '/'} on ${found.agent!.workspace.branch_name}` }, 404);
    if (lookup.kind === 'directory') return context.json({ path: treePath, type: 'directory', entries: lookup.entries });
    if (lookup.content.length > MAX_FILE_BYTES) {
      return context.json({ error: `file is ${lookup.content.length} bytes, over the ${MAX_FILE_BYTES}-byte limit` }, 413);
    }
    if (looksBinary(lookup.content)) {
      return context.body(new Uint8Array(lookup.content), 200, { 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff' });
    }
    return context.body(lookup.content.toString('utf8'), 200, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  });

  app.post('/runs/:id/merge', async (context) => {
    const parsed = await parseJsonBody(context, MergeRequestSchema);
    if (!parsed.ok) return context.json(parsed.body, parsed.status);
    const found = await findAgent(context, String(parsed.value.agent_id));
    if (found instanceof Response) return found;
    const runId = found.state.run_info.run_id;
    if (found.agent!.status === 'pending' || found.agent!.status === 'running') {
      return context.json({ error: `agent ${found.agent!.agent_id} is still ${found.agent!.status}; merge it when it has ended` }, 409);
    }
    // The run's other agents commit into the same object store; the orchestrator writes there only once they are done.
    if (found.state.status === 'queued' || found.state.status === 'running') {
      return context.json({ error: `run ${runId} is still running; merge once every agent has ended` }, 409);
    }
    return merges.run(runId, async () => {
      const branch = found.agent!.workspace.branch_name;
      const outcome = await mergeIntoMain(found.runDirectory, branch, `Merge ${branch}: Agent ${found.agent!.agent_id}'s attempt`);
      if (!outcome.merged) {
        return context.json({ error: `merging ${branch} into main conflicts`, conflicting_files: outcome.conflictingFiles }, 409);
      }
      const latest = (await store.readState(runId)) ?? found.state;
      latest.merges.push({ agent_id: found.agent!.agent_id, commit: outcome.commit, fast_forward: outcome.fastForward, merged_at: new Date().toISOString() });
      await store.writeState(latest);
      logger.info({ run_id: runId, agent_id: found.agent!.agent_id, commit: outcome.commit, fast_forward: outcome.fastForward }, 'agent merged into main');
      return context.json({ run_id: runId, agent_id: found.agent!.agent_id, branch_name: branch, fast_forward: outcome.fastForward, commit: outcome.commit });
    });
  });

  app.get('/runs/:id/agents/:n/export', async (context) => {
    const format = (context.req.query('format') ?? 'bundle') as ExportFormat;
    if (!['bundle', 'tar', 'zip'].includes(format)) return context.json({ error: 'format must be bundle, tar or zip', field: 'format' }, 400);
    const found = await findAgent(context, context.req.param('n'));
    if (found instanceof Response) return found;
    const branch = found.agent!.workspace.branch_name;
    const filename = `${found.state.run_info.run_id}-${branch}.${format === 'bundle' ? 'bundle' : format}`;
    context.header('content-type', format === 'zip' ? 'application/zip' : format === 'tar' ? 'application/x-tar' : 'application/octet-stream');
    context.header('content-disposition', `attachment; filename="${filename}"`);
    return stream(context, async (output) => {
      const controller = new AbortController();
      output.onAbort(() => controller.abort());
      const child = exportBranch(found.runDirectory, branch, format, controller.signal);
      for await (const chunk of child.stdout!) await output.write(chunk as Uint8Array);
      await child.catch((error: unknown) => logger.warn({ err: error, run_id: found.state.run_info.run_id }, 'export failed'));
    });
  });
}
