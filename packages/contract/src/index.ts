// The HTTP API contract shared by the orchestrator, the frontend and any client: zod schemas, with types inferred from them. No I/O lives here.
import { z } from 'zod';

export const MIN_AGENTS = 1;
export const MAX_AGENTS = 10;
export const MAX_PROMPT_LENGTH = 100_000;

/** Git URL schemes a source may use; an absolute path on the orchestrator's host is also a source. */
export const SOURCE_SCHEMES = ['https', 'http', 'ssh', 'git', 'file'] as const;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** A run's starting point: a git repository (URL or absolute host path) and a branch, tag or commit in it. */
export const SourceRequestSchema = z
  .object({
    repo: z
      .string({ error: (issue) => (issue.input === undefined ? 'source.repo is required' : 'source.repo must be a string') })
      .min(1, { message: 'source.repo must not be empty' })
      .max(4_096, { message: 'source.repo must be at most 4096 characters' })
      .refine((value) => !value.startsWith('-'), { message: 'source.repo must not start with "-"' })
      .refine((value) => !CONTROL_CHARACTERS.test(value), { message: 'source.repo must not contain control characters' })
      .refine((value) => value.startsWith('/') || new RegExp(`^(${SOURCE_SCHEMES.join('|')})://`).test(value), {
        message: `source.repo must be a ${SOURCE_SCHEMES.map((scheme) => `${scheme}://`).join(', ')} URL or an absolute path`,
      }),
    ref: z
      .string({ error: 'source.ref must be a string' })
      .min(1, { message: 'source.ref must not be empty' })
      .max(256, { message: 'source.ref must be at most 256 characters' })
      .refine((value) => !value.startsWith('-'), { message: 'source.ref must not start with "-"' })
      .refine((value) => !CONTROL_CHARACTERS.test(value) && !/\s/.test(value), { message: 'source.ref must not contain spaces or control characters' })
      .optional(),
  })
  .strict();
export type SourceRequest = z.infer<typeof SourceRequestSchema>;

/** Where a run started: the repository (never with credentials), the ref asked for (`HEAD` by default) and the commit it named. */
export const RunSourceSchema = z.object({ repo: z.string(), ref: z.string(), commit: z.string() });
export type RunSource = z.infer<typeof RunSourceSchema>;

const commandField = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .refine((value) => value.trim().length > 0, { message: `${name} must not be blank` })
    .refine((value) => value.length <= 10_000, { message: `${name} must be at most 10000 characters` });
/** A prompt: a run's task or a follow-up to one agent. */
export const PromptSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'prompt is required' : 'prompt must be a string') })
  .refine((value) => value.trim().length > 0, { message: 'prompt must not be blank' })
  .refine((value) => value.length <= MAX_PROMPT_LENGTH, {
    message: `prompt must be at most ${MAX_PROMPT_LENGTH} characters`,
  });

export const OrchestrateRequestSchema = z.object({
  prompt: PromptSchema,
  agent_count: z
    .number({
      error: (issue) => (issue.input === undefined ? 'agent_count is required' : 'agent_count must be an integer'),
    })
    .int({ message: 'agent_count must be an integer' })
    .min(MIN_AGENTS, { message: `agent_count must be between ${MIN_AGENTS} and ${MAX_AGENTS}` })
    .max(MAX_AGENTS, { message: `agent_count must be between ${MIN_AGENTS} and ${MAX_AGENTS}` }),
  /** Optional verification run in each agent's own sandbox after it finishes, e.g. `npm test`. */
  check_command: commandField('check_command').optional(),
  /** Optional git repository and ref the run starts from, instead of a fresh repository. */
  source: SourceRequestSchema.optional(),
  /** Optional command run once before the agents, with network, over the base checkout (e.g. `npm ci`). */
  setup_command: commandField('setup_command').optional(),
  /** Optional spending limit for the whole run, shared equally by its agents. */
  budget_usd: z
    .number({ error: 'budget_usd must be a number' })
    .positive({ message: 'budget_usd must be positive' })
    .optional(),
  /** Best-of-N: `first_pass` cancels the other attempts as soon as one passes the check (needs check_command). */
  stop_when: z.enum(['first_pass'], { error: 'stop_when must be "first_pass"' }).optional(),
  /** Adaptive attempts: start this many, then more in batches of at most this many while none has passed (needs check_command). */
  start_with: z
    .number({ error: 'start_with must be an integer' })
    .int({ message: 'start_with must be an integer' })
    .min(1, { message: 'start_with must be at least 1' })
    .optional(),
  /** Later batches get a short summary of how earlier attempts failed their check (needs start_with). */
  learn_from_failures: z.boolean({ error: 'learn_from_failures must be true or false' }).optional(),
  /** How the winner is chosen: the check and the design's rules, a judge session, or the judge among the passing ones. */
  select: z.enum(['check', 'judge', 'check+judge'], { error: 'select must be "check", "judge" or "check+judge"' }).optional(),
}).superRefine((request, context) => {
  const needsCheck = (field: string, message: string): void => {
    if (!request.check_command) context.addIssue({ code: 'custom', path: [field], message });
  };
  if (request.stop_when) needsCheck('stop_when', 'stop_when "first_pass" needs check_command: it stops at the first attempt that passes it');
  if (request.start_with !== undefined) {
    needsCheck('start_with', 'start_with needs check_command: more attempts start only while none has passed it');
    if (request.start_with > request.agent_count) {
      context.addIssue({ code: 'custom', path: ['start_with'], message: 'start_with must be at most agent_count (the most attempts the run may start)' });
    }
  }
  if (request.learn_from_failures && request.start_with === undefined) {
    context.addIssue({ code: 'custom', path: ['learn_from_failures'], message: 'learn_from_failures needs start_with (only later batches can learn from earlier ones)' });
  }
  if (request.select === 'check' || request.select === 'check+judge') needsCheck('select', `select "${request.select}" needs check_command`);
});
export type OrchestrateRequest = z.infer<typeof OrchestrateRequestSchema>;

export const AgentWorkspaceSchema = z.object({
  worktree_path: z.string(),
  branch_name: z.string(),
});
export type AgentWorkspace = z.infer<typeof AgentWorkspaceSchema>;

/** One message of the agent's conversation, reduced to what a client can show. */
export const AgentMessageSchema = z.object({
  type: z.string(),
  text: z.string().optional(),
  tool: z.string().optional(),
  input_summary: z.string().optional(),
});
export type AgentMessage = z.infer<typeof AgentMessageSchema>;

export const AgentResultStatusSchema = z.enum(['success', 'error']);
export type AgentResultStatus = z.infer<typeof AgentResultStatusSchema>;

export const AgentResultSchema = z.object({
  agent_id: z.number().int(),
  status: AgentResultStatusSchema,
  output: z.string(),
  error: z.string().optional(),
  workspace: AgentWorkspaceSchema,
  messages: z.array(AgentMessageSchema),
});
export type AgentResult = z.infer<typeof AgentResultSchema>;

export const RunInfoSchema = z.object({
  run_id: z.string(),
  run_dir: z.string(),
  git_initialized: z.boolean(),
  /** Present when the run started from a source repository. */
  source: RunSourceSchema.optional(),
  /** The run repository's absolute path on the orchestrator's machine (run_dir is relative to the workspace). */
  run_path: z.string().optional(),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

export const RunSummarySchema = z.object({
  total_agents: z.number().int(),
  successful: z.number().int(),
  failed: z.number().int(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const OrchestrateResponseSchema = z.object({
  status: z.literal('completed'),
  run_info: RunInfoSchema,
  summary: RunSummarySchema,
  results: z.array(AgentResultSchema),
});
export type OrchestrateResponse = z.infer<typeof OrchestrateResponseSchema>;

/** Every error answer: a message, and the request field at fault where there is one. */
export const ErrorResponseSchema = z.object({
  error: z.string(),
  field: z.string().optional(),
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

export const HealthResponseSchema = z.object({ status: z.literal('ok') });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

export const ReadyCheckSchema = z.object({ ok: z.boolean(), detail: z.string() });
export const ReadyResponseSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  runtime: z.string(),
  runtime_reason: z.string().optional(),
  model: z.string(),
  checks: z.record(z.string(), ReadyCheckSchema),
});
export type ReadyResponse = z.infer<typeof ReadyResponseSchema>;

/** Turns a failed parse into the API's error shape: the first issue's message and the field it names. */
export function toErrorResponse(error: z.ZodError): ErrorResponse {
  const issue = error.issues[0];
  if (!issue) return { error: 'invalid request' };
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') return { error: issue.message };
  return field ? { error: issue.message, field } : { error: issue.message };
}

// ---- Durable runs: POST /runs, GET /runs, GET /runs/:id, GET /runs/:id/events, cancel ----

export const AgentStatusSchema = z.enum(['pending', 'running', 'success', 'error', 'cancelled']);
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

export const RunStatusSchema = z.enum(['queued', 'running', 'completed', 'cancelled', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const UsageSchema = z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() });
export type Usage = z.infer<typeof UsageSchema>;

export const CreateRunRequestSchema = OrchestrateRequestSchema;
export type CreateRunRequest = z.infer<typeof CreateRunRequestSchema>;

export const CreateRunResponseSchema = z.object({
  run_id: z.string(),
  status: RunStatusSchema,
  /** 1 for the next run to start; null once running. */
  queue_position: z.number().int().nullable(),
});
export type CreateRunResponse = z.infer<typeof CreateRunResponseSchema>;

/** POST /runs/:id/cancel and /runs/:id/agents/:n/cancel: accepted; the run's events say when it has ended. */
export const CancelResponseSchema = z.object({
  run_id: z.string(),
  agent_id: z.number().int().optional(),
  status: z.literal('cancelling'),
});
export type CancelResponse = z.infer<typeof CancelResponseSchema>;

export const CheckResultSchema = z.object({
  /** `error` when the check could not be run at all (its sandbox failed). */
  status: z.enum(['passed', 'failed', 'timed_out', 'error']),
  exit_code: z.number().int().nullable(),
  duration_ms: z.number().int(),
  output_tail: z.string(),
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const DiffFileSchema = z.object({
  path: z.string(),
  /** null for binary files. */
  insertions: z.number().int().nullable(),
  deletions: z.number().int().nullable(),
});
export const DiffStatsSchema = z.object({
  files: z.number().int(),
  insertions: z.number().int(),
  deletions: z.number().int(),
});
export type DiffStats = z.infer<typeof DiffStatsSchema>;

/** One agent's state: the /orchestrate result plus progress, usage and cost. */
export const AgentStateSchema = AgentResultSchema.extend({
  status: AgentStatusSchema,
  usage: UsageSchema,
  cost_usd: z.number(),
  duration_ms: z.number().int().nullable(),
  num_turns: z.number().int(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  /** The run's check_command in this agent's sandbox; null when the run has none or it has not run. */
  check: CheckResultSchema.nullable().default(null),
  /** The agent's branch against the run's base commit; null until the agent ends. */
  diff_stats: DiffStatsSchema.nullable().default(null),
  /** 1 is best; set when the run ends. */
  rank: z.number().int().nullable().default(null),
  rank_reasons: z.array(z.string()).default([]),
  recommended: z.boolean().default(false),
  /** The agent's SDK session, which a follow-up resumes; null until its session has started. */
  session_id: z.string().nullable().default(null),
  /** What the agent is doing within its status: waiting for a free slot, starting its sandbox; null otherwise. */
  status_detail: z.string().nullable().default(null),
});
export type AgentState = z.infer<typeof AgentStateSchema>;

/** What the run's setup_command did (a check's shape), and what of its output every agent was given. */
export const SetupResultSchema = CheckResultSchema.extend({
  /** Paths the setup left that the base commit does not have (e.g. `node_modules`), copied into each agent's tree. */
  copied_paths: z.array(z.string()).default([]),
  /** How long copying them into every agent's tree took. */
  copy_ms: z.number().int().default(0),
});
export type SetupResult = z.infer<typeof SetupResultSchema>;

export const PushRecordSchema = z.object({ agent_id: z.number().int(), remote: z.string(), branch: z.string(), commit: z.string(), pushed_at: z.string() });
export type PushRecord = z.infer<typeof PushRecordSchema>;

export const MergeRecordSchema = z.object({
  agent_id: z.number().int(),
  commit: z.string(),
  fast_forward: z.boolean(),
  merged_at: z.string(),
});
export type MergeRecord = z.infer<typeof MergeRecordSchema>;

/** A follow-up sent to one agent after the run ended (POST /runs/:id/agents/:n/continue). */
export const FollowUpSchema = z.object({
  agent_id: z.number().int(),
  prompt: z.string(),
  requested_at: z.string(),
});
export type FollowUp = z.infer<typeof FollowUpSchema>;

export const ContinueRequestSchema = z.object({ prompt: PromptSchema });
export type ContinueRequest = z.infer<typeof ContinueRequestSchema>;

export const ContinueResponseSchema = z.object({
  run_id: z.string(),
  agent_id: z.number().int(),
  status: RunStatusSchema,
});
export type ContinueResponse = z.infer<typeof ContinueResponseSchema>;

/** GET /runs/:id/agents/:n/merge-check: whether merging the agent into main now would be clean. */
export const MergeCheckResponseSchema = z.object({
  run_id: z.string(),
  agent_id: z.number().int(),
  clean: z.boolean(),
  conflicting_files: z.array(z.string()),
});
export type MergeCheckResponse = z.infer<typeof MergeCheckResponseSchema>;

export const RunSummaryWithCancelledSchema = RunSummarySchema.extend({ cancelled: z.number().int() });

export const SelectModeSchema = z.enum(['check', 'judge', 'check+judge']);
export type SelectMode = z.infer<typeof SelectModeSchema>;

/** How a run spends its attempts and picks its winner, as asked for (with defaults filled in). */
export const RunStrategySchema = z.object({
  stop_when: z.enum(['first_pass']).nullable(),
  /** null: every attempt starts at once. */
  start_with: z.number().int().nullable(),
  learn_from_failures: z.boolean(),
  select: SelectModeSchema,
  budget_usd: z.number().nullable(),
});
export type RunStrategy = z.infer<typeof RunStrategySchema>;

/** The judge session's verdict over the candidates: a ranking with a reason each, or why there is none. */
export const JudgeVerdictSchema = z.object({
  /** `skipped` when there was nothing to compare (fewer than two candidates) or no budget left for it. */
  status: z.enum(['ranked', 'failed', 'timed_out', 'skipped']),
  /** The agents it was asked to compare. */
  candidates: z.array(z.number().int()),
  /** Agent ids, best first; empty unless ranked. */
  ranking: z.array(z.number().int()),
  reasons: z.array(z.object({ agent_id: z.number().int(), reason: z.string() })),
  summary: z.string(),
  usage: UsageSchema,
  cost_usd: z.number(),
  duration_ms: z.number().int(),
  error: z.string().optional(),
});
export type JudgeVerdict = z.infer<typeof JudgeVerdictSchema>;

/** What early stop and adaptive attempts saved against letting every attempt run to its end (an estimate). */
export const SavingsSchema = z.object({
  /** Attempts cancelled while they worked because another passed first. */
  agents_stopped: z.number().int(),
  /** Attempts never started: one had passed, or the budget would not cover them. */
  agents_not_started: z.number().int(),
  estimated_cost_usd: z.number(),
  /** How the estimate was made, in words. */
  basis: z.string(),
});
export type Savings = z.infer<typeof SavingsSchema>;

/** The run's spending and timing, attempts and judge together. */
export const RunTotalsSchema = z.object({
  attempts_started: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  /** Every attempt's cost plus the judge's. */
  cost_usd: z.number(),
  judge_cost_usd: z.number(),
  /** From the run's start to now (or its end). */
  duration_ms: z.number().int().nullable(),
  /** From the run's start to the end of the first attempt that passed its check; null if none did. */
  first_pass_ms: z.number().int().nullable(),
});
export type RunTotals = z.infer<typeof RunTotalsSchema>;

/** GET /runs/:id: the /orchestrate response shape, with run and agent progress. */
export const RunStateSchema = z.object({
  status: RunStatusSchema,
  queue_position: z.number().int().nullable(),
  prompt: z.string(),
  agent_count: z.number().int(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  run_info: RunInfoSchema,
  summary: RunSummaryWithCancelledSchema,
  results: z.array(AgentStateSchema),
  check_command: z.string().nullable().default(null),
  /** The commit every agent branch starts from. */
  base_commit: z.string().default(''),
  recommended_agent_id: z.number().int().nullable().default(null),
  /** Why no agent is recommended, when none is. */
  no_recommendation_reason: z.string().nullable().default(null),
  merges: z.array(MergeRecordSchema).default([]),
  setup_command: z.string().nullable().default(null),
  /** The setup_command's outcome; null when the run has none or it has not run yet. */
  setup: SetupResultSchema.nullable().default(null),
  /** Agents' branches pushed to the source. */
  pushes: z.array(PushRecordSchema).default([]),
  /** The run's spending limit, shared equally by its agents; null when it has none. */
  budget_usd: z.number().nullable().default(null),
  followups: z.array(FollowUpSchema).default([]),
  /** Set when the run's setup failed, or while the run's end could not be recorded (e.g. a full disk): the orchestrator keeps retrying. */
  error: z.string().optional(),
  strategy: RunStrategySchema.nullable().default(null),
  totals: RunTotalsSchema.nullable().default(null),
  savings: SavingsSchema.nullable().default(null),
  judge: JudgeVerdictSchema.nullable().default(null),
  /** Who ordered the ranks: the design's rules (check, failing lines, diff size, cost) or the judge. */
  ranked_by: z.enum(['rules', 'judge']).default('rules'),
  /** Why the ranking is not what was asked for (the judge failed or timed out), shown beside it. */
  ranking_note: z.string().nullable().default(null),
});
export type RunState = z.infer<typeof RunStateSchema>;

export const MergeRequestSchema = z.object({
  agent_id: z.number({ error: (issue) => (issue.input === undefined ? 'agent_id is required' : 'agent_id must be an integer') }).int({ message: 'agent_id must be an integer' }).positive({ message: 'agent_id must be positive' }),
});
export type MergeRequest = z.infer<typeof MergeRequestSchema>;

export const MergeResponseSchema = z.object({
  run_id: z.string(),
  agent_id: z.number().int(),
  branch_name: z.string(),
  fast_forward: z.boolean(),
  commit: z.string(),
});
export type MergeResponse = z.infer<typeof MergeResponseSchema>;

/** POST /runs/:id/agents/:n/push: the branch name on the source (default `multiclaude/<run_id>/agent-<n>`). */
export const PushRequestSchema = z
  .object({
    branch: z
      .string({ error: 'branch must be a string' })
      .min(1, { message: 'branch must not be empty' })
      .max(256, { message: 'branch must be at most 256 characters' })
      .optional(),
  })
  .strict();
export type PushRequest = z.infer<typeof PushRequestSchema>;

export const PushResponseSchema = z.object({ remote: z.string(), branch: z.string(), commit: z.string() });
export type PushResponse = z.infer<typeof PushResponseSchema>;


export const MergeConflictSchema = z.object({ error: z.string(), conflicting_files: z.array(z.string()) });

export const DiffResponseSchema = z.object({
  run_id: z.string(),
  base: z.string(),
  head: z.string(),
  stats: DiffStatsSchema,
  files: z.array(DiffFileSchema),
  patch: z.string(),
  /** The patch was cut at the size limit; stats and files are whole. */
  truncated: z.boolean(),
});
export type DiffResponse = z.infer<typeof DiffResponseSchema>;

export const RunListItemSchema = z.object({
  run_id: z.string(),
  status: RunStatusSchema,
  prompt: z.string(),
  agent_count: z.number().int(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  summary: RunSummaryWithCancelledSchema,
  source: RunSourceSchema.optional(),
  followups: z.array(FollowUpSchema).default([]),
});
export type RunListItem = z.infer<typeof RunListItemSchema>;

export const RunListSchema = z.object({
  runs: z.array(RunListItemSchema),
  /** Pass as `?before=` for the next (older) page; null on the last page. */
  next_before: z.string().nullable(),
});
export type RunList = z.infer<typeof RunListSchema>;

const eventBase = { id: z.number().int(), at: z.string(), run_id: z.string() };

/** What GET /runs/:id/events streams; the SSE `event:` is `type`, the SSE `id:` is `id`. */
export const RunEventSchema = z.discriminatedUnion('type', [
  z.object({ ...eventBase, type: z.literal('run_status'), status: RunStatusSchema, queue_position: z.number().int().nullable() }),
  z.object({
    ...eventBase,
    type: z.literal('agent_status'),
    agent_id: z.number().int(),
    status: AgentStatusSchema,
    error: z.string().optional(),
    /** What the agent is doing within its status, e.g. `waiting for a free slot (2 ahead)`. */
    detail: z.string().optional(),
  }),
  /** The agent's running totals after each model turn; the cost is estimated until its agent_result. */
  z.object({ ...eventBase, type: z.literal('agent_usage'), agent_id: z.number().int(), usage: UsageSchema, cost_usd: z.number(), num_turns: z.number().int() }),
  /** A follow-up started on one agent of an ended run; the run runs again until its next run_finished. */
  z.object({ ...eventBase, type: z.literal('agent_followup'), agent_id: z.number().int(), prompt: z.string() }),
  z.object({ ...eventBase, type: z.literal('agent_text'), agent_id: z.number().int(), text: z.string() }),
  z.object({ ...eventBase, type: z.literal('agent_tool_call'), agent_id: z.number().int(), tool: z.string(), input_summary: z.string() }),
  z.object({ ...eventBase, type: z.literal('agent_tool_result'), agent_id: z.number().int(), text: z.string(), is_error: z.boolean() }),
  /** The run's setup_command has ended (before any agent starts). */
  z.object({ ...eventBase, type: z.literal('setup_result'), result: SetupResultSchema }),
  /** `totals`: the run's spending so far, this attempt included (extension). */
  z.object({ ...eventBase, type: z.literal('agent_result'), agent_id: z.number().int(), result: AgentStateSchema, totals: RunTotalsSchema.optional() }),
  /** The judge's verdict, once it has compared the candidates (extension of the design's events). */
  z.object({ ...eventBase, type: z.literal('judge_result'), judge: JudgeVerdictSchema, totals: RunTotalsSchema }),
  /** The last event of every run (and of each follow-up): the stream closes after it. */
  z.object({ ...eventBase, type: z.literal('run_finished'), run: RunStateSchema }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;
export type RunEventType = RunEvent['type'];
/** An event before the store gives it its id and time. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'id' | 'at' | 'run_id'> : never) : never;
