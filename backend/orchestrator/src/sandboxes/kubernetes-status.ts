// Reads a sandbox pod's state as the agent's words: ready, still coming, or failed and why (image pull errors, OOM kills, evictions, deletion); pure, no cluster.
import type { V1Pod } from '@kubernetes/client-node';

export type PodReading =
  | { state: 'ready' }
  | { state: 'waiting'; detail: string }
  | { state: 'failed'; code: 'image_missing' | 'sandbox_start_failed' | 'sandbox_died'; reason: string };

/** Container waiting reasons that never resolve by waiting (a retry loop of the kubelet's at most). */
const IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName', 'ImageInspectError']);
const FATAL_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff', 'PreCreateHookError', 'PreStartHookError']);

/** Why a pod that was running is gone or going, or undefined while it lives. `deleted`: the watch saw it removed. */
export function deathOf(pod: V1Pod | undefined, deleted: boolean, memory: string): string | undefined {
  if (deleted || !pod) return 'the sandbox pod was deleted (kubectl delete pod, a node drain or the cluster removed it)';
  const reading = readPod(pod, memory);
  if (reading.state === 'failed') return reading.reason;
  return undefined;
}

export function readPod(pod: V1Pod, memory: string): PodReading {
  const status = pod.status;
  const container = status?.containerStatuses?.[0];
  if (pod.metadata?.deletionTimestamp) {
    return { state: 'failed', code: 'sandbox_died', reason: 'the sandbox pod was deleted (kubectl delete pod, a node drain or the cluster removed it)' };
  }
  if (status?.reason === 'Evicted' || (status?.phase === 'Failed' && status.reason)) {
    return { state: 'failed', code: 'sandbox_died', reason: `the sandbox pod was ${status.reason === 'Evicted' ? 'evicted' : `stopped (${status.reason})`} by the node: ${status.message ?? 'no message'}` };
  }
  const terminated = container?.state?.terminated ?? (status?.phase === 'Failed' || status?.phase === 'Succeeded' ? container?.lastState?.terminated : undefined);
  if (terminated) {
    if (terminated.reason === 'OOMKilled') {
      return { state: 'failed', code: 'sandbox_died', reason: `the sandbox ran out of memory and the kernel killed a process in it (limit ${memory}; SANDBOX_MEMORY raises it)` };
    }
    const message = terminated.message ? `: ${terminated.message}` : '';
    return { state: 'failed', code: 'sandbox_died', reason: `the sandbox container ended (${terminated.reason ?? 'terminated'}, exit code ${terminated.exitCode})${message}` };
  }
  if (status?.phase === 'Failed' || status?.phase === 'Succeeded') {
    return { state: 'failed', code: 'sandbox_died', reason: `the sandbox pod ended (${status.phase})${status.message ? `: ${status.message}` : ''}` };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && IMAGE_REASONS.has(waiting.reason)) {
    const image = pod.spec?.containers?.[0]?.image ?? 'the sandbox image';
    return {
      state: 'failed',
      code: 'image_missing',
      reason: `the node cannot get the sandbox image ${image} (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}); load it into the node (scripts/deploy.sh does) or set DOCKER_MCP_IMAGE to an image the node can pull`,
    };
  }
  if (waiting?.reason && FATAL_REASONS.has(waiting.reason)) {
    return { state: 'failed', code: 'sandbox_start_failed', reason: `the sandbox pod could not start its container (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` };
  }
  if (status?.phase === 'Running' && container?.state?.running) return { state: 'ready' };
  const unscheduled = status?.conditions?.find((condition) => condition.type === 'PodScheduled' && condition.status === 'False');
  if (unscheduled) return { state: 'waiting', detail: `not scheduled yet: ${unscheduled.message ?? unscheduled.reason ?? 'no reason given'}` };
  return { state: 'waiting', detail: waiting?.reason ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` : (status?.phase ?? 'Pending') };
}
