// The shell scripts under scripts/: shellcheck-clean, strict mode, --help, and a clear word when a tool
// they need is missing. Runs the real scripts with a PATH that lacks the tool (or holds a stub of it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, hasCommand } from './manifests.ts';

const SCRIPTS = path.join(ROOT, 'scripts');
const shellScripts = readdirSync(SCRIPTS)
  .filter((name) => name.endsWith('.sh'))
  .sort();
/** Sourced by the scripts, not run: checked with them (`-x` follows the `source` directives). */
const LIBRARIES = readdirSync(path.join(SCRIPTS, 'lib')).filter((name) => name.endsWith('.sh')).map((name) => `lib/${name}`);
const DEPLOYMENT_SCRIPTS = ['build-images.sh', 'cleanup.sh', 'deploy.sh', 'start-workspace-mount.sh'];

function run(script: string, args: string[], pathVariable?: string, extra: Record<string, string> = {}) {
  const environment: Record<string, string | undefined> = { ...process.env, ...extra };
  if (pathVariable !== undefined) environment['PATH'] = pathVariable;
  return spawnSync('/bin/bash', [path.join(SCRIPTS, script), ...args], { encoding: 'utf8', env: environment, timeout: 60_000 });
}

/** A PATH holding only the named commands (links to the real ones) and stubs that fail. */
function restrictedPath(t: { after(fn: () => void): void }, real: string[], failingStubs: string[] = []): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'multiclaude-path-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  for (const command of real) {
    const resolved = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim();
    if (resolved) symlinkSync(resolved, path.join(directory, command));
  }
  for (const command of failingStubs) {
    writeFileSync(path.join(directory, command), '#!/bin/sh\nexit 1\n');
    chmodSync(path.join(directory, command), 0o755);
  }
  return directory;
}

const BASICS = ['dirname', 'mktemp', 'rm', 'cat', 'realpath', 'id', 'uname'];

test('the deployment scripts are all there', () => {
  for (const script of DEPLOYMENT_SCRIPTS) assert.ok(shellScripts.includes(script), `scripts/${script}`);
});

test('every shell script is clean under shellcheck', { skip: hasCommand('shellcheck') ? false : 'shellcheck is not installed (apt-get install shellcheck)' }, () => {
  const result = spawnSync('shellcheck', ['-x', ...shellScripts, ...LIBRARIES], { cwd: SCRIPTS, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('every shell script runs in strict mode and says what it is for in its header', () => {
  for (const script of shellScripts) {
    const lines = readFileSync(path.join(SCRIPTS, script), 'utf8').split('\n');
    assert.equal(lines[0], '#!/usr/bin/env bash', script);
    assert.match(lines[1] ?? '', /^# \S/, `${script} has a header comment`);
    assert.ok(lines.includes('set -euo pipefail'), `${script} sets -euo pipefail`);
  }
});

test('every shell script answers --help with its usage and exit code 0, without needing its tools', (t) => {
  const bare = restrictedPath(t, BASICS);
  for (const script of shellScripts) {
    const result = run(script, ['--help'], bare);
    assert.equal(result.status, 0, `${script} --help: ${result.stderr}`);
    assert.match(result.stdout, /Usage: scripts\//, script);
  }
});

test('an unknown option is refused with the usage and a non-zero exit', () => {
  for (const script of DEPLOYMENT_SCRIPTS) {
    const result = run(script, ['--no-such-option']);
    assert.notEqual(result.status, 0, script);
    assert.match(result.stderr, /unknown (argument|option)/, script);
  }
});

test('each deployment script names the missing tool and where to get it', (t) => {
  const bare = restrictedPath(t, BASICS);
  const expectations: Array<[string, string[], RegExp]> = [
    ['deploy.sh', [], /kubectl is not installed: see https:\/\//],
    ['cleanup.sh', [], /kubectl is not installed/],
    ['start-workspace-mount.sh', [], /minikube is not installed: see https:\/\//],
    ['build-images.sh', ['--only', 'orchestrator'], /docker is not installed \(Debian: apt-get install docker.io\)/],
  ];
  for (const [script, args, message] of expectations) {
    const result = run(script, args, bare);
    assert.equal(result.status, 1, `${script}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, message, script);
  }
  const withKubectl = restrictedPath(t, [...BASICS, 'kubectl', 'node']);
  if (hasCommand('kubectl')) assert.match(run('deploy.sh', [], withKubectl).stderr, /minikube is not installed/);
});

test('deploy.sh refuses to deploy without ANTHROPIC_API_KEY unless asked for the demo model', { skip: hasCommand('kubectl') ? false : 'kubectl is not installed' }, (t) => {
  const stubs = restrictedPath(t, [...BASICS, 'kubectl', 'node'], ['minikube', 'docker']);
  const withoutKey = run('deploy.sh', ['--skip-build'], stubs, { ANTHROPIC_API_KEY: '' });
  assert.equal(withoutKey.status, 1);
  assert.match(withoutKey.stderr, /ANTHROPIC_API_KEY is not set: export it, or deploy with --demo/);
  // With --demo it gets past the key and stops at the (stubbed, stopped) cluster instead.
  const demo = run('deploy.sh', ['--skip-build', '--demo'], stubs, { ANTHROPIC_API_KEY: '' });
  assert.equal(demo.status, 1);
  assert.match(demo.stderr, /Minikube profile 'minikube' is not running: minikube start --driver=docker --container-runtime=docker/);
});

test('deploy.sh --render-only --docker-socket needs the docker group, since there is no node to read it from', () => {
  const result = run('deploy.sh', ['--render-only', '--docker-socket']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /--render-only --docker-socket needs --docker-gid/);
  assert.match(run('deploy.sh', ['--docker-gid', 'docker']).stderr, /--docker-gid must be a number/);
  assert.match(run('deploy.sh', ['--docker-gid', '42']).stderr, /--docker-gid goes with --docker-socket/);
});
