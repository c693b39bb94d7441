// Reads the orchestrator's configuration from the environment once, at start-up, and validates it with zod.
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { parseByteSize } from './logging/byte-size.ts';
import { RUNTIME_NAMES, type RuntimeName } from './sandboxes/registry.ts';
import { DEFAULT_UID_RANGE, type UidRange } from './sandboxes/sandbox-users.ts';

const LOG_LEVELS = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error', CRITICAL: 'fatal' } as const;

const positiveInteger = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int({ message: `${name} must be an integer` })
    .positive({ message: `${name} must be positive` });

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== '' ? value.trim() : undefined));

/** A size in bytes, or with a K, M or G suffix. */
const byteSize = (name: string, fallback: string) =>
  optionalString.transform((value, context) => {
    const bytes = parseByteSize(value ?? fallback);
    if (bytes === undefined) {
      context.addIssue({ code: 'custom', message: `${name} must be a size such as 10485760, 512K, 10M or 2G` });
      return z.NEVER;
    }
    return bytes;
  });

function defaultClaudeExecutable(): string {
  const require = createRequire(import.meta.url);
  try {
    const packageJson = require.resolve('@anthropic-ai/claude-agent-sdk-linux-x64/package.json');
    return path.join(path.dirname(packageJson), 'claude');
  } catch {
    return 'claude';
  }
}

/** A Kubernetes object name such as a RuntimeClass's or a PersistentVolumeClaim's (RFC 1123 subdomain). */
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

const EnvironmentSchema = z.object({
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_AUTH_TOKEN: optionalString,
  ANTHROPIC_BASE_URL: optionalString.pipe(z.url({ message: 'ANTHROPIC_BASE_URL must be a URL' }).optional()),
  ANTHROPIC_MODEL: optionalString,
  WORKSPACE_LOCAL: optionalString,
  WORKSPACE_PATH: optionalString,
  DOCKER_MCP_IMAGE: optionalString.transform((value) => value ?? 'claude-mcp:latest'),
  LOG_DIR: optionalString,
  LOG_MAX_SIZE: byteSize('LOG_MAX_SIZE', '10M'),
  LOG_MAX_FILES: positiveInteger('LOG_MAX_FILES').default(5),
  LOG_LEVEL: optionalString.transform((value, context) => {
    const key = (value ?? 'INFO').toUpperCase() as keyof typeof LOG_LEVELS;
    if (!(key in LOG_LEVELS)) {
      context.addIssue({ code: 'custom', message: `LOG_LEVEL must be one of ${Object.keys(LOG_LEVELS).join(', ')}` });
      return z.NEVER;
    }
    return LOG_LEVELS[key];
  }),
  HOST: optionalString.transform((value) => value ?? '127.0.0.1'),
  PORT: positiveInteger('PORT').max(65535, { message: 'PORT must be at most 65535' }).default(8080),
  AGENT_RUNTIME: z
    .enum(['auto', ...RUNTIME_NAMES], { message: `AGENT_RUNTIME must be one of auto, ${RUNTIME_NAMES.join(', ')}` })
    .default('auto'),
  AGENT_TIMEOUT_MS: positiveInteger('AGENT_TIMEOUT_MS').default(15 * 60 * 1000),
  MAX_AGENT_TURNS: positiveInteger('MAX_AGENT_TURNS').default(50),
  SANDBOX_MEMORY: optionalString.transform((value) => value ?? '2g'),
  SANDBOX_CPUS: optionalString.transform((value) => value ?? '1'),
  SANDBOX_PIDS_LIMIT: positiveInteger('SANDBOX_PIDS_LIMIT').default(256),
  SANDBOX_UID_RANGE: optionalString.transform((value, context) => {
    if (value === undefined) return DEFAULT_UID_RANGE;
    const match = /^(\d+)-(\d+)$/.exec(value);
    const [first, last] = match ? [Number(match[1]), Number(match[2])] : [0, -1];
    if (!match || first < 1000 || last < first || last > 4_294_967_294) {
      context.addIssue({ code: 'custom', message: 'SANDBOX_UID_RANGE must be FIRST-LAST with 1000 <= FIRST <= LAST, e.g. 20000-29999' });
      return z.NEVER;
    }
    return { first, last };
  }),
  SANDBOX_DISK: byteSize('SANDBOX_DISK', '10G'),
  KUBERNETES_NAMESPACE: optionalString.transform((value) => value ?? 'agents').pipe(
    z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'KUBERNETES_NAMESPACE must be a namespace name (lower-case letters, digits and -)' }),
  ),
  KUBERNETES_WARM_PODS: z.coerce
    .number({ error: 'KUBERNETES_WARM_PODS must be a number' })
    .int({ message: 'KUBERNETES_WARM_PODS must be an integer' })
    .min(0, { message: 'KUBERNETES_WARM_PODS must be 0 or more' })
    .max(50, { message: 'KUBERNETES_WARM_PODS must be at most 50' })
    .default(0),
  KUBERNETES_RUNTIME_CLASS: optionalString.pipe(
    z
      .string()
      .regex(DNS_SUBDOMAIN, { message: 'KUBERNETES_RUNTIME_CLASS must be a RuntimeClass name (lower-case letters, digits, - and .)' })
      .optional(),
  ),
  KUBERNETES_WORKSPACE_CLAIM: optionalString.transform((value) => value ?? 'workspace').pipe(
    z.string().regex(DNS_SUBDOMAIN, { message: 'KUBERNETES_WORKSPACE_CLAIM must be a PersistentVolumeClaim name' }),
  ),
  MIN_FREE_DISK: byteSize('MIN_FREE_DISK', '1G'),
  CLAUDE_CODE_EXECUTABLE: optionalString,
  ORCHESTRATOR_TOKEN: optionalString,
  MAX_CONCURRENT_AGENTS: positiveInteger('MAX_CONCURRENT_AGENTS').optional(),
  MAX_QUEUED_RUNS: positiveInteger('MAX_QUEUED_RUNS').default(20),
  WARM_POOL_SIZE: z.coerce
    .number({ error: 'WARM_POOL_SIZE must be a number' })
    .int({ message: 'WARM_POOL_SIZE must be a whole number of spare sessions (0 turns warm starts off)' })
    .min(0, { message: 'WARM_POOL_SIZE must be 0 or more (0 turns warm starts off)' })
    .max(64, { message: 'WARM_POOL_SIZE must be at most 64' })
    .default(2),
  WARM_POOL_IDLE_MS: positiveInteger('WARM_POOL_IDLE_MS').default(10 * 60 * 1000),
  CHECK_TIMEOUT_MS: positiveInteger('CHECK_TIMEOUT_MS').default(10 * 60 * 1000),
  JUDGE_TIMEOUT_MS: positiveInteger('JUDGE_TIMEOUT_MS').default(5 * 60 * 1000),
  ALLOWED_SOURCES: optionalString.transform((value) =>
    value
      ? value
          .split(',')
          .map((prefix) => prefix.trim())
          .filter(Boolean)
      : undefined,
  ),
  GIT_CREDENTIALS_FILE: optionalString,
  GIT_HTTP_TOKEN: optionalString,
  GIT_HTTP_USER: optionalString,
  GIT_SSH_COMMAND: optionalString,
  SOURCE_TIMEOUT_MS: positiveInteger('SOURCE_TIMEOUT_MS').default(10 * 60 * 1000),
  SETUP_TIMEOUT_MS: positiveInteger('SETUP_TIMEOUT_MS').default(15 * 60 * 1000),
  DATABASE_URL: optionalString.refine((value) => value === undefined || /^postgres(ql)?:\/\/[^\s]+$/.test(value), {
    message: 'DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:5432/database); unset for the embedded store',
  }),
  RUN_RETENTION_DAYS: positiveInteger('RUN_RETENTION_DAYS').optional(),
});

export interface Config {
  anthropicApiKey: string | undefined;
  /** A bearer token for endpoints that want `Authorization` instead of `x-api-key` (gateways). */
  anthropicAuthToken: string | undefined;
  /** Where the model is reached; undefined means Anthropic's API, or the offline model when there is no key. */
  anthropicBaseUrl: string | undefined;
  model: string | undefined;
  /** Where the orchestrator sees the workspace. */
  workspaceLocal: string;
  /** Where the Docker engine sees the same workspace (for `-v`). */
  workspacePath: string;
  dockerImage: string;
  logDirectory: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Each log file is rotated at this size (LOG_MAX_SIZE). */
  logMaxSizeBytes: number;
  /** Rotated files kept per log (LOG_MAX_FILES). */
  logMaxFiles: number;
  host: string;
  port: number;
  agentRuntime: 'auto' | RuntimeName;
  agentTimeoutMs: number;
  maxAgentTurns: number;
  /** uidRange: each sandbox's own user when the orchestrator runs as root (SANDBOX_UID_RANGE). */
  sandbox: { memory: string; cpus: string; pidsLimit: number; uidRange: UidRange; diskBytes: number };
  /** The kubernetes runtime: the agents' namespace and the claim there holding the workspace (the same storage as WORKSPACE_LOCAL). */
  kubernetes: { namespace: string; workspaceClaim: string; warmPods: number; runtimeClass?: string };
  /** New runs are refused (507) below this much free space on the workspace's file system. */
  minFreeDiskBytes: number;
  claudeExecutable: string;
  orchestratorToken: string | undefined;
  /** MAX_CONCURRENT_AGENTS: an explicit cap; unset, the capacity is worked out from memory (runs/capacity.ts). */
  maxConcurrentAgents: number | undefined;
  maxQueuedRuns: number;
  /** Spare `claude` sessions kept ready (WARM_POOL_SIZE; 0: off) and how long one may idle (WARM_POOL_IDLE_MS). */
  warmPool: { size: number; idleMs: number };
  checkTimeoutMs: number;
  /** How long a run's judge may take before the run falls back to the design's ranking. */
  judgeTimeoutMs: number;
  /** Source repositories: where they may come from (ALLOWED_SOURCES) and the orchestrator's own credentials for them. */
  sources: { allowedPrefixes: string[] | undefined; credentialsFile: string | undefined; httpToken: string | undefined; httpUser: string | undefined; sshCommand: string | undefined; transferTimeoutMs: number };
  /** How long a run's setup_command may take. */
  setupTimeoutMs: number;
  /** PostgreSQL for the run store (DATABASE_URL); undefined: the embedded SQLite file in the workspace. */
  databaseUrl: string | undefined;
  /** Finished runs older than this many days are removed (RUN_RETENTION_DAYS); undefined keeps everything. */
  runRetentionDays: number | undefined;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv): Config {
  const parsed = EnvironmentSchema.safeParse(environment);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, { cause: parsed.error });
  }
  const env = parsed.data;
  const home = path.join(environment['HOME'] ?? os.homedir(), '.multiclaude');
  const workspaceLocal = path.resolve(env.WORKSPACE_LOCAL ?? path.join(home, 'workspace'));
  return {
    anthropicApiKey: env.ANTHROPIC_API_KEY,
    anthropicAuthToken: env.ANTHROPIC_AUTH_TOKEN,
    anthropicBaseUrl: env.ANTHROPIC_BASE_URL,
    model: env.ANTHROPIC_MODEL,
    workspaceLocal,
    workspacePath: env.WORKSPACE_PATH ? path.resolve(env.WORKSPACE_PATH) : workspaceLocal,
    dockerImage: env.DOCKER_MCP_IMAGE,
    logDirectory: path.resolve(env.LOG_DIR ?? path.join(home, 'logs')),
    logLevel: env.LOG_LEVEL,
    logMaxSizeBytes: env.LOG_MAX_SIZE,
    logMaxFiles: env.LOG_MAX_FILES,
    host: env.HOST,
    port: env.PORT,
    agentRuntime: env.AGENT_RUNTIME,
    agentTimeoutMs: env.AGENT_TIMEOUT_MS,
    maxAgentTurns: env.MAX_AGENT_TURNS,
    sandbox: {
      memory: env.SANDBOX_MEMORY,
      cpus: env.SANDBOX_CPUS,
      pidsLimit: env.SANDBOX_PIDS_LIMIT,
      uidRange: env.SANDBOX_UID_RANGE,
      diskBytes: env.SANDBOX_DISK,
    },
    kubernetes: {
      namespace: env.KUBERNETES_NAMESPACE,
      workspaceClaim: env.KUBERNETES_WORKSPACE_CLAIM,
      warmPods: env.KUBERNETES_WARM_PODS,
      ...(env.KUBERNETES_RUNTIME_CLASS ? { runtimeClass: env.KUBERNETES_RUNTIME_CLASS } : {}),
    },
    minFreeDiskBytes: env.MIN_FREE_DISK,
    claudeExecutable: env.CLAUDE_CODE_EXECUTABLE ?? defaultClaudeExecutable(),
    orchestratorToken: env.ORCHESTRATOR_TOKEN,
    maxConcurrentAgents: env.MAX_CONCURRENT_AGENTS,
    warmPool: { size: env.WARM_POOL_SIZE, idleMs: env.WARM_POOL_IDLE_MS },
    maxQueuedRuns: env.MAX_QUEUED_RUNS,
    checkTimeoutMs: env.CHECK_TIMEOUT_MS,
    judgeTimeoutMs: env.JUDGE_TIMEOUT_MS,
    sources: {
      allowedPrefixes: env.ALLOWED_SOURCES,
      credentialsFile: env.GIT_CREDENTIALS_FILE ? path.resolve(env.GIT_CREDENTIALS_FILE) : undefined,
      httpToken: env.GIT_HTTP_TOKEN,
      httpUser: env.GIT_HTTP_USER,
      sshCommand: env.GIT_SSH_COMMAND,
      transferTimeoutMs: env.SOURCE_TIMEOUT_MS,
    },
    setupTimeoutMs: env.SETUP_TIMEOUT_MS,
    databaseUrl: env.DATABASE_URL,
    runRetentionDays: env.RUN_RETENTION_DAYS,
  };
}
