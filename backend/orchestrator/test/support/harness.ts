// Test harness: a real orchestrator app (in-process) over a temp workspace, the real SDK and claude binary, and the offline model.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { startOfflineModel, type OfflineModel, type OfflineModelOptions } from '@multiclaude/offline-model';
import { startModelProxy, type ModelProxy } from '../../src/model-proxy/model-proxy.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createApp } from '../../src/http/app.ts';
import { createRunMachinery, type RunMachinery } from '../../src/runs/wiring.ts';
import type { RunManager } from '../../src/runs/run-manager.ts';
import type { RunStore } from '../../src/runs/run-store.ts';
import { createSandboxExecutor } from '../../src/runs/agent-runner.ts';
import type { AgentExecutor } from '../../src/runs/agent-executor.ts';
import { LocalRuntime } from '../../src/sandboxes/local.ts';
import type { SandboxRuntime } from '../../src/sandboxes/runtime.ts';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { SourceSettings } from '../../src/git/source.ts';
import { freshDatabase, type StoreKind } from './stores.ts';
import { AgentFootprint } from '../../src/agents/footprint.ts';
import { createWarmPool, type WarmPool } from '../../src/agents/warm-pool.ts';
import { WorkspaceLayout } from '../../src/workspace/layout.ts';

export interface Harness {
  app: Hono;
  machinery: RunMachinery;
  manager: RunManager;
  store: RunStore;
  workspace: string;
  /** The PostgreSQL database this harness uses; undefined for the embedded store. */
  databaseUrl: string | undefined;
  model: OfflineModel;
  /** The credential the offline model demands, as a real key would be: only the proxy holds it. */
  apiKey: string;
  /** The model proxy agents reach the offline model through. */
  modelProxy: ModelProxy;
  runtime: SandboxRuntime;
  logger: Logger;
  logLines: string[];
  post(pathName: string, body: unknown): Promise<Response>;
  close(): Promise<void>;
  warmPool: WarmPool | undefined;
}

export const searchPath = process.env['PATH'] ?? '/usr/bin:/bin';

/** A logger that keeps its JSON lines in memory, for assertions. */
export function memoryLogger(secrets: ReadonlyArray<string> = []): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination, secrets }), lines };
}

export interface HarnessOptions {
  runtime?: (config: ReturnType<typeof loadConfig>, logger: Logger) => SandboxRuntime;
  /** Run agents through this instead of real SDK sessions in the runtime's sandboxes. */
  executor?: AgentExecutor;
  agentTimeoutMs?: number;
  maxConcurrentAgents?: number;
  maxQueuedRuns?: number;
  token?: string;
  checkTimeoutMs?: number;
  judgeTimeoutMs?: number;
  /** Log here instead of in memory (logLines then stays empty). */
  logger?: Logger;
  heartbeatMs?: number;
  diskQuotaBytes?: number;
  minFreeDiskBytes?: number;
  /** Use this workspace (and keep it on close) instead of a fresh temp one. */
  workspace?: string;
  /** Source repositories: ALLOWED_SOURCES and credentials. */
  sources?: SourceSettings;
  setupTimeoutMs?: number;
  /** Which run store: the embedded one (default) or a fresh PostgreSQL database. */
  store?: StoreKind;
  /** Use this PostgreSQL database (and keep it on close), e.g. another replica's. */
  databaseUrl?: string;
  sweepMs?: number;
  /** Warm spare sessions kept ready (WARM_POOL_SIZE); none when omitted. */
  warmPoolSize?: number;
  warmPoolIdleMs?: number;
  /** Hooks into the offline model (what reaches it). */
  modelOptions?: Pick<OfflineModelOptions, 'onPath' | 'onRequest' | 'onResponseEnd'>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const workspace = options.workspace ?? (await mkdtemp(path.join(os.tmpdir(), 'multiclaude-test-')));
  // Built at run time, so no key-shaped literal is committed.
  const apiKey = 'sk-' + `ant-test-${randomBytes(24).toString('hex')}`;
  const model = await startOfflineModel({ apiKey, ...options.modelOptions });
  const config = loadConfig({ WORKSPACE_LOCAL: workspace, HOME: workspace });
  const { logger, lines } = options.logger ? { logger: options.logger, lines: [] as string[] } : memoryLogger();
  const modelProxy = await startModelProxy({ upstreamUrl: model.url, apiKey, logger });
  const runtime = options.runtime?.(config, logger) ?? new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath, workspaceRoot: config.workspaceLocal });
  const footprint = new AgentFootprint();
  const warmPool = options.warmPoolSize
    ? createWarmPool({
        size: options.warmPoolSize,
        idleMs: options.warmPoolIdleMs ?? 600_000,
        directory: new WorkspaceLayout(workspace).warmSparesDirectory,
        settings: { modelAccess: modelProxy, claudeExecutable: config.claudeExecutable, maxTurns: 10, searchPath, runningAsRoot: process.getuid?.() === 0, onProcess: (pid) => footprint.track(pid) },
        logger,
      })
    : undefined;
  const executor =
    options.executor ??
    createSandboxExecutor({
      runtime,
      modelAccess: modelProxy,
      modelName: undefined,
      claudeExecutable: config.claudeExecutable,
      maxTurns: 10,
      agentTimeoutMs: options.agentTimeoutMs ?? 120_000,
      checkTimeoutMs: options.checkTimeoutMs ?? config.checkTimeoutMs,
      setupTimeoutMs: options.setupTimeoutMs ?? config.setupTimeoutMs,
      diskQuotaBytes: options.diskQuotaBytes ?? config.sandbox.diskBytes,
      diskCheckIntervalMs: 500,
      searchPath,
      runningAsRoot: process.getuid?.() === 0,
      footprint,
      ...(warmPool ? { warmPool } : {}),
    });
  const database = options.databaseUrl ? undefined : await freshDatabase(options.store ?? 'sqlite');
  const machinery = await createRunMachinery({
    workspaceLocal: workspace,
    databaseUrl: options.databaseUrl ?? database?.databaseUrl,
    maxConcurrentAgents: options.maxConcurrentAgents ?? 10,
    footprint,
    ...(warmPool ? { warmPool } : {}),
    maxQueuedRuns: options.maxQueuedRuns ?? 20,
    minFreeDiskBytes: options.minFreeDiskBytes ?? config.minFreeDiskBytes,
    executor,
    logger,
    ...(options.sources ? { sources: options.sources } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.judgeTimeoutMs ? { judgeTimeoutMs: options.judgeTimeoutMs } : {}),
    ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
  });
  const { store, manager } = machinery;
  await machinery.start();
  const app = createApp({
    machinery,
    runtime,
    workspaceLocal: workspace,
    minFreeDiskBytes: options.minFreeDiskBytes ?? config.minFreeDiskBytes,
    modelDescription: 'offline test model',
    token: options.token,
    operations: { dockerImage: config.dockerImage, claudeExecutable: config.claudeExecutable },
    logger,
  });
  return {
    app,
    warmPool,
    machinery,
    manager,
    store,
    workspace,
    model,
    apiKey,
    modelProxy,
    runtime,
    logger,
    logLines: lines,
    post: async (pathName, body) =>
      app.request(pathName, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    databaseUrl: options.databaseUrl ?? database?.databaseUrl,
    close: async () => {
      await machinery.close();
      await database?.drop();
      await modelProxy.close();
      await model.close();
      if (!options.workspace) await rm(workspace, { recursive: true, force: true });
    },
  };
}
