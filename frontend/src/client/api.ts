// The page's calls to its own server: POST /submit and the /api proxy of the orchestrator's run API.
import type { ContinueResponse, CreateRunRequest, CreateRunResponse, DiffResponse, MergeCheckResponse, MergeResponse, PushResponse, ReadyResponse, RunList, RunState } from '@multiclaude/contract';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field?: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch {
    throw new ApiError('cannot reach the frontend server: is it still running?', 0);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = body as { error?: unknown; field?: unknown } | undefined;
    const message = typeof error?.error === 'string' ? error.error : `${response.status} ${response.statusText || 'error'}`;
    throw new ApiError(message, response.status, typeof error?.field === 'string' ? error.field : undefined, body);
  }
  return body as T;
}

/** The run form's optional fields, as POST /runs names them; absent ones are left out. */
export type RunOptions = Partial<Pick<CreateRunRequest, 'check_command' | 'stop_when' | 'start_with' | 'learn_from_failures' | 'select' | 'budget_usd' | 'source' | 'setup_command'>>;

export function submitRun(prompt: string, agentCount: number, options: RunOptions = {}): Promise<CreateRunResponse> {
  return call('/submit', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, agent_count: agentCount, ...options }),
  });
}

/** Pushes the agent's branch to the run's source as a new branch (the orchestrator's default name). */
export function pushAgent(runId: string, agentId: number): Promise<PushResponse> {
  return call(`/api/runs/${encodeURIComponent(runId)}/agents/${agentId}/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
}

/** Sends a follow-up to one agent of an ended run; the run's events then follow it. */
export function continueAgent(runId: string, agentId: number, prompt: string): Promise<ContinueResponse> {
  return call(`/api/runs/${encodeURIComponent(runId)}/agents/${agentId}/continue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });
}

/** Agent b's branch against agent a's. */
export function getCompare(runId: string, a: number, b: number): Promise<DiffResponse> {
  return call(`/api/runs/${encodeURIComponent(runId)}/compare?a=${a}&b=${b}`);
}

/** Whether merging the agent into main now would conflict (nothing is merged). */
export function getMergeCheck(runId: string, agentId: number): Promise<MergeCheckResponse> {
  return call(`/api/runs/${encodeURIComponent(runId)}/agents/${agentId}/merge-check`);
}

export function getRun(runId: string): Promise<RunState> {
  return call(`/api/runs/${encodeURIComponent(runId)}`);
}

export function listRuns(before?: string): Promise<RunList> {
  const query = new URLSearchParams({ limit: '20', ...(before ? { before } : {}) });
  return call(`/api/runs?${query.toString()}`);
}

export function cancelRun(runId: string): Promise<unknown> {
  return call(`/api/runs/${encodeURIComponent(runId)}/cancel`, { method: 'POST' });
}

export function cancelAgent(runId: string, agentId: number): Promise<unknown> {
  return call(`/api/runs/${encodeURIComponent(runId)}/agents/${agentId}/cancel`, { method: 'POST' });
}

/** /ready answers 503 with a body when a check fails; that is still an answer worth showing. */
export async function getReady(): Promise<ReadyResponse> {
  try {
    return await call<ReadyResponse>('/api/ready');
  } catch (error) {
    const body = error instanceof ApiError ? (error.body as Partial<ReadyResponse> | undefined) : undefined;
    if (error instanceof ApiError && error.status === 503 && body?.status === 'not_ready') return body as ReadyResponse;
    throw error;
  }
}

export function eventsUrl(runId: string, afterId: number): string {
  return `/api/runs/${encodeURIComponent(runId)}/events?after=${afterId}`;
}

export function getDiff(runId: string, agentId: number): Promise<DiffResponse> {
  return call(`/api/runs/${encodeURIComponent(runId)}/agents/${agentId}/diff`);
}

/** A conflict answers 409 with the conflicting files, which the message then names. */
export async function mergeAgent(runId: string, agentId: number): Promise<MergeResponse> {
  try {
    return await call<MergeResponse>(`/api/runs/${encodeURIComponent(runId)}/merge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: agentId }),
    });
  } catch (error) {
    const files = error instanceof ApiError ? (error.body as { conflicting_files?: unknown } | undefined)?.conflicting_files : undefined;
    if (error instanceof ApiError && Array.isArray(files) && files.length > 0) {
      throw new ApiError(`${error.message}: ${files.join(', ')}`, error.status);
    }
    throw error;
  }
}

export function exportUrl(runId: string, agentId: number, format: 'zip' | 'tar' | 'bundle'): string {
  return `/api/runs/${encodeURIComponent(runId)}/agents/${agentId}/export?format=${format}`;
}

export function exportMainUrl(runId: string, format: 'zip' | 'tar' | 'bundle'): string {
  return `/api/runs/${encodeURIComponent(runId)}/export?ref=main&format=${format}`;
}
