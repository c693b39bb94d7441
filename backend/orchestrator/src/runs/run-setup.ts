// A run's setup_command as a step of the run: once, in a slot of its own, before any agent; its result recorded and sent as a `setup_result` event, and its output given to every agent (setup.ts).
import type { SetupResult } from '@multiclaude/contract';
import type { AgentSlots } from './agent-slots.ts';
import type { AgentExecutor } from './agent-executor.ts';
import type { ActiveRun } from './run-attempts.ts';
import { giveSetupOutput, removeSetupTree, setupFailure, setupOutput, writeSetupTree } from './setup.ts';

export interface RunSetupOptions {
  executor: AgentExecutor;
  slots: AgentSlots;
  now: () => string;
  persist: (run: ActiveRun) => void;
}

/** Runs the run's setup_command; returns why it failed (the agents' error then), or undefined when it passed. */
export async function runSetupStep(run: ActiveRun, options: RunSetupOptions): Promise<string | undefined> {
  const { paths, baseCommit, agents } = run.repository;
  const signal = run.runController.signal;
  let release: () => void;
  try {
    release = await options.slots.acquire(signal);
  } catch {
    return 'cancelled before it started';
  }
  try {
    run.state.status = 'running';
    run.state.started_at = options.now();
    run.log.emit({ type: 'run_status', status: 'running', queue_position: null });
    options.persist(run);
    let result: SetupResult;
    try {
      await writeSetupTree(paths, baseCommit, signal);
      const outcome = await options.executor.runSetup({ run: paths, command: run.state.setup_command!, logger: run.logger, signal });
      result = { ...outcome, copied_paths: [], copy_ms: 0 };
      if (outcome.status === 'passed') {
        const copied = await setupOutput(paths, baseCommit);
        result = { ...result, copied_paths: copied, copy_ms: await giveSetupOutput(paths, copied, agents, signal) };
      }
    } catch (error) {
      run.logger.warn({ err: error }, 'setup could not be prepared');
      result = { status: 'error', exit_code: null, duration_ms: 0, output_tail: (error as Error).message, copied_paths: [], copy_ms: 0 };
    } finally {
      await removeSetupTree(paths).catch((error: unknown) => run.logger.warn({ err: error }, 'could not remove the setup tree'));
    }
    run.state.setup = result;
    run.log.emit({ type: 'setup_result', result });
    options.persist(run);
    run.logger.info({ setup_status: result.status, exit_code: result.exit_code, duration_ms: result.duration_ms, copy_ms: result.copy_ms }, 'setup finished');
    if (signal.aborted) return "cancelled during the run's setup";
    return result.status === 'passed' ? undefined : setupFailure(result);
  } finally {
    release();
  }
}
