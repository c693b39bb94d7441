// Measure 7 (best of N): a task where one attempt in three passes its check, run with a fixed N = 5 and with early stop and adaptive attempts; attempts started, cost, time to the first passing attempt and the whole run, side by side.
import type { Orchestrator } from '../lib/orchestrator.ts';
import { followRun, submitRun } from '../lib/orchestrator.ts';
import type { AgentsContext } from './agents.ts';

/**
 * Every agent of the offline model writes `agent-<N>.md`; this check passes only for agents 3, 6 and 9,
 * so one attempt in three passes and the first to pass is agent 3 in every configuration.
 */
export const ONE_IN_THREE_CHECK = "ls agent-*.md | grep -qE '^agent-(3|6|9)\\.md$'";

export interface BestOfNConfiguration {
  label: string;
  request: Record<string, unknown>;
}

export const BEST_OF_N_CONFIGURATIONS: BestOfNConfiguration[] = [
  { label: 'fixed N = 5', request: { agent_count: 5 } },
  { label: 'fixed N = 5, stop_when first_pass', request: { agent_count: 5, stop_when: 'first_pass' } },
  { label: 'adaptive start_with 1 (max 5)', request: { agent_count: 5, start_with: 1 } },
  { label: 'adaptive start_with 2 (max 5), stop_when first_pass', request: { agent_count: 5, start_with: 2, stop_when: 'first_pass' } },
];

export interface BestOfNSample {
  label: string;
  attemptsStarted: number;
  /** Every attempt's cost as the run reports it (real usage through the offline model's token counts). */
  costUsd: number;
  /** From the run's start to the end of agent 3's check; NaN when none passed. */
  firstPassMs: number;
  runMs: number;
  savingsUsd: number;
  passed: number[];
  /** Attempts that ended in error (not stopped by the run), with the reason: a loaded machine shows here. */
  errors: string[];
}

interface RunTotalsView {
  totals: { attempts_started: number; cost_usd: number; first_pass_ms: number | null; duration_ms: number | null } | null;
  savings: { estimated_cost_usd: number } | null;
  results: Array<{ agent_id: number; status: string; error?: string; check: { status: string } | null }>;
}

export async function measureBestOfN(context: AgentsContext, orchestrator: Orchestrator, repetitions: number): Promise<BestOfNSample[]> {
  const samples: BestOfNSample[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (const configuration of BEST_OF_N_CONFIGURATIONS) {
      const submitted = await submitRun(orchestrator.url, `${context.prompt} (best of N)`, 5, { check_command: ONE_IN_THREE_CHECK, ...configuration.request });
      await followRun(orchestrator.url, submitted.runId, context.timeoutMs);
      const state = (await (await fetch(`${orchestrator.url}/runs/${submitted.runId}`)).json()) as RunTotalsView;
      const sample: BestOfNSample = {
        label: configuration.label,
        attemptsStarted: state.totals?.attempts_started ?? Number.NaN,
        costUsd: state.totals?.cost_usd ?? Number.NaN,
        firstPassMs: state.totals?.first_pass_ms ?? Number.NaN,
        runMs: state.totals?.duration_ms ?? Number.NaN,
        savingsUsd: state.savings?.estimated_cost_usd ?? 0,
        passed: state.results.filter((agent) => agent.status === 'success' && agent.check?.status === 'passed').map((agent) => agent.agent_id),
        errors: state.results.filter((agent) => agent.status === 'error').map((agent) => `agent ${agent.agent_id}: ${agent.error ?? 'error'}`),
      };
      samples.push(sample);
      context.log(
        `best of N #${repetition + 1} ${sample.label}: ${sample.attemptsStarted} attempts, $${sample.costUsd.toFixed(4)}, first pass ${(sample.firstPassMs / 1_000).toFixed(1)} s, run ${(sample.runMs / 1_000).toFixed(1)} s${sample.errors.length ? `; in error: ${sample.errors.join('; ')}` : ''}`,
      );
    }
  }
  return samples;
}
