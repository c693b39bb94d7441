// Proves the configured sandbox runtime works end to end for GET /test-sandbox: a throwaway sandbox (a pod, a container, or a sandbox user) runs a short probe over an empty directory of the workspace.
import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { SandboxError, type SandboxRuntime } from '../sandboxes/runtime.ts';
import { createRunId } from '../workspace/run-id.ts';
import { WorkspaceLayout } from '../workspace/layout.ts';

export interface TestSandboxOptions {
  runtime: Pick<SandboxRuntime, 'name' | 'runCommand'>;
  workspaceLocal: string;
  logger: Logger;
  /** For the sandbox's whole life, its start included (a pod may wait for scheduling). */
  timeoutMs?: number;
}

export type TestSandboxResult =
  | { httpStatus: 200; body: { success: true; runtime: string; output: string; duration_ms: number } }
  | { httpStatus: 500 | 503; body: { success: false; runtime: string; error: string; code?: string; output: string; duration_ms: number } };

const DEFAULT_TIMEOUT_MS = 60_000;
/** Who the sandbox user is, on what kernel, where; and, where the image must bring it, that its claude runs. */
const PROBE = 'echo "sandbox ok: user $(id -un 2>/dev/null) ($(id -u)), $(uname -sr), in $(pwd)"';
const CLAUDE_PROBE = `${PROBE}; claude --version`;

export async function testSandbox(options: TestSandboxOptions): Promise<TestSandboxResult> {
  const { runtime, logger } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  // A run of its own that no store knows, given as its setup step's tree: the one path any runtime mounts.
  const run = new WorkspaceLayout(options.workspaceLocal).run(createRunId());
  const target = run.setup;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    await mkdir(target.worktree, { recursive: true, mode: 0o700 });
    await mkdir(target.sandboxHome, { recursive: true, mode: 0o700 });
    // The local runtime's tools use the orchestrator's claude, not one on the sandbox's PATH.
    const probe = runtime.name === 'local' ? PROBE : CLAUDE_PROBE;
    const outcome = await runtime.runCommand({ run, agent: target, logger: logger.child({ test_sandbox: run.runId }), signal }, probe, { timeoutMs });
    const output = outcome.outputTail.trim();
    if (outcome.exitCode === 0 && !outcome.timedOut) return { httpStatus: 200, body: { success: true, runtime: runtime.name, output, duration_ms: elapsed() } };
    const error = outcome.timedOut
      ? `the test sandbox's probe did not finish within ${timeoutMs} ms`
      : `the test sandbox's probe exited with ${outcome.exitCode ?? 'no exit code'}`;
    return { httpStatus: 500, body: { success: false, runtime: runtime.name, error, output, duration_ms: elapsed() } };
  } catch (error) {
    const code = error instanceof SandboxError ? error.code : 'sandbox_error';
    const message = signal.aborted ? `no test sandbox started within ${timeoutMs} ms` : (error as Error).message;
    return { httpStatus: 503, body: { success: false, runtime: runtime.name, error: message, code, output: '', duration_ms: elapsed() } };
  } finally {
    await rm(run.directory, { recursive: true, force: true }).catch(() => undefined);
    await rm(run.agentsDirectory, { recursive: true, force: true }).catch(() => undefined);
  }
}
