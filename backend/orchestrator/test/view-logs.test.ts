// scripts/view-logs.sh: the design's flags against a local LOG_DIR and against a deployment through (a stand-in) kubectl; shellcheck-clean.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(import.meta.dirname, '../../../scripts/view-logs.sh');
let scratch: string;
let logDirectory: string;
let fakeKubectl: string;
let kubectlCalls: string;
let podLogs: string;

const line = (fields: Record<string, unknown>): string => JSON.stringify(fields);

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-view-logs-'));
  logDirectory = path.join(scratch, 'logs');
  await mkdir(logDirectory);
  await writeFile(path.join(logDirectory, 'orchestrator.log.2'), `${line({ level: 30, time: 't1', run_id: 'run_a', msg: 'run accepted' })}\n`);
  await writeFile(
    path.join(logDirectory, 'orchestrator.log.1'),
    `${line({ level: 20, time: 't2', run_id: 'run_b', msg: 'other run' })}\n${line({ level: 50, time: 't3', run_id: 'run_a', agent_id: 2, msg: 'agent finished', error: 'model refused' })}\n`,
  );
  await writeFile(
    path.join(logDirectory, 'orchestrator.log'),
    `${line({ level: 30, time: 't4', run_id: 'run_a', msg: 'run finished' })}\n${line({ level: 30, time: 't5', msg: 'GET /health 200' })}\n`,
  );
  await writeFile(path.join(logDirectory, 'orchestrator-errors.log'), `${line({ level: 50, time: 't3', run_id: 'run_a', agent_id: 2, msg: 'agent finished' })}\n`);
  // Two replicas, each with its own LOG_DIR on the shared volume, as kubernetes/ deploys them.
  podLogs = path.join(scratch, 'pods');
  await mkdir(path.join(podLogs, 'orchestrator-aaa'), { recursive: true });
  await mkdir(path.join(podLogs, 'orchestrator-bbb'));
  await writeFile(path.join(podLogs, 'orchestrator-aaa', 'orchestrator.log'), `${line({ level: 30, time: 'p1', run_id: 'run_k', msg: 'on this pod' })}\n`);
  await writeFile(path.join(podLogs, 'orchestrator-aaa', 'orchestrator-errors.log'), `${line({ level: 50, time: 'p2', msg: 'pod failure' })}\n`);
  await writeFile(path.join(podLogs, 'orchestrator-bbb', 'orchestrator.log.1'), `${line({ level: 30, time: 'p0', run_id: 'run_k', msg: 'on the other pod' })}\n`);
  // Stands in for kubectl: records each call on one line; `exec … -- cmd` runs cmd here as if in pod aaa.
  fakeKubectl = path.join(scratch, 'kubectl');
  kubectlCalls = `${fakeKubectl}.calls`;
  await writeFile(kubectlCalls, '');
  await writeFile(
    fakeKubectl,
    [
      '#!/bin/sh',
      `printf '%s ' "$@" | tr '\\n' ' ' >> '${kubectlCalls}'; echo >> '${kubectlCalls}'`,
      'case "$1" in',
      '  get) exit 0 ;;',
      `  logs) echo '${line({ level: 30, time: 'k1', msg: 'container stdout' })}' ;;`,
      '  exec)',
      '    case "$*" in *" -F "*) echo following; exit 0 ;; esac',
      '    while [ "$1" != "--" ]; do shift; done; shift',
      `    LOG_DIR='${path.join(podLogs, 'orchestrator-aaa')}' exec "$@" ;;`,
      'esac',
      '',
    ].join('\n'),
  );
  await chmod(fakeKubectl, 0o755);
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function viewLogs(args: string[], environment: Record<string, string> = {}) {
  const result = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: scratch, KUBECTL: path.join(scratch, 'no-kubectl'), ...environment },
    timeout: 15_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function lastKubectlCall(): Promise<string> {
  return (await readFile(kubectlCalls, 'utf8')).trimEnd().split('\n').at(-1) ?? '';
}

test('the script is shellcheck-clean', { skip: spawnSync('shellcheck', ['--version']).status !== 0 && 'shellcheck is not installed' }, () => {
  const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout);
});

test('--help names every flag of the design and exits 0', () => {
  const { status, stdout } = viewLogs(['--help']);
  assert.equal(status, 0);
  for (const flag of ['--orchestrator-errors', '--container', '--tail', '--last N', '-o,', '--k8s', '--local', '--run', '--pretty']) {
    assert.ok(stdout.includes(flag), flag);
  }
});

test('locally it shows the end of orchestrator.log, or of orchestrator-errors.log with --orchestrator-errors', () => {
  const main = viewLogs(['--last', '1', '-o'], { LOG_DIR: logDirectory });
  assert.equal(main.status, 0, main.stderr);
  assert.equal(main.stdout, `${line({ level: 30, time: 't5', msg: 'GET /health 200' })}\n`);
  const errors = viewLogs(['--orchestrator-errors', '--local', '--log-dir', logDirectory]);
  assert.equal(errors.status, 0, errors.stderr);
  assert.match(errors.stdout, /"msg":"agent finished"/);
  assert.equal(errors.stdout.trim().split('\n').length, 1);
});

test('--run gathers one run from the rotated files too, oldest first, and --pretty makes it readable', () => {
  const { status, stdout, stderr } = viewLogs(['--run', 'run_a', '--pretty'], { LOG_DIR: logDirectory });
  assert.equal(status, 0, stderr);
  assert.equal(stdout, 't1 INFO run=run_a run accepted\nt3 ERROR run=run_a agent=2 agent finished error=model refused\nt4 INFO run=run_a run finished\n');
});

test('against a deployment it reads the pod’s own LOG_DIR with kubectl exec, and the container with kubectl logs', async () => {
  const errors = viewLogs(['--k8s', '--orchestrator-errors', '--last', '5'], { KUBECTL: fakeKubectl });
  assert.equal(errors.status, 0, errors.stderr);
  assert.equal(errors.stdout, `${line({ level: 50, time: 'p2', msg: 'pod failure' })}\n`);
  assert.match(await lastKubectlCall(), /^exec --namespace backend deploy\/orchestrator -- sh -c .* orchestrator-errors\.log -n 5$/);

  const follow = viewLogs(['--k8s', '--tail', '-o'], { KUBECTL: fakeKubectl });
  assert.equal(follow.stdout, 'following\n');
  assert.match(await lastKubectlCall(), / orchestrator\.log -F -n 200$/);

  const container = viewLogs(['--container', '--last', '50', '--tail'], { KUBECTL: fakeKubectl });
  assert.match(container.stdout, /container stdout/);
  assert.equal(await lastKubectlCall(), 'logs --namespace backend deploy/orchestrator --tail 50 --follow');

  const chosen = viewLogs(['--k8s', '--namespace', 'prod', '--pod', 'orchestrator-aaa', '--pod-log-dir', path.join(podLogs, 'orchestrator-aaa')], { KUBECTL: fakeKubectl });
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.match(chosen.stdout, /on this pod/);
  assert.match(await lastKubectlCall(), /^exec --namespace prod orchestrator-aaa -- /);
});

test('--run on a deployment gathers the run from every replica directory on the shared log volume', () => {
  const { status, stdout, stderr } = viewLogs(['--k8s', '--run', 'run_k', '--pretty'], { KUBECTL: fakeKubectl });
  assert.equal(status, 0, stderr);
  assert.equal(stdout, 'p1 INFO run=run_k on this pod\np0 INFO run=run_k on the other pod\n');
});

test('without LOG_DIR it picks the deployment when kubectl reaches it, and the local directory otherwise', async () => {
  const picked = viewLogs(['-e'], { KUBECTL: fakeKubectl });
  assert.equal(picked.status, 0, picked.stderr);
  assert.match(await lastKubectlCall(), /^exec --namespace backend deploy\/orchestrator -- /);
  const local = viewLogs(['-e']);
  assert.equal(local.status, 2);
  assert.match(local.stderr, /no log directory at .*\.multiclaude\/logs/);
});

test('bad input is refused with exit 2 and a reason', () => {
  assert.match(viewLogs(['--bogus']).stderr, /unknown option: --bogus/);
  assert.equal(viewLogs(['--last', 'many'], { LOG_DIR: logDirectory }).status, 2);
  assert.match(viewLogs(['--container', '--local', '--log-dir', logDirectory]).stderr, /--container reads a pod's stdout/);
  assert.match(viewLogs(['--run', 'x"; rm -rf /'], { LOG_DIR: logDirectory }).stderr, /not a run id/);
});
