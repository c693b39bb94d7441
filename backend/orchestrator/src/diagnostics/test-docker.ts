// Proves Docker works end to end for GET /test-docker: a throwaway, network-less container from the MCP image runs a short command.
import { randomBytes } from 'node:crypto';
import { runCli } from '../process/run-cli.ts';
import { isUnreachable, BUILD_HINT } from '../sandboxes/docker.ts';

export interface TestDockerOptions {
  dockerImage: string;
  dockerCommand?: string;
  /** For the container's whole life, pull and start included. */
  timeoutMs?: number;
}

export type TestDockerResult =
  | { httpStatus: 200; body: { success: true; image: string; output: string; duration_ms: number } }
  | {
      httpStatus: 500 | 503;
      body: { success: false; image: string; error: string; docker_available: boolean; output: string; duration_ms: number };
    };

const DEFAULT_TIMEOUT_MS = 30_000;
const ENGINE_TIMEOUT_MS = 5_000;
/** Labelled apart from agent sandboxes, so the start-up reaper and an operator can tell them apart. */
export const TEST_CONTAINER_LABEL = 'multiclaude.test-docker';
/** Who the sandbox user is, on what kernel, and that the image's claude runs: what an agent's sandbox needs. */
const PROBE_SCRIPT = 'echo "sandbox ok: user $(id -un) ($(id -u)), $(uname -sr)"; claude --version';

export async function testDocker(options: TestDockerOptions): Promise<TestDockerResult> {
  const docker = options.dockerCommand ?? 'docker';
  const image = options.dockerImage;
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const unavailable = (error: string, dockerAvailable: boolean, output = ''): TestDockerResult => ({
    httpStatus: 503,
    body: { success: false, image, error, docker_available: dockerAvailable, output, duration_ms: elapsed() },
  });

  const engine = await runCli(docker, ['version', '--format', '{{.Server.Version}}'], ENGINE_TIMEOUT_MS);
  if (!engine.ok) return unavailable(`Docker is not available: the engine does not answer \`${docker}\` (${engine.detail})`, false);

  const name = `multiclaude-test-docker-${randomBytes(4).toString('hex')}`;
  const run = await runCli(
    docker,
    [
      'run',
      '--rm',
      '--name',
      name,
      '--label',
      `${TEST_CONTAINER_LABEL}=true`,
      '--network',
      'none',
      '--pull',
      'never',
      '--read-only',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--memory',
      '256m',
      '--pids-limit',
      '64',
      '--entrypoint',
      'sh',
      image,
      '-c',
      PROBE_SCRIPT,
    ],
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  if (run.ok) return { httpStatus: 200, body: { success: true, image, output: run.stdout.trim(), duration_ms: elapsed() } };

  // A client killed on timeout leaves its container running; --rm only acts once the container exits.
  await runCli(docker, ['rm', '--force', name], ENGINE_TIMEOUT_MS);
  if (/No such image|Unable to find image/i.test(run.detail)) return unavailable(`Docker image ${image} is missing: ${BUILD_HINT}`, true, run.detail);
  if (isUnreachable(run.detail) && !/timed out/i.test(run.detail)) {
    return unavailable(`Docker is not available: ${run.detail}`, false, run.detail);
  }
  return {
    httpStatus: 500,
    body: { success: false, image, error: `the test container failed: ${run.detail}`, docker_available: true, output: run.stdout.trim(), duration_ms: elapsed() },
  };
}
