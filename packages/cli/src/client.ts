// The orchestrator's HTTP API as typed calls: bearer token, deadlines, answers parsed with the contract's zod schemas, failures turned into CliErrors that name the fix.
import { z } from 'zod';
import {
  CancelResponseSchema,
  CreateRunResponseSchema,
  DiffResponseSchema,
  HealthResponseSchema,
  MergeResponseSchema,
  ReadyResponseSchema,
  RunListSchema,
  RunStateSchema,
  type CancelResponse,
  type CreateRunRequest,
  type CreateRunResponse,
  type DiffResponse,
  type HealthResponse,
  type MergeResponse,
  type ReadyResponse,
  type RunList,
  type RunState,
} from '@multiclaude/contract';
import { CliError } from './errors.ts';

/** Where a run's code comes from; the server accepts it once runs on the user's repository exist (its schema strips unknown keys until then). */
export const RunSourceSchema = z.object({ repo: z.string().min(1), ref: z.string().min(1).optional() });
export type RunSource = z.infer<typeof RunSourceSchema>;

export type StartRunRequest = CreateRunRequest & { source?: RunSource | undefined };

export function sourceNotTaken(url: string, source: RunSource): string {
  return `the orchestrator at ${url} does not take a run source yet, so the agents start from a fresh repository, not from ${source.repo}${source.ref ? ` at ${source.ref}` : ''}`;
}


/** POST /runs/:id/agents/:n/push, as the API will answer it; not in the contract until the server has the route. */
export const PushResponseSchema = z.object({ remote: z.string(), branch: z.string(), commit: z.string() });
export type PushResponse = z.infer<typeof PushResponseSchema>;


const ErrorBodySchema = z.object({ error: z.string(), field: z.string().optional(), conflicting_files: z.array(z.string()).optional() });

const REQUEST_TIMEOUT_MS = 30_000;

export interface ClientOptions {
  url: string;
  token?: string | undefined;
}

export class OrchestratorClient {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token || undefined;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  /** Sends a request and returns the response when it is a success; anything else becomes a CliError. */
  async send(method: string, pathName: string, options: { body?: unknown; accept?: string; signal?: AbortSignal; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<Response> {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let response: Response;
    try {
      response = await fetch(`${this.url}${pathName}`, {
        method,
        headers: this.headers({
          accept: options.accept ?? 'application/json',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        }),
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal,
      });
    } catch (error) {
      if (deadline.aborted) throw new CliError('timeout', `the orchestrator at ${this.url} did not answer ${method} ${pathName} within ${(options.timeoutMs ?? REQUEST_TIMEOUT_MS) / 1000} s`, { cause: error });
      if (options.signal?.aborted) throw error;
      throw unreachable(this.url, error);
    }
    if (response.ok) return response;
    throw await this.failure(method, pathName, response);
  }

  async json<T extends z.ZodType>(schema: T, method: string, pathName: string, options: { body?: unknown; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<z.infer<T>> {
    const response = await this.send(method, pathName, options);
    const text = await response.text();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new CliError('bad_answer', `the orchestrator's answer to ${method} ${pathName} is not JSON: ${text.slice(0, 200)}`, { cause: error });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new CliError('bad_answer', `the orchestrator's answer to ${method} ${pathName} does not match the API (${parsed.error.issues[0]?.message ?? 'invalid'}): is it a different version?`, { cause: parsed.error });
    }
    return parsed.data;
  }

  /** Turns an error answer into a CliError whose message says what to do about it. */
  private async failure(method: string, pathName: string, response: Response): Promise<CliError> {
    const text = await response.text().catch(() => '');
    let body: z.infer<typeof ErrorBodySchema> | undefined;
    try {
      const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
      body = parsed.success ? parsed.data : undefined;
    } catch {
      body = undefined;
    }
    const said = body?.error ?? (text.slice(0, 200) || response.statusText);
    const status = response.status;
    if (status === 401) {
      const fix = this.token
        ? 'ORCHESTRATOR_TOKEN is set but the orchestrator refused it: set it to the token the orchestrator was started with'
        : 'set ORCHESTRATOR_TOKEN to the token the orchestrator was started with';
      return new CliError('unauthorized', `the orchestrator at ${this.url} refused the request (401 ${said}): ${fix}`, { status });
    }
    if (status === 404 && said.startsWith('no route for')) {
      return new CliError('unsupported', `the orchestrator at ${this.url} has no route for ${method} ${pathName.split('?')[0]}: it is an older version that does not support this`, { status });
    }
    if (status === 404) {
      const hint = /^no run /.test(said) ? ' (`multiclaude runs` lists the runs)' : /has no agent/.test(said) ? ' (`multiclaude show <run>` lists its agents)' : '';
      return new CliError('not_found', `${said}${hint}`, { status });
    }
    if (status === 409) {
      const files = body?.conflicting_files ?? [];
      if (files.length > 0) {
        return new CliError('conflict', `${said}; conflicting files: ${files.join(', ')}. The run's main is unchanged: merge another agent, or resolve it by hand in the run repository`, {
          status,
          detail: { conflicting_files: files },
        });
      }
      return new CliError('conflict', said, { status });
    }
    if (status === 429) {
      const retryAfter = Number(response.headers.get('retry-after'));
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
      return new CliError('queue_full', `${said}: the orchestrator's queue is full; try again${wait ? ` in ${wait} s (Retry-After)` : ' later'}`, {
        status,
        detail: wait ? { retry_after_seconds: wait } : {},
      });
    }
    if (status >= 400 && status < 500) {
      return new CliError('bad_request', body?.field ? `${said} (field ${body.field})` : said, { status, detail: body?.field ? { field: body.field } : {} });
    }
    return new CliError('server_error', `the orchestrator failed on ${method} ${pathName.split('?')[0]} (${status} ${said}): see its logs (scripts/view-logs.sh)`, { status });
  }

  health(signal?: AbortSignal): Promise<HealthResponse> {
    return this.json(HealthResponseSchema, 'GET', '/health', { timeoutMs: 2_000, ...(signal ? { signal } : {}) });
  }

  /** /ready answers 503 with the same body when a check fails; that is still an answer. */
  async ready(): Promise<ReadyResponse | undefined> {
    try {
      const response = await fetch(`${this.url}/ready`, { headers: this.headers(), signal: AbortSignal.timeout(15_000) });
      const parsed = ReadyResponseSchema.safeParse(await response.json());
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  startRun(request: StartRunRequest, signal?: AbortSignal): Promise<CreateRunResponse> {
    return this.json(CreateRunResponseSchema, 'POST', '/runs', { body: request, ...(signal ? { signal } : {}) });
  }

  listRuns(options: { limit?: number; before?: string } = {}): Promise<RunList> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 20), ...(options.before ? { before: options.before } : {}) });
    return this.json(RunListSchema, 'GET', `/runs?${query.toString()}`);
  }

  getRun(runId: string, signal?: AbortSignal): Promise<RunState> {
    return this.json(RunStateSchema, 'GET', `/runs/${encodeURIComponent(runId)}`, signal ? { signal } : {});
  }

  /** The run checked against the contract, and exactly as the server sent it (fields newer than the contract included), for --json. */
  async getRunAsSent(runId: string, signal?: AbortSignal): Promise<{ run: RunState; sent: Record<string, unknown> }> {
    const sent = await this.json(z.record(z.string(), z.unknown()), 'GET', `/runs/${encodeURIComponent(runId)}`, signal ? { signal } : {});
    const parsed = RunStateSchema.safeParse(sent);
    if (!parsed.success) throw new CliError('bad_answer', `the orchestrator's run ${runId} does not match the API (${parsed.error.issues[0]?.message ?? 'invalid'}): is it a different version?`);
    return { run: parsed.data, sent };
  }

  /**
   * Whether the run was started from the source it was given: the server records it in run_info.source once it
   * supports sources; until then it drops the field and the agents start from a fresh repository.
   */
  async sourceTaken(runId: string, signal?: AbortSignal): Promise<boolean> {
    const { sent } = await this.getRunAsSent(runId, signal);
    const runInfo = sent['run_info'];
    return typeof runInfo === 'object' && runInfo !== null && typeof (runInfo as Record<string, unknown>)['source'] === 'object';
  }

  getDiff(runId: string, agentId: number): Promise<DiffResponse> {
    return this.json(DiffResponseSchema, 'GET', `/runs/${encodeURIComponent(runId)}/agents/${agentId}/diff`);
  }

  async getPatch(runId: string, agentId: number): Promise<string> {
    const response = await this.send('GET', `/runs/${encodeURIComponent(runId)}/agents/${agentId}/diff?format=patch`, { accept: 'text/x-diff' });
    return response.text();
  }

  merge(runId: string, agentId: number): Promise<MergeResponse> {
    return this.json(MergeResponseSchema, 'POST', `/runs/${encodeURIComponent(runId)}/merge`, { body: { agent_id: agentId } });
  }

  push(runId: string, agentId: number, branch?: string): Promise<PushResponse> {
    return this.json(PushResponseSchema, 'POST', `/runs/${encodeURIComponent(runId)}/agents/${agentId}/push`, { body: branch ? { branch } : {} });
  }

  cancel(runId: string, agentId?: number): Promise<CancelResponse> {
    const pathName = agentId === undefined ? `/runs/${encodeURIComponent(runId)}/cancel` : `/runs/${encodeURIComponent(runId)}/agents/${agentId}/cancel`;
    return this.json(CancelResponseSchema, 'POST', pathName);
  }
}

export function unreachable(url: string, cause: unknown): CliError {
  const reason = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : cause instanceof Error ? cause.message : String(cause);
  return new CliError(
    'unreachable',
    `cannot reach the orchestrator at ${url} (${reason}): start one with \`npm start\` (or \`npm run orchestrator\`), or point ORCHESTRATOR_URL at a running one`,
    { cause },
  );
}
