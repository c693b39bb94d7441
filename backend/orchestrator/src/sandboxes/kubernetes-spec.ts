// Builds the hardened pod of one agent's sandbox for the `kubernetes` runtime, as a pure function of its inputs (no I/O, no cluster).
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { SandboxError } from './runtime.ts';
import { CONTAINER_HOME, CONTAINER_WORKSPACE, LABEL_AGENT_ID, LABEL_MANAGED, LABEL_RUN_ID, sandboxEnvironment } from './docker-spec.ts';

/** The one container of a sandbox pod; `claude mcp serve` and checks are exec'd in it. */
export const SANDBOX_CONTAINER = 'sandbox';
/** What a warm pod waiting to be claimed has instead of a run id. */
export const LABEL_POOL = 'multiclaude.pool';
/** The orchestrator (its pod name or host name) that made a pod: whose warm pool it belongs to. */
export const LABEL_OWNER = 'multiclaude.owner';
/**
 * Which run store's runs a pod serves (a hash of DATABASE_URL's server and database, or of the embedded
 * store's workspace): the sweep deletes only pods of its own store, never another deployment's sharing the namespace.
 */
export const LABEL_STORE = 'multiclaude.store';
/**
 * On the one pod that may reach the network, the run's setup step (setup_command): the NetworkPolicy
 * `setup-egress` of the agents namespace lets pods with it connect out; every other pod stays denied.
 */
export const LABEL_NETWORK = 'multiclaude.network';
/** Every pod this runtime makes carries these, so one label selector finds them all (the sweep, kubectl). */
export const SANDBOX_SELECTOR = `${LABEL_MANAGED}=true`;
const COMPONENT_LABELS = { 'app.kubernetes.io/part-of': 'multiclaude', 'app.kubernetes.io/component': 'agent-sandbox' };

export interface PodSpecOptions {
  name: string;
  namespace: string;
  image: string;
  /** The PersistentVolumeClaim in `namespace` holding the workspace (the same storage the orchestrator sees at WORKSPACE_LOCAL). */
  workspaceClaim: string;
  /** Where in the claim the agent's repository is, relative to its root (e.g. runs/run_X/worktrees/agent-1). */
  subPath: string;
  /** Labels naming the run and agent (agentLabels), or the pool (poolLabels). */
  labels: Record<string, string>;
  uid: number;
  gid: number;
  /** Docker-style sizes as SANDBOX_MEMORY gives them (2g, 512m); converted to Kubernetes quantities. */
  memory: string;
  cpus: string;
  ephemeralStorage?: string;
  tmpSize?: string;
  homeSize?: string;
  /** Only the run's setup step: the pod may connect out (LABEL_NETWORK); agents and checks never. */
  network?: boolean;
  /**
   * KUBERNETES_RUNTIME_CLASS for the pods of agents and checks (e.g. gVisor); never for the setup step, whose
   * pod needs the network that a class such as the test cluster's no-network takes away.
   */
  runtimeClass?: string;
}

/** Pod names are DNS labels: lower case, [a-z0-9-], at most 63 characters. Run ids are `YYYYMMDD_HHMMSS_hex`. */
export function sandboxPodName(runId: string, agentId: number, suffix = ''): string {
  const safeRunId = runId.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  const name = `mc-${safeRunId}-agent-${agentId}${suffix ? `-${suffix}` : ''}`;
  if (name.length > 63) throw new SandboxError('sandbox_setup_failed', `sandbox pod name ${name} is longer than 63 characters`);
  return name;
}

/** Label values allow [A-Za-z0-9_.-], at most 63, starting and ending alphanumeric. */
function labelValue(value: string, field: string): string {
  if (!/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/.test(value)) {
    throw new SandboxError('sandbox_setup_failed', `${field} ${JSON.stringify(value.slice(0, 80))} cannot be a Kubernetes label value`);
  }
  return value;
}

export function agentLabels(runId: string, agentId: number, owner: string): Record<string, string> {
  return { [LABEL_RUN_ID]: labelValue(runId, 'run id'), [LABEL_AGENT_ID]: String(agentId), [LABEL_OWNER]: labelValue(owner, 'owner') };
}

/** The store label's value: 16 hex of a hash, so no part of a database URL (its password) is ever a label. */
export function storeIdentity(databaseUrl: string | undefined, workspaceLocal: string): string {
  let identity = `sqlite:${workspaceLocal}`;
  if (databaseUrl) {
    try {
      const url = new URL(databaseUrl);
      identity = `postgres:${url.hostname}:${url.port || '5432'}${url.pathname}`;
    } catch {
      identity = 'postgres:unparsed';
    }
  }
  return createHash('sha256').update(identity).digest('hex').slice(0, 16);
}

/**
 * Docker sizes (`2g`, `512m`, `1024k`, bytes) to Kubernetes quantities (`2Gi`, `512Mi`, `1024Ki`); a value
 * already in Kubernetes form (`2Gi`, `500M`) is kept. Anything else is an error naming the variable.
 */
export function toQuantity(size: string, variable: string): string {
  const trimmed = size.trim();
  const docker = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(trimmed);
  if (docker) {
    const unit = (docker[2] ?? 'b').toLowerCase();
    return unit === 'b' ? docker[1]! : `${docker[1]}${unit.toUpperCase()}i`;
  }
  if (/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/.test(trimmed)) return trimmed;
  throw new SandboxError('sandbox_setup_failed', `${variable} must be a size such as 2g, 512m or 2Gi (got ${JSON.stringify(size)})`);
}

/** CPU cores as SANDBOX_CPUS gives them (`1`, `0.5`) or a Kubernetes quantity (`500m`). */
export function toCpuQuantity(cpus: string): string {
  const trimmed = cpus.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed) && Number(trimmed) > 0) return trimmed;
  if (/^\d+m$/.test(trimmed) && Number.parseInt(trimmed, 10) > 0) return trimmed;
  throw new SandboxError('sandbox_setup_failed', `SANDBOX_CPUS must be a number of cores such as 1, 0.5 or 500m (got ${JSON.stringify(cpus)})`);
}

/**
 * The agent's repository as a path inside the workspace claim: relative, normalised, never `..` or absolute,
 * never the claim's root (which would mount every run).
 */
export function workspaceSubPath(repository: string, workspaceLocal: string): string {
  if (!path.isAbsolute(repository) || !path.isAbsolute(workspaceLocal)) {
    throw new SandboxError('sandbox_setup_failed', `sandbox paths must be absolute (got ${repository})`);
  }
  const relative = path.relative(path.resolve(workspaceLocal), path.resolve(repository));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new SandboxError('sandbox_setup_failed', `${repository} is not inside WORKSPACE_LOCAL (${workspaceLocal}), so no pod can be given it`);
  }
  return relative.split(path.sep).join('/');
}

/**
 * The sandbox pod. Its main process only waits (`sleep infinity`, reaped by the pod's pause process);
 * the agent's tools are `claude mcp serve` exec'd into it over a stream the orchestrator holds, so the
 * MCP traffic (file contents) never lands in the node's container logs. Hardened as the docker runtime's
 * container: non-root, read-only root, no capabilities, RuntimeDefault seccomp, limits, no token, no
 * service links, and one volume of the workspace: the agent's own repository, by subPath.
 */
export function buildSandboxPod(options: PodSpecOptions): V1Pod {
  if (!Number.isInteger(options.uid) || !Number.isInteger(options.gid) || options.uid < 1 || options.gid < 1) {
    throw new SandboxError('sandbox_setup_failed', `invalid sandbox user ${options.uid}:${options.gid} (a pod of the kubernetes runtime never runs as root)`);
  }
  const subPath = options.subPath;
  if (!subPath || subPath.startsWith('/') || subPath.split('/').some((part) => part === '..' || part === '' || part === '.')) {
    throw new SandboxError('sandbox_setup_failed', `invalid workspace subPath ${JSON.stringify(subPath)}`);
  }
  const memory = toQuantity(options.memory, 'SANDBOX_MEMORY');
  const ephemeralStorage = toQuantity(options.ephemeralStorage ?? '2Gi', 'the ephemeral storage limit');
  const cpu = toCpuQuantity(options.cpus);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { ...COMPONENT_LABELS, [LABEL_MANAGED]: 'true', ...options.labels, ...(options.network ? { [LABEL_NETWORK]: 'egress' } : {}) },
    },
    spec: {
      ...(options.runtimeClass && !options.network ? { runtimeClassName: options.runtimeClass } : {}),
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // The pause process becomes PID 1 and reaps what the agent's shells leave orphaned.
      shareProcessNamespace: true,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: options.uid,
        runAsGroup: options.gid,
        // No fsGroup: it would make the kubelet chown the whole claim (every run) on each mount.
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: SANDBOX_CONTAINER,
          image: options.image,
          // Never a pull by name from a registry for an image that is present; a missing one is an event the runtime reports.
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', 'infinity'],
          workingDir: CONTAINER_WORKSPACE,
          env: Object.entries(sandboxEnvironment()).map(([name, value]) => ({ name, value })),
          resources: {
            // Small requests so ten agents schedule on a small node; the limits are the sandbox's.
            requests: { cpu: '50m', memory: '128Mi', 'ephemeral-storage': '64Mi' },
            limits: { cpu, memory, 'ephemeral-storage': ephemeralStorage },
          },
          securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [
            { name: 'workspace', mountPath: CONTAINER_WORKSPACE, subPath },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'home', mountPath: CONTAINER_HOME },
          ],
        },
      ],
      volumes: [
        { name: 'workspace', persistentVolumeClaim: { claimName: options.workspaceClaim } },
        { name: 'tmp', emptyDir: { sizeLimit: toQuantity(options.tmpSize ?? '512m', 'the /tmp size') } },
        { name: 'home', emptyDir: { sizeLimit: toQuantity(options.homeSize ?? '512m', 'the home size') } },
      ],
    },
  };
}
