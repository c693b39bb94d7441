// The test cluster's scripts under scripts/cluster/: shellcheck-clean (following lib.sh), strict mode, a
// header saying what each does, and --help that answers without root, a cluster or a build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, hasCommand } from '../deployment/manifests.ts';

const CLUSTER = path.join(ROOT, 'scripts', 'cluster');
const scripts = readdirSync(CLUSTER).filter((name) => name.endsWith('.sh')).sort();
const runnable = scripts.filter((name) => name !== 'lib.sh');

test('the cluster scripts are all there', () => {
  for (const name of ['up.sh', 'down.sh', 'build-kubernetes.sh', 'build-coredns.sh', 'provisioner.sh', 'test.sh', 'lib.sh']) {
    assert.ok(scripts.includes(name), `scripts/cluster/${name}`);
  }
});

test('every cluster script is clean under shellcheck', { skip: hasCommand('shellcheck') ? false : 'shellcheck is not installed' }, () => {
  const result = spawnSync('shellcheck', ['-x', ...scripts], { cwd: CLUSTER, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('every cluster script runs in strict mode and says what it does in its header', () => {
  for (const name of scripts) {
    const lines = readFileSync(path.join(CLUSTER, name), 'utf8').split('\n');
    assert.equal(lines[0], '#!/usr/bin/env bash', name);
    assert.match(lines[1] ?? '', /^# \S/, `${name} has a header comment`);
    if (name !== 'lib.sh') assert.ok(lines.includes('set -euo pipefail'), `${name} sets -euo pipefail`);
  }
});

test('every cluster script answers --help with its usage, doing nothing else', () => {
  for (const name of runnable) {
    const result = spawnSync('/bin/bash', [path.join(CLUSTER, name), '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, `${name} --help: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`Usage: scripts/cluster/${name.replace('.', '\\.')}`), name);
  }
});

test('up.sh ends by printing KUBECONFIG= and NODE_ADDRESS=, the two lines the tests and CI read', () => {
  const lines = readFileSync(path.join(CLUSTER, 'up.sh'), 'utf8').trimEnd().split('\n');
  assert.match(lines.at(-2) ?? '', /^echo "KUBECONFIG=/);
  assert.match(lines.at(-1) ?? '', /^echo "NODE_ADDRESS=/);
});
