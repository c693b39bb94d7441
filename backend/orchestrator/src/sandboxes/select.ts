// Chooses the sandbox runtime from AGENT_RUNTIME: local, docker, or auto (docker when an engine answers and the image is there, else local).
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { SandboxRuntime } from './runtime.ts';
import { LocalRuntime } from './local.ts';
import { DockerRuntime } from './docker.ts';

export interface RuntimeSelection {
  runtime: SandboxRuntime;
  /** The Docker runtime when one was made, for start-up cleanup even if `auto` fell back to local. */
  docker: DockerRuntime | undefined;
  reason: string;
}

export function createDockerRuntime(config: Config, logger: Logger): DockerRuntime {
  return new DockerRuntime({
    image: config.dockerImage,
    workspaceLocal: config.workspaceLocal,
    workspacePath: config.workspacePath,
    memory: config.sandbox.memory,
    cpus: config.sandbox.cpus,
    pidsLimit: config.sandbox.pidsLimit,
    sandboxUid: config.sandbox.uid,
    logger,
  });
}

export async function selectRuntime(config: Config, searchPath: string, logger: Logger): Promise<RuntimeSelection> {
  if (config.agentRuntime === 'local') {
    return { runtime: new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath }), docker: undefined, reason: 'AGENT_RUNTIME=local' };
  }
  const docker = createDockerRuntime(config, logger);
  if (config.agentRuntime === 'docker') {
    // Chosen explicitly: keep it even if the engine is down now, so /ready and each agent say why.
    const check = await docker.check(AbortSignal.timeout(15_000));
    return { runtime: docker, docker, reason: `AGENT_RUNTIME=docker (${check.detail})` };
  }
  const check = await docker.check(AbortSignal.timeout(15_000));
  if (check.ok) return { runtime: docker, docker, reason: `AGENT_RUNTIME=auto: ${check.detail}` };
  return {
    runtime: new LocalRuntime({ claudeExecutable: config.claudeExecutable, searchPath }),
    docker,
    reason: `AGENT_RUNTIME=auto: using local, because ${check.detail}`,
  };
}
