// Every sandbox runtime by its AGENT_RUNTIME name, and the choice among them: a new runtime is one file plus one line here.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { SandboxRuntime } from './runtime.ts';
import { createLocalRuntime } from './local.ts';
import { createDockerRuntime } from './docker.ts';
import { createKubernetesRuntime } from './kubernetes.ts';

export interface RuntimeContext {
  config: Config;
  /** PATH for the agents' tools. */
  searchPath: string;
  logger: Logger;
}

const FACTORIES = {
  docker: ({ config, logger }: RuntimeContext) => createDockerRuntime(config, logger),
  kubernetes: ({ config, logger }: RuntimeContext) => createKubernetesRuntime(config, logger),
  local: ({ config, searchPath }: RuntimeContext) => createLocalRuntime(config, searchPath),
} satisfies Record<string, (context: RuntimeContext) => SandboxRuntime>;

export type RuntimeName = keyof typeof FACTORIES;
export const RUNTIME_NAMES = Object.keys(FACTORIES) as [RuntimeName, ...RuntimeName[]];
/** What AGENT_RUNTIME=auto tries, in order: the first whose check passes; the last is used regardless. */
const AUTO_ORDER: readonly RuntimeName[] = ['docker', 'local'];

export interface RuntimeSelection {
  runtime: SandboxRuntime;
  /** Every registered runtime (the chosen one among them): for start-up cleanup and diagnostics of what else could run. */
  known: SandboxRuntime[];
  reason: string;
}

export async function selectRuntime(context: RuntimeContext): Promise<RuntimeSelection> {
  const known = new Map(RUNTIME_NAMES.map((name) => [name, FACTORIES[name](context)] as const));
  const all = [...known.values()];
  const wanted = context.config.agentRuntime;
  if (wanted !== 'auto') {
    const runtime = known.get(wanted)!;
    // Chosen explicitly: kept even if it cannot start sandboxes now, so /ready and each agent say why.
    const check = await runtime.check(AbortSignal.timeout(15_000));
    return { runtime, known: all, reason: `AGENT_RUNTIME=${wanted} (${check.detail})` };
  }
  const refusals: string[] = [];
  for (const name of AUTO_ORDER) {
    const runtime = known.get(name)!;
    if (name === AUTO_ORDER.at(-1)) {
      const because = refusals.length > 0 ? `using ${name}, because ${refusals.join('; ')}` : `using ${name}`;
      return { runtime, known: all, reason: `AGENT_RUNTIME=auto: ${because}` };
    }
    const check = await runtime.check(AbortSignal.timeout(15_000));
    if (check.ok) return { runtime, known: all, reason: `AGENT_RUNTIME=auto: ${check.detail}` };
    refusals.push(check.detail);
  }
  throw new Error('AUTO_ORDER is empty');
}
