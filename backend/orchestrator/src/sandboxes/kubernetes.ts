// The `kubernetes` runtime: each agent's tools run as `claude mcp serve` exec'd in a hardened pod of its own, in the agents namespace, created with the official Kubernetes client.
//
// Life of a sandbox: start() hands the agent's repository to the sandbox's user (as root only), creates
// the pod (kubernetes-spec.ts: hardened, the repository by subPath of the workspace claim, nothing else)
// and waits until its container runs, so a missing image, an unschedulable pod or a missing claim is a
// SandboxError with the cluster's own words. The SDK then spawns the bridge (kubernetes-bridge.mjs), which
// connects to this process's relay (kubernetes-relay.ts); the relay execs `claude mcp serve` in the pod
// and holds that stream. watch() follows the pod: a deletion, eviction or OOM kill, and a tool server
// that dies, become the agent's error. stop() deletes the pod.
//
// The orchestrator's rights are a Role in the agents namespace (kubernetes/agents/): pods, pods/exec,
// and reading the workspace claim; /ready and /diagnostics ask the API server whether they are granted.
import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from 'pino';
import { AuthorizationV1Api, KubeConfig, VersionApi, type V1Pod } from '@kubernetes/client-node';
import type { Config } from '../config.ts';
import {
  SandboxError,
  type CommandOptions,
  type CommandOutcome,
  type DiagnosticCheck,
  type RuntimeCheck,
  type Sandbox,
  type SandboxRequest,
  type SandboxRuntime,
} from './runtime.ts';
import { SandboxUsers, claimRepository, returnRepository, type UidRange } from './sandbox-users.ts';
import { CONTAINER_WORKSPACE, LABEL_RUN_ID } from './docker-spec.ts';
import { agentLabels, buildSandboxPod, sandboxPodName, storeIdentity, workspaceSubPath, LABEL_OWNER, LABEL_POOL, LABEL_STORE, SANDBOX_SELECTOR, type PodSpecOptions } from './kubernetes-spec.ts';
import { STALE_POOL_MS, WarmPool, adoptRepository, type WarmPod } from './kubernetes-pool.ts';
import { deathOf } from './kubernetes-status.ts';
import { BRIDGE_SCRIPT, McpRelay, describeExecEnd, exitCodeOf } from './kubernetes-relay.ts';
import { callApi, describeApiError, isNotFound, isConflict } from './kubernetes-api.ts';
import { CHECK_TIMEOUT_MS, SandboxPods } from './kubernetes-pods.ts';

export interface KubernetesRuntimeOptions {
  namespace: string;
  image: string;
  workspaceClaim: string;
  /** WORKSPACE_LOCAL: where this process sees the workspace claim's root. */
  workspaceLocal: string;
  memory: string;
  cpus: string;
  uidRange: UidRange;
  /** Names this orchestrator on its pods (its pod name in the cluster). */
  owner: string;
  /** The run store's identity (storeIdentity): the sweep touches only pods labelled with it. */
  store: string;
  kubeConfig: KubeConfig;
  /** Why no cluster configuration could be read (a bad KUBECONFIG), for check() and every start. */
  configError?: string;
  /**
   * Whether this orchestrator's agents run here (AGENT_RUNTIME=kubernetes). Otherwise the sweep leaves the
   * namespace alone: the pods there belong to a deployment whose run store this process does not see.
   */
  active: boolean;
  /** KUBERNETES_RUNTIME_CLASS: the RuntimeClass of agents' and checks' pods (none: the cluster's default). */
  runtimeClass?: string;
  /** KUBERNETES_WARM_PODS: running pods kept unclaimed for the next agents (0: none). */
  warmPods?: number;
  logger: Logger;
  startTimeoutMs?: number;
}

/** What the orchestrator must be allowed in the agents namespace (kubernetes/agents/orchestrator-role.yaml). */
export const REQUIRED_RIGHTS = [
  { resource: 'pods', verb: 'create' },
  { resource: 'pods', verb: 'get' },
  { resource: 'pods', verb: 'list' },
  { resource: 'pods', verb: 'watch' },
  { resource: 'pods', verb: 'delete' },
  { resource: 'pods', verb: 'patch' },
  { resource: 'pods', subresource: 'exec', verb: 'create' },
] as const;

export class KubernetesRuntime implements SandboxRuntime {
  readonly name = 'kubernetes';
  readonly #options: KubernetesRuntimeOptions;
  readonly #pods: SandboxPods;
  readonly #users: SandboxUsers | undefined;
  readonly #pool: WarmPool | undefined;

  constructor(options: KubernetesRuntimeOptions) {
    this.#options = options;
    this.#pods = new SandboxPods({
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      memory: options.memory,
      ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
    });
    this.#users = process.getuid?.() === 0 ? new SandboxUsers(options.uidRange) : undefined;
    // Warm pods run as this process's user: a root orchestrator gives each sandbox a user of its own, known only at claim time.
    if (options.active && !options.configError && (options.warmPods ?? 0) > 0 && !this.#users) {
      this.#pool = new WarmPool({
        size: options.warmPods ?? 0,
        workspaceLocal: options.workspaceLocal,
        nextName: () => `mc-warm-${randomBytes(6).toString('hex')}`,
        create: (name, subPath) =>
          this.#createPod(name, subPath, { [LABEL_POOL]: 'true', [LABEL_OWNER]: options.owner, [LABEL_STORE]: options.store }, process.getuid?.() ?? 1, process.getgid?.() ?? 1),
        remove: (name) => this.#pods.delete(name, options.logger),
        logger: options.logger.child({ component: 'warm-pool' }),
      });
      this.#pool.fill();
    } else if ((options.warmPods ?? 0) > 0 && options.active && this.#users) {
      options.logger.warn('KUBERNETES_WARM_PODS is ignored: the orchestrator runs as root, so each sandbox gets a user of its own when it is claimed');
    }
  }

  /** Deletes the warm pods: a stopped orchestrator leaves none waiting for a claim that will never come. */
  async close(): Promise<void> {
    await this.#pool?.close().catch((error: unknown) => this.#options.logger.warn({ err: error }, 'could not delete every warm pod; the next sweep will'));
  }

  get #server(): string {
    return this.#options.kubeConfig.getCurrentCluster()?.server ?? 'no cluster configured';
  }

  /** Which of REQUIRED_RIGHTS the API server says this identity lacks in the namespace. */
  async #missingRights(signal?: AbortSignal): Promise<string[]> {
    const authorization = this.#options.kubeConfig.makeApiClient(AuthorizationV1Api);
    const answers = await Promise.all(
      REQUIRED_RIGHTS.map(async (right) => {
        const review = await callApi(
          () => authorization.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: this.#options.namespace, ...right } } } }),
          CHECK_TIMEOUT_MS,
          signal,
        );
        return review.status?.allowed ? undefined : `${right.verb} ${right.resource}${'subresource' in right ? `/${right.subresource}` : ''}`;
      }),
    );
    return answers.filter((missing): missing is string => missing !== undefined);
  }

  async check(signal?: AbortSignal): Promise<RuntimeCheck> {
    const { namespace, image, configError } = this.#options;
    if (configError) return { ok: false, detail: `kubernetes runtime: no cluster configuration: ${configError}` };
    try {
      const missing = await this.#missingRights(signal);
      if (missing.length > 0) {
        return { ok: false, detail: `kubernetes runtime: the orchestrator may not ${missing.join(', ')} in namespace ${namespace} (kubernetes/agents/orchestrator-role.yaml grants them)` };
      }
      await callApi(() => this.#pods.core.listNamespacedPod({ namespace, labelSelector: SANDBOX_SELECTOR, limit: 1 }), CHECK_TIMEOUT_MS, signal);
    } catch (error) {
      return { ok: false, detail: `kubernetes runtime: the cluster at ${this.#server} is not usable: ${describeApiError(error)}` };
    }
    const runtimeClass = this.#options.runtimeClass ? `, runtime class ${this.#options.runtimeClass}` : '';
    return { ok: true, detail: `kubernetes runtime: cluster ${this.#server}, namespace ${namespace}, image ${image}, rights granted${runtimeClass}` };
  }

  /** Creates a pod over `subPath` of the claim and waits until it runs (the warm pool's pods). */
  async #createPod(name: string, subPath: string, labels: Record<string, string>, uid: number, gid: number, signal?: AbortSignal): Promise<void> {
    await this.#pods.create(this.#podBody({ name, subPath, labels, uid, gid }), signal);
    await this.#pods.waitUntilRunning(name, signal);
  }

  /** Every pod of this runtime (warm, agent, check, setup) from this runtime's settings and the pod's own. */
  #podBody(pod: Pick<PodSpecOptions, 'name' | 'subPath' | 'labels' | 'uid' | 'gid' | 'network'>): V1Pod {
    const { namespace, image, workspaceClaim, memory, cpus, runtimeClass } = this.#options;
    return buildSandboxPod({ ...pod, namespace, image, workspaceClaim, memory, cpus, ...(runtimeClass ? { runtimeClass } : {}) });
  }

  /**
   * Claims a warm pod for the agent: its slot becomes the agent's repository, and its labels name the run
   * and agent. Both at once (a rename on the claim, a patch at the API server): neither needs the other,
   * and a claim that fails either way leaves the repository where it was or where it belongs, and no pod.
   * Undefined (the agent starts cold) when none is ready or the claim fails.
   */
  async #claimWarmPod(request: SandboxRequest): Promise<string | undefined> {
    const warm: WarmPod | undefined = this.#pool?.take();
    if (!warm) return undefined;
    const { owner } = this.#options;
    const started = Date.now();
    const labels = { ...agentLabels(request.run.runId, request.agent.agentId, owner), [LABEL_POOL]: null };
    const [adopted, labelled] = await Promise.allSettled([
      adoptRepository(request.agent.worktree, warm.slotDirectory).then(() => Date.now() - started),
      this.#pods.relabel(warm.name, labels, request.signal).then(() => Date.now() - started),
    ]);
    if (adopted.status === 'rejected' || labelled.status === 'rejected') {
      // A failed adoption put the repository back (adoptRepository); a done one made the slot the repository,
      // so removing the slot's path touches nothing of it. Either way the pod goes.
      if (adopted.status === 'rejected') request.logger.warn({ err: adopted.reason, pod: warm.name }, 'could not give a warm pod the repository; starting a pod for it');
      if (labelled.status === 'rejected') request.logger.warn({ pod: warm.name, detail: describeApiError(labelled.reason) }, 'could not label a claimed warm pod; starting a pod for the agent');
      await this.#pool?.discard(warm);
      return undefined;
    }
    // The times say where a claim's time goes (bench measure 10 reads the whole from the events).
    request.logger.info({ pod: warm.name, waited_ms: started - warm.readyAt, adopt_ms: adopted.value, label_ms: labelled.value }, 'sandbox pod claimed from the warm pool');
    return warm.name;
  }

  /** Creates the pod (replacing a leftover of the same name once) and waits until it runs; on failure nothing is left. */
  async #startPod(request: SandboxRequest, name: string, uid: number, gid: number, network = false): Promise<void> {
    if (request.signal?.aborted) throw new SandboxError('cancelled', 'the agent was cancelled before its sandbox started');
    const { namespace, image, workspaceLocal, memory, cpus, owner } = this.#options;
    const body = this.#podBody({
      name,
      subPath: workspaceSubPath(request.agent.worktree, workspaceLocal),
      labels: { ...agentLabels(request.run.runId, request.agent.agentId, owner), [LABEL_STORE]: this.#options.store },
      uid,
      gid,
      network,
    });
    const create = () => this.#pods.create(body, request.signal);
    const started = Date.now();
    let created = started;
    try {
      try {
        await create();
      } catch (error) {
        if (!isConflict(error)) throw error;
        // A leftover of an earlier attempt for this very run and agent: replace it once.
        request.logger.warn({ pod: name }, 'replacing a leftover sandbox pod');
        await this.#pods.delete(name, request.logger);
        await this.#pods.waitUntilGone(name);
        await create();
      }
      created = Date.now();
      await this.#pods.waitUntilRunning(name, request.signal);
    } catch (error) {
      await this.#pods.delete(name, request.logger);
      if (error instanceof SandboxError) throw error;
      if (request.signal?.aborted) throw new SandboxError('cancelled', 'the agent was cancelled while its sandbox pod was being created');
      throw new SandboxError('sandbox_start_failed', `could not create the sandbox pod ${name} in namespace ${namespace}: ${describeApiError(error)}`, { cause: error });
    }
    request.logger.info(
      { pod: name, namespace, image, user: `${uid}:${gid}`, memory, cpus, create_ms: created - started, running_ms: Date.now() - created },
      'sandbox pod running',
    );
  }

  async start(request: SandboxRequest): Promise<Sandbox> {
    if (this.#options.configError) throw new SandboxError('kubernetes_unavailable', `no cluster configuration: ${this.#options.configError}`);
    let name = sandboxPodName(request.run.runId, request.agent.agentId);
    await this.#checkRepository(request);
    const { uid, gid, user } = await claimRepository(this.#users, request.agent.worktree, request.signal);
    let relay: McpRelay;
    try {
      const warm = user ? undefined : await this.#claimWarmPod(request);
      if (warm) name = warm;
      else await this.#startPod(request, name, uid, gid);
      relay = await McpRelay.open(this.#pods.exec(name), request.logger.child({ pod: name }));
    } catch (error) {
      await this.#pods.delete(name, request.logger);
      await returnRepository(this.#users, request.agent.worktree, user);
      throw error;
    }
    let death: string | undefined;
    let stopping: Promise<void> | undefined;
    let releasing: Promise<void> | undefined;
    return {
      user,
      workingDirectory: CONTAINER_WORKSPACE,
      mcpServer: { type: 'stdio', command: process.execPath, args: [BRIDGE_SCRIPT, relay.socketPath], env: {} },
      watch: (onDeath) => {
        let watching = true;
        const died = (reason: string) => {
          if (!watching || death) return;
          death = reason;
          request.logger.warn({ pod: name, reason }, 'sandbox died while the agent worked');
          onDeath(reason);
        };
        const unfollow = this.#pods.follow(name, (pod, deleted) => {
          const reason = deathOf(pod, deleted, this.#options.memory);
          if (reason) died(reason);
        });
        relay.onEnd((status) => {
          const reason = describeExecEnd(status, this.#options.memory);
          if (reason) return died(reason);
          // A stream that broke without a status: the pod went away, or the API server's connection did.
          if (exitCodeOf(status) === undefined) {
            void this.#pods.read(name).then((pod) => died(deathOf(pod, false, this.#options.memory) ?? 'the stream to the sandbox pod broke'));
          }
        });
        return () => {
          watching = false;
          unfollow();
        };
      },
      describeExit: async () => {
        if (death) return death;
        const pod = stopping ? undefined : await this.#pods.read(name);
        return pod ? deathOf(pod, false, this.#options.memory) : undefined;
      },
      stop: () =>
        (stopping ??= (async () => {
          try {
            await relay.close();
            await this.#pods.delete(name, request.logger);
            request.logger.debug({ pod: name }, 'sandbox pod deleted');
          } catch (error) {
            request.logger.warn({ err: error, pod: name }, 'sandbox stop failed');
          }
        })()),
      release: () =>
        (releasing ??= (async () => {
          await stopping;
          await returnRepository(this.#users, request.agent.worktree, user);
        })()),
    };
  }

  /** The agent's repository must be a directory (a symlink there would be mounted as what it points at). */
  async #checkRepository(request: SandboxRequest): Promise<void> {
    const found = await lstat(request.agent.worktree).catch(() => undefined);
    if (!found?.isDirectory()) {
      throw new SandboxError('sandbox_setup_failed', `${request.agent.relativeWorktree} is not the agent's repository (missing or not a directory)`);
    }
  }

  async runCommand(request: SandboxRequest, command: string, options: CommandOptions): Promise<CommandOutcome> {
    const name = sandboxPodName(request.run.runId, request.agent.agentId, 'check');
    const started = Date.now();
    await this.#checkRepository(request);
    const { uid, gid, user } = await claimRepository(this.#users, request.agent.worktree, request.signal);
    try {
      await this.#startPod(request, name, uid, gid, options.network === true);
      const outcome = await this.#pods.run(name, command, { timeoutMs: options.timeoutMs, tailBytes: options.tailBytes, signal: request.signal });
      return { exitCode: outcome.exitCode, timedOut: outcome.timedOut, durationMs: Date.now() - started, outputTail: outcome.output };
    } finally {
      await this.#pods.delete(name, request.logger);
      await returnRepository(this.#users, request.agent.worktree, user);
    }
  }

  diagnostics(): Record<string, DiagnosticCheck> {
    const { namespace, workspaceClaim, image } = this.#options;
    const runtimeClass = this.#options.runtimeClass ?? null;
    return {
      kubernetes_api: async (signal) => {
        try {
          const version = await callApi(() => this.#options.kubeConfig.makeApiClient(VersionApi).getCode(), CHECK_TIMEOUT_MS, signal);
          return { reachable: true, server: this.#server, version: version.gitVersion, namespace, image, runtime_class: runtimeClass };
        } catch (error) {
          return { status: 'error', reachable: false, server: this.#server, error: describeApiError(error) };
        }
      },
      kubernetes_rights: async (signal) => {
        try {
          const missing = await this.#missingRights(signal);
          const granted = REQUIRED_RIGHTS.length - missing.length;
          return missing.length === 0 ? { namespace, granted } : { status: 'error', namespace, granted, missing, error: `may not ${missing.join(', ')} in namespace ${namespace}` };
        } catch (error) {
          return { status: 'error', namespace, error: `cannot tell: ${describeApiError(error)}` };
        }
      },
      kubernetes_warm_pods: async () => ({ size: this.#pool?.size ?? 0, ready: this.#pool?.readyCount ?? 0 }),
      kubernetes_workspace_claim: async (signal) => {
        try {
          const claim = await callApi(() => this.#pods.core.readNamespacedPersistentVolumeClaim({ name: workspaceClaim, namespace }), CHECK_TIMEOUT_MS, signal);
          const phase = claim.status?.phase ?? 'unknown';
          return phase === 'Bound' ? { claim: workspaceClaim, namespace, phase } : { status: 'error', claim: workspaceClaim, namespace, phase, error: `the workspace claim ${namespace}/${workspaceClaim} is ${phase}, not Bound` };
        } catch (error) {
          return { status: isNotFound(error) ? 'error' : 'warning', claim: workspaceClaim, namespace, error: describeApiError(error) };
        }
      },
    };
  }

  /** Deletes sandbox pods (by label) whose run is not live: what a dead orchestrator left. */
  async reapStale(isRunLive: (runId: string) => boolean, signal?: AbortSignal): Promise<string[]> {
    const { namespace, logger, active } = this.#options;
    if (!active || this.#options.configError) return [];
    let pods: V1Pod[];
    try {
      // Only this run store's pods: another deployment's (or a developer's orchestrator's) runs are not ours to judge.
      const labelSelector = `${SANDBOX_SELECTOR},${LABEL_STORE}=${this.#options.store}`;
      pods = (await callApi(() => this.#pods.core.listNamespacedPod({ namespace, labelSelector }), CHECK_TIMEOUT_MS, signal)).items;
    } catch (error) {
      logger.debug({ detail: describeApiError(error) }, 'no stale sandbox pods removed: cannot list pods');
      return [];
    }
    const removed: string[] = [];
    for (const pod of pods) {
      const name = pod.metadata?.name;
      const labels = pod.metadata?.labels ?? {};
      const runId = labels[LABEL_RUN_ID];
      // A warm pod unclaimed for longer than any live pool keeps one belongs to a dead orchestrator.
      const age = Date.now() - (pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : Date.now());
      const stalePoolPod = labels[LABEL_POOL] === 'true' && labels[LABEL_OWNER] !== this.#options.owner && age > STALE_POOL_MS;
      if (!name || (!stalePoolPod && (!runId || isRunLive(runId)))) continue;
      await this.#pods.delete(name, logger);
      removed.push(name);
    }
    return removed;
  }
}

/** This orchestrator's name on its pods: the pod it runs in (POD_NAME), else the host's name, as a label value. */
export function ownerName(environment: NodeJS.ProcessEnv = process.env): string {
  const raw = environment['POD_NAME'] || os.hostname() || 'orchestrator';
  return raw.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'orchestrator';
}

export function createKubernetesRuntime(config: Config, logger: Logger): KubernetesRuntime {
  const kubeConfig = new KubeConfig();
  let configError: string | undefined;
  try {
    // KUBECONFIG, ~/.kube/config, or the pod's service account (in the cluster).
    kubeConfig.loadFromDefault();
  } catch (error) {
    configError = (error as Error).message;
  }
  return new KubernetesRuntime({
    ...(configError ? { configError } : {}),
    active: config.agentRuntime === 'kubernetes',
    namespace: config.kubernetes.namespace,
    image: config.dockerImage,
    workspaceClaim: config.kubernetes.workspaceClaim,
    workspaceLocal: config.workspaceLocal,
    memory: config.sandbox.memory,
    cpus: config.sandbox.cpus,
    uidRange: config.sandbox.uidRange,
    owner: ownerName(),
    store: storeIdentity(config.databaseUrl, config.workspaceLocal),
    kubeConfig,
    warmPods: config.kubernetes.warmPods,
    ...(config.kubernetes.runtimeClass ? { runtimeClass: config.kubernetes.runtimeClass } : {}),
    logger,
  });
}
