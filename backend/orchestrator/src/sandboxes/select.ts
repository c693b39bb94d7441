// Chooses the sandbox runtime from AGENT_RUNTIME: local, docker, or auto (docker when an engine and the image are there).
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { SandboxRuntime } from './runtime.ts';
import { LocalRuntime } from './local.ts';

export interface RuntimeSelection {
  runtime: SandboxRuntime;
  reason: string;
}

export async function selectRuntime(config: Config, searchPath: string, logger: Logger): Promise<RuntimeSelection> {
  const local = new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath });
  if (config.agentRuntime === 'local') return { runtime: local, reason: 'AGENT_RUNTIME=local' };
  logger.debug('docker runtime not built yet; using local');
  return { runtime: local, reason: `AGENT_RUNTIME=${config.agentRuntime}: docker runtime unavailable, using local` };
}
