// Wires the orchestrator: config → logger → model → sandbox runtime → runs → HTTP server, and shuts it all down on a signal.
import os from 'node:os';
import { loadConfig, ConfigError } from './config.ts';
import { createFileLogging } from './logging/file-logger.ts';
import { createApp } from './http/app.ts';
import { startFrontThread, FrontThreadError } from './http/front-thread.ts';
import { createRunMachinery } from './runs/wiring.ts';
import { RunStoreError } from './runs/store/open-run-store.ts';
import { createSandboxExecutor } from './runs/agent-runner.ts';
import { selectRuntime } from './sandboxes/registry.ts';
import { startOfflineModel, type OfflineModel } from '@multiclaude/offline-model';
import { ANTHROPIC_API_URL, startModelProxy } from './model-proxy/model-proxy.ts';
import { scrubOwnEnvironment } from './process/scrub-environment.ts';
import { AgentFootprint } from './agents/footprint.ts';
import { createWarmPool } from './agents/warm-pool.ts';
import { AgentSlots } from './runs/agent-slots.ts';
import { estimatedAgentBytes, startupConcurrency } from './runs/capacity.ts';
import { WorkspaceLayout } from './workspace/layout.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const logging = await createFileLogging({
  logDirectory: config.logDirectory,
  level: config.logLevel,
  maxSizeBytes: config.logMaxSizeBytes,
  maxFiles: config.logMaxFiles,
  secrets: [config.anthropicApiKey, config.anthropicAuthToken, config.orchestratorToken, config.sources.httpToken],
});
const { logger } = logging;
// Read once above; from here on neither this process's environ nor any child's environment holds them.
const scrub = scrubOwnEnvironment();
if (scrub.error) logger.warn({ error: scrub.error, scrubbed: scrub.scrubbed }, 'could not blank the secrets in this process environment: /proc/<pid>/environ still shows them to processes of the same user');
if (logging.files) logger.info({ ...logging.files, max_size_bytes: config.logMaxSizeBytes, max_files: config.logMaxFiles }, 'log files');
const searchPath = process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin';

let offlineModel: OfflineModel | undefined;
let modelDescription: string;
let baseUrl = config.anthropicBaseUrl;
if (!config.anthropicApiKey && !config.anthropicAuthToken && !baseUrl) {
  offlineModel = await startOfflineModel();
  baseUrl = offlineModel.url;
  modelDescription = `offline demo model at ${baseUrl} (scripted, not Claude: set ANTHROPIC_API_KEY for real agents)`;
  logger.warn({ url: baseUrl }, 'DEMO MODE: no ANTHROPIC_API_KEY, agents talk to the offline scripted model, not Claude');
} else {
  modelDescription = baseUrl ? `Messages API at ${baseUrl}` : 'Anthropic API';
}

// Agents reach the model only through this proxy, with a token of their own; the real key stays here.
const modelProxy = await startModelProxy({
  upstreamUrl: baseUrl ?? ANTHROPIC_API_URL,
  apiKey: config.anthropicApiKey,
  authToken: config.anthropicAuthToken,
  logger,
});

const { runtime, known, reason } = await selectRuntime({ config, searchPath, logger });
logger.info({ runtime: runtime.name, reason }, 'sandbox runtime chosen');

/** A start that cannot go on (no run store, no port): the reason on stderr and in the log, then exit status 1. */
async function failStart(error: Error, cleanUp?: () => Promise<void>): Promise<never> {
  logger.fatal({ err: error }, error.message);
  console.error(error.message);
  await cleanUp?.();
  await logging.close();
  process.exit(1);
}

async function openMachinery(options: Parameters<typeof createRunMachinery>[0]) {
  try {
    return await createRunMachinery(options);
  } catch (error) {
    if (!(error instanceof RunStoreError)) throw error;
    return failStart(error);
  }
}

// What agents cost in memory is measured (the capacity follows it); cold start-ups are paced to the cores.
const footprint = new AgentFootprint();
const startupGate = new AgentSlots(startupConcurrency(os.availableParallelism()));
const agentSettings = {
  modelAccess: modelProxy,
  claudeExecutable: config.claudeExecutable,
  maxTurns: config.maxAgentTurns,
  searchPath,
  runningAsRoot: process.getuid?.() === 0,
  onProcess: (pid: number) => footprint.track(pid),
};
const warmPool =
  config.warmPool.size > 0
    ? createWarmPool({
        ...config.warmPool,
        directory: new WorkspaceLayout(config.workspaceLocal).warmSparesDirectory,
        settings: agentSettings,
        startupGate,
        logger,
      })
    : undefined;

const machinery = await openMachinery({
  workspaceLocal: config.workspaceLocal,
  databaseUrl: config.databaseUrl,
  retentionDays: config.runRetentionDays,
  maxConcurrentAgents: config.maxConcurrentAgents,
  estimatedAgentBytes: estimatedAgentBytes(runtime.name),
  footprint,
  ...(warmPool ? { warmPool } : {}),
  maxQueuedRuns: config.maxQueuedRuns,
  minFreeDiskBytes: config.minFreeDiskBytes,
  executor: createSandboxExecutor({
    runtime,
    modelAccess: modelProxy,
    modelName: config.model,
    claudeExecutable: config.claudeExecutable,
    maxTurns: config.maxAgentTurns,
    agentTimeoutMs: config.agentTimeoutMs,
    checkTimeoutMs: config.checkTimeoutMs,
    setupTimeoutMs: config.setupTimeoutMs,
    diskQuotaBytes: config.sandbox.diskBytes,
    searchPath,
    runningAsRoot: process.getuid?.() === 0,
    footprint,
    startupGate,
    ...(warmPool ? { warmPool } : {}),
  }),
  judgeTimeoutMs: config.judgeTimeoutMs,
  sources: config.sources,
  logger,
});
logger.info({ store: machinery.store.kind, detail: (await machinery.store.check()).detail }, 'run store');
// Runs whose owner died become `interrupted` first, so their sandboxes count as stale below.
await machinery.start();
async function reapStaleSandboxes(): Promise<void> {
  const live = new Set((await machinery.store.unfinishedRuns()).map((run) => run.runId));
  for (const candidate of known) {
    const removed = await candidate.reapStale((runId) => live.has(runId), AbortSignal.timeout(30_000));
    if (removed.length > 0) logger.info({ runtime: candidate.name, removed }, 'removed stale sandboxes');
  }
}
await reapStaleSandboxes();
// Again every 30 s: a replica killed outright (no SIGTERM) leaves its runs to the others' interrupted sweep,
// and its sandboxes, which Kubernetes does not know, to this.
const reaper = setInterval(() => void reapStaleSandboxes().catch((error: unknown) => logger.warn({ err: error }, 'removing stale sandboxes failed')), 30_000);
reaper.unref();
const app = createApp({
  machinery,
  runtime,
  otherRuntimes: known.filter((candidate) => candidate !== runtime),
  runtimeReason: reason,
  workspaceLocal: config.workspaceLocal,
  minFreeDiskBytes: config.minFreeDiskBytes,
  modelDescription,
  token: config.orchestratorToken,
  operations: { dockerImage: config.dockerImage, claudeExecutable: config.claudeExecutable, logDirectory: config.logDirectory },
  logger,
});
logger.info({ agent_capacity: machinery.capacity.current.agents, capacity_reason: machinery.capacity.current.reason, warm_pool_size: config.warmPool.size, max_queued_runs: config.maxQueuedRuns, auth: Boolean(config.orchestratorToken) }, 'run limits');

// The API's front thread answers /health and running runs' state itself, and passes the rest to the app here.
const front = await startFrontThread({
  app,
  runs: machinery.runs,
  host: config.host,
  port: config.port,
  token: config.orchestratorToken,
  logger,
  onFailure: () => void shutdown('front thread failure', 1),
}).catch((error: unknown) => (error instanceof FrontThreadError ? failStart(error, () => machinery.close()) : Promise.reject(error)));
logger.info({ url: `http://${config.host}:${front.port}`, workspace: config.workspaceLocal, model: modelDescription }, 'orchestrator listening');

let stopping = false;
async function shutdown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const forced = setTimeout(() => process.exit(1), 10_000);
  forced.unref();
  await front.close();
  await machinery.close();
  await runtime.close?.();
  await modelProxy.close();
  await offlineModel?.close();
  // The last line: everything the shutdown did is logged before it, and the files are flushed after it.
  logger.info({ signal }, 'stopped');
  await logging.close();
  process.exit(exitCode);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// A crash is a shutdown too: its cause reaches orchestrator-errors.log, written out before the exit.
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception: exiting');
  void logging.close().finally(() => process.exit(1));
});
