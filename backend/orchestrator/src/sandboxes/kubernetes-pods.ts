// The sandbox pods of one namespace through the Kubernetes API: create, read, follow (watch), wait until running or gone, relabel, exec into, delete.
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { CoreV1Api, Exec, PatchStrategy, Watch, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { tail } from '../process/run-cli.ts';
import { SandboxError } from './runtime.ts';
import { SANDBOX_CONTAINER } from './kubernetes-spec.ts';
import { readPod } from './kubernetes-status.ts';
import { exitCodeOf, type PodExec } from './kubernetes-relay.ts';
import { callApi, describeApiError, isNotFound } from './kubernetes-api.ts';

export const API_TIMEOUT_MS = 30_000;
export const CHECK_TIMEOUT_MS = 15_000;
const START_TIMEOUT_MS = 180_000;

export interface SandboxPodsOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** SANDBOX_MEMORY, to say an OOM-killed pod's limit in words. */
  memory: string;
  startTimeoutMs?: number;
}

export interface PodCommandOutcome {
  exitCode: number | null;
  timedOut: boolean;
  output: string;
}

export class SandboxPods {
  readonly core: CoreV1Api;
  readonly #options: SandboxPodsOptions;
  readonly #exec: Exec;

  constructor(options: SandboxPodsOptions) {
    this.#options = options;
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#exec = new Exec(options.kubeConfig);
  }

  exec(name: string): PodExec {
    return async (command, streams, onStatus) => {
      const socket = await this.#exec.exec(this.#options.namespace, name, SANDBOX_CONTAINER, command, streams.stdout as never, streams.stderr as never, streams.stdin as never, false, onStatus);
      return { close: () => socket.close(), onClose: (listener) => socket.on('close', listener) };
    };
  }

  async create(body: V1Pod, signal?: AbortSignal): Promise<void> {
    await callApi(() => this.core.createNamespacedPod({ namespace: this.#options.namespace, body }), API_TIMEOUT_MS, signal);
  }

  /** Sets or (null) removes labels; a merge patch, so the others stay. */
  async relabel(name: string, labels: Record<string, string | null>, signal?: AbortSignal): Promise<void> {
    await callApi(
      () => this.core.patchNamespacedPod({ name, namespace: this.#options.namespace, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      API_TIMEOUT_MS,
      signal,
    );
  }

  async delete(name: string, logger: Logger): Promise<void> {
    try {
      await callApi(() => this.core.deleteNamespacedPod({ name, namespace: this.#options.namespace, gracePeriodSeconds: 0 }), API_TIMEOUT_MS);
    } catch (error) {
      if (!isNotFound(error)) logger.warn({ pod: name, detail: describeApiError(error) }, 'could not delete sandbox pod');
    }
  }

  async read(name: string): Promise<V1Pod | undefined> {
    try {
      return await callApi(() => this.core.readNamespacedPod({ name, namespace: this.#options.namespace }), CHECK_TIMEOUT_MS);
    } catch {
      return undefined;
    }
  }

  async waitUntilGone(name: string): Promise<void> {
    for (let attempt = 0; attempt < 60 && (await this.read(name)); attempt++) await new Promise((resolve) => setTimeout(resolve, 500));
  }

  /**
   * Follows one pod with the API's watch (re-opened when the server ends it) and calls `onPod` with each
   * state (deleted: true once it is gone). Returns the function that stops following.
   */
  follow(name: string, onPod: (pod: V1Pod | undefined, deleted: boolean) => void): () => void {
    const watch = new Watch(this.#options.kubeConfig);
    let controller: AbortController | undefined;
    let following = true;
    const open = () => {
      if (!following) return;
      watch
        .watch(
          `/api/v1/namespaces/${this.#options.namespace}/pods`,
          { fieldSelector: `metadata.name=${name}` },
          (type, pod: V1Pod) => following && onPod(pod, type === 'DELETED'),
          () => following && setTimeout(open, 1_000),
        )
        .then((opened) => (following ? (controller = opened) : opened.abort()))
        .catch(() => following && setTimeout(open, 1_000));
    };
    open();
    return () => {
      following = false;
      controller?.abort();
    };
  }

  /** Resolves once the pod's container runs; throws a SandboxError with the cluster's words when it cannot. */
  async waitUntilRunning(name: string, signal?: AbortSignal): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? START_TIMEOUT_MS;
    let lastDetail = 'Pending';
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        stop();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(new SandboxError('cancelled', 'the agent was cancelled while its sandbox pod was starting'));
      const timer = setTimeout(
        () => finish(new SandboxError('sandbox_start_failed', `the sandbox pod ${name} did not start in ${Math.round(timeoutMs / 1000)} s (${lastDetail})`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      const stop = this.follow(name, (pod, deleted) => {
        if (deleted || !pod) return finish(new SandboxError('sandbox_start_failed', `the sandbox pod ${name} was deleted while it started`));
        const reading = readPod(pod, this.#options.memory);
        if (reading.state === 'ready') return finish();
        if (reading.state === 'failed') return finish(new SandboxError(reading.code, reading.reason));
        lastDetail = reading.detail;
      });
      if (signal?.aborted) onAbort();
    });
  }

  /** Runs `bash -c command` in the pod, keeping the end of its interleaved output; a timeout or an abort closes the stream. */
  async run(name: string, command: string, options: { timeoutMs: number; tailBytes?: number; signal?: AbortSignal | undefined }): Promise<PodCommandOutcome> {
    let output = '';
    const collector = new PassThrough();
    collector.setEncoding('utf8');
    collector.on('data', (text: string) => (output = tail(output + text, Math.max(options.tailBytes ?? 4_000, 4_000) * 2)));
    let exitCode: number | undefined;
    const { signal } = options;
    const timedOut = await new Promise<boolean>((resolve) => {
      let connection: { close(): void } | undefined;
      let settled = false;
      const done = (timedOut: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        connection?.close();
        resolve(timedOut);
      };
      const timer = setTimeout(() => done(true), options.timeoutMs);
      const onAbort = () => done(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.exec(name)(['bash', '-c', command], { stdout: collector, stderr: collector, stdin: null }, (status) => (exitCode = exitCodeOf(status)))
        .then((opened) => {
          connection = opened;
          opened.onClose(() => done(false));
          if (settled) opened.close();
        })
        .catch((error: Error) => {
          output += `could not run the check in its pod: ${error.message}`;
          done(false);
        });
    });
    return { exitCode: timedOut ? null : (exitCode ?? null), timedOut, output: tail(output, options.tailBytes) };
  }
}
