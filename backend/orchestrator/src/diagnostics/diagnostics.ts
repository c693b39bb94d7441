// Gathers the orchestrator's health facts for GET /diagnostics; each check is independent, time-bounded and never throws.
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { formatBytes, freeSpace } from '../workspace/disk.ts';
import path from 'node:path';
import type { DiagnosticFacts, SandboxRuntime } from '../sandboxes/runtime.ts';
import { runCli } from '../process/run-cli.ts';
import { agentScheduling } from '../agents/claude-process.ts';

export type CheckStatus = 'ok' | 'warning' | 'error';

export interface CheckResult {
  status: CheckStatus;
  error?: string;
  duration_ms: number;
  [fact: string]: unknown;
}

export interface DiagnosticsDependencies {
  /** The runtime agents use: its checks decide the report's status. */
  runtime: Pick<SandboxRuntime, 'name' | 'check' | 'diagnostics'>;
  /** Every other runtime known, whose checks are shown as information (could it be used?). */
  otherRuntimes?: ReadonlyArray<Pick<SandboxRuntime, 'name' | 'diagnostics'>>;
  /** Why this runtime was chosen, when known (AGENT_RUNTIME=auto says what it found). */
  runtimeReason?: string | undefined;
  workspaceLocal: string;
  logDirectory?: string | undefined;
  gitCommand?: string;
  claudeExecutable: string;
  /** When the orchestrator started; the process's start when omitted. */
  startedAt?: Date;
  runsInFlight: () => number;
  /** The run store: which database, and whether it answers. */
  database?: () => Promise<{ ok: boolean; detail: string; kind: string }>;
  /** Finished runs whose records could not be written (a full disk): an error while there are any. */
  unrecordedRuns?: () => string[];
  /** How many agents may run at once and why (runs/capacity.ts): shown as the `capacity` check. */
  capacity?: () => Facts;
  /** Free space below this is a warning (MIN_FREE_DISK: new runs are refused below it). */
  minFreeDiskBytes?: number;
  /** Per check; the whole report takes at most about this long because the checks run at once. */
  checkTimeoutMs?: number;
}

export interface DiagnosticsReport {
  status: 'ok' | 'degraded';
  generated_at: string;
  uptime_seconds: number;
  runs_in_flight: number | null;
  runtime: { name: string; reason?: string };
  checks: Record<string, CheckResult>;
}

const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
/** Below either, disk is reported as a warning: a run repository with N worktrees needs room. */
const LOW_DISK_BYTES = 1024 ** 3;
const LOW_DISK_FRACTION = 0.05;

type Facts = DiagnosticFacts;

/** Runs one check under a deadline; a throw or a hang becomes that check's error, not the report's. */
async function timed(timeoutMs: number, check: (signal: AbortSignal) => Promise<Facts>): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Facts>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ status: 'error', error: `check timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
  let facts: Facts;
  try {
    facts = await Promise.race([check(controller.signal), deadline]);
  } catch (error) {
    facts = { status: 'error', error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
  const { status, error, ...rest } = facts;
  return {
    status: status ?? (error ? 'error' : 'ok'),
    ...(error ? { error } : {}),
    ...rest,
    duration_ms: Math.round(performance.now() - started),
  };
}

async function writableProbe(directory: string): Promise<Facts> {
  const probe = path.join(directory, `.diagnostics-${process.pid}-${Date.now()}`);
  try {
    await mkdir(directory, { recursive: true });
    await writeFile(probe, 'ok');
    return { path: directory, writable: true };
  } catch (error) {
    return { status: 'error', path: directory, writable: false, error: `${directory} is not writable: ${(error as Error).message}` };
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

async function freeDisk(directory: string, floorBytes: number): Promise<Facts> {
  const { freeBytes: free, totalBytes: total } = await freeSpace(directory);
  const fraction = total > 0 ? free / total : 0;
  const refusing = free < floorBytes;
  const low = refusing || free < Math.max(LOW_DISK_BYTES, floorBytes * 2) || fraction < LOW_DISK_FRACTION;
  const message = `only ${formatBytes(free)} free on the workspace's file system${refusing ? ` (below MIN_FREE_DISK, ${formatBytes(floorBytes)}: new runs are refused)` : ''}`;
  return {
    ...(low ? { status: refusing ? ('error' as const) : ('warning' as const), error: message } : {}),
    path: directory,
    free_bytes: free,
    total_bytes: total,
    free_percent: Math.round(fraction * 1000) / 10,
  };
}

async function version(command: string, timeoutMs: number, signal: AbortSignal): Promise<Facts> {
  const result = await runCli(command, ['--version'], timeoutMs, signal);
  if (!result.ok) return { status: 'error', command, error: `\`${command} --version\` failed: ${result.detail}` };
  return { command, version: result.stdout.trim().split('\n')[0] ?? '' };
}

export async function collectDiagnostics(dependencies: DiagnosticsDependencies): Promise<DiagnosticsReport> {
  const timeoutMs = dependencies.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const check = (run: (signal: AbortSignal) => Promise<Facts>): Promise<CheckResult> => timed(timeoutMs, run);

  const entries: Array<[string, Promise<CheckResult>]> = [
    [
      'runtime',
      check(async (signal) => {
        const result = await dependencies.runtime.check(signal);
        return { name: dependencies.runtime.name, ...(result.ok ? { detail: result.detail } : { status: 'error', error: result.detail }) };
      }),
    ],
    ...Object.entries(dependencies.runtime.diagnostics()).map(([name, run]) => [name, check(run)] as [string, Promise<CheckResult>]),
    ['workspace', check(() => writableProbe(dependencies.workspaceLocal))],
    ['disk', check(() => freeDisk(dependencies.workspaceLocal, dependencies.minFreeDiskBytes ?? 0))],
    [
      'records',
      check(async () => {
        const unrecorded = dependencies.unrecordedRuns?.() ?? [];
        if (unrecorded.length === 0) return { unrecorded_runs: [] };
        return { status: 'error', unrecorded_runs: unrecorded, error: `the end of ${unrecorded.length} run(s) could not be written to the workspace; retrying` };
      }),
    ],
    ['git', check((signal) => version(dependencies.gitCommand ?? 'git', timeoutMs, signal))],
    // After a command through the helper, which says first whether agents can run under SCHED_IDLE here.
    ['claude', check(async (signal) => ({ ...(await version(dependencies.claudeExecutable, timeoutMs, signal)), agent_scheduling: agentScheduling() }))],
  ];
  if (dependencies.capacity) {
    const capacity = dependencies.capacity;
    entries.push(['capacity', check(async () => capacity())]);
  }
  if (dependencies.database) {
    const database = dependencies.database;
    entries.push([
      'database',
      check(async () => {
        const result = await database();
        return { kind: result.kind, ...(result.ok ? { detail: result.detail } : { status: 'error', error: result.detail }) };
      }),
    ]);
  }
  if (dependencies.logDirectory) {
    const logDirectory = dependencies.logDirectory;
    entries.push(['logs', check(() => writableProbe(logDirectory))]);
  }

  // Another runtime's failing checks are information (could it be used?), not degradation.
  const informational = new Set<string>();
  for (const other of dependencies.otherRuntimes ?? []) {
    for (const [name, run] of Object.entries(other.diagnostics())) {
      informational.add(name);
      entries.push([name, check(run)]);
    }
  }
  const settled = await Promise.all(entries.map(async ([name, result]) => [name, await result] as const));
  const checks = Object.fromEntries(settled);
  let runsInFlight: number | null;
  try {
    runsInFlight = dependencies.runsInFlight();
  } catch {
    runsInFlight = null;
  }
  const relevant = settled.filter(([name]) => !informational.has(name));
  return {
    status: relevant.every(([, result]) => result.status === 'ok') ? 'ok' : 'degraded',
    generated_at: new Date().toISOString(),
    uptime_seconds: Math.round(dependencies.startedAt ? (Date.now() - dependencies.startedAt.getTime()) / 1000 : process.uptime()),
    runs_in_flight: runsInFlight,
    runtime: { name: dependencies.runtime.name, ...(dependencies.runtimeReason ? { reason: dependencies.runtimeReason } : {}) },
    checks,
  };
}
