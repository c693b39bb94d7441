// End-to-end for memory-based admission: the real orchestrator run inside a memory-limited cgroup (v2, or v1's memory controller) reports, in /diagnostics, a cap set by that limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startOrchestratorProcess } from './support/orchestrator-process.ts';
import { skipUnlessRequired } from './support/required.ts';

const GIB = 1024 ** 3;

/** A fresh memory cgroup under this process's own, with its limit file; undefined (and why) where none can be made. */
async function memoryCgroup(limitBytes: number): Promise<{ directory: string } | { skip: string }> {
  const own = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const v1 = /^\d+:memory:(.*)$/m.exec(own)?.[1];
  const v2 = /^0::(.*)$/m.exec(own)?.[1];
  const candidates: Array<{ parent: string; limitFile: string }> = [];
  if (v1 !== undefined && existsSync('/sys/fs/cgroup/memory')) candidates.push({ parent: path.join('/sys/fs/cgroup/memory', v1), limitFile: 'memory.limit_in_bytes' });
  if (v2 !== undefined && existsSync('/sys/fs/cgroup/cgroup.controllers')) candidates.push({ parent: path.join('/sys/fs/cgroup', v2), limitFile: 'memory.max' });
  for (const { parent, limitFile } of candidates) {
    const directory = path.join(parent, `multiclaude-test-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(directory);
      await writeFile(path.join(directory, limitFile), String(limitBytes));
      return { directory };
    } catch {
      await rmdir(directory).catch(() => undefined);
    }
  }
  return { skip: 'no memory cgroup can be made here (needs root and a writable cgroup file system)' };
}

const cgroup = await memoryCgroup(2 * GIB);
const skip = skipUnlessRequired('skip' in cgroup ? cgroup.skip : false);

test('in a cgroup limited to 2 GiB the orchestrator admits the agents that fit in it, and /diagnostics says why', { skip }, async () => {
  const { directory } = cgroup as { directory: string };
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-cgroup-'));
  // The shell joins the cgroup, then becomes the orchestrator: everything it starts is inside the limit too.
  const wrapper = ['/bin/sh', '-c', `echo $$ > '${directory}/cgroup.procs' && exec "$@"`, 'sh'];
  const orchestrator = await startOrchestratorProcess({ workspace, wrapper, env: { WARM_POOL_SIZE: '0' } });
  try {
    const procs = await readFile(path.join(directory, 'cgroup.procs'), 'utf8');
    assert.ok(procs.split('\n').includes(String(orchestrator.child.pid)), 'the orchestrator runs in the limited cgroup');
    const report = (await (await fetch(`${orchestrator.url}/diagnostics`)).json()) as { checks: Record<string, Record<string, unknown>> };
    const capacity = report.checks['capacity']!;
    assert.equal(capacity['status'], 'ok');
    assert.equal(capacity['source'], 'memory');
    assert.equal(capacity['memory_limit_source'], 'cgroup');
    assert.equal(capacity['memory_limit_bytes'], 2 * GIB);
    // 2 GiB less the 512 MiB kept for the orchestrator, over an agent's 600 MiB (local runtime): two, where the machine would allow dozens.
    assert.equal(capacity['agents'], 2);
    assert.match(String(capacity['reason']), /2 agent\(s\) fit in the container's memory limit of 2\.0 GiB/);
  } finally {
    await orchestrator.stop();
    await rmdir(directory).catch(() => undefined);
    await rm(workspace, { recursive: true, force: true });
  }
});
