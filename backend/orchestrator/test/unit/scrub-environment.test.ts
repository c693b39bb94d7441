import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { scrubProcessTree } from '../../src/process/scrub-environment.ts';

const moduleUrl = new URL('../../src/process/scrub-environment.ts', import.meta.url).href;

test('after the scrub, /proc/<pid>/environ and process.env of the process and of a child it started before no longer hold its secrets, and other variables are kept', async () => {
  const secret = randomBytes(24).toString('hex');
  const script = `const { spawn } = await import('node:child_process');
const early = spawn('sleep', ['60'], { stdio: 'ignore' });
const { scrubOwnEnvironment } = await import(${JSON.stringify(moduleUrl)});
const result = scrubOwnEnvironment();
console.log(JSON.stringify({ result, early: early.pid, inherited: process.env.ORCHESTRATOR_TOKEN ?? null, kept: process.env.KEPT ?? null }));
setTimeout(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { PATH: process.env['PATH'] ?? '', ANTHROPIC_API_KEY: `sk-ant-${secret}`, ORCHESTRATOR_TOKEN: secret, KEPT: 'yes' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let early: number | undefined;
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const report = JSON.parse(line.toString()) as { result: { scrubbed: string[]; error?: string }; early: number; inherited: string | null; kept: string | null };
    assert.equal(report.result.error, undefined);
    early = report.early;
    for (const name of ['ANTHROPIC_API_KEY', `ANTHROPIC_API_KEY (pid ${early})`, 'ORCHESTRATOR_TOKEN', `ORCHESTRATOR_TOKEN (pid ${early})`]) {
      assert.ok(report.result.scrubbed.includes(name), `${name} scrubbed: ${report.result.scrubbed.join(', ')}`);
    }
    assert.ok(!(await readFile(`/proc/${report.early}/environ`, 'utf8')).includes(secret), 'the child started before the scrub is blanked too');
    assert.equal(report.inherited, null, 'children spawned with process.env inherit nothing');
    assert.equal(report.kept, 'yes');
    const environ = await readFile(`/proc/${child.pid}/environ`, 'utf8');
    assert.ok(!environ.includes(secret), 'the secret is gone from /proc/<pid>/environ');
    assert.match(environ, /ORCHESTRATOR_TOKEN=\*+\0/);
    assert.match(environ, /KEPT=yes\0/);
  } finally {
    child.kill('SIGKILL');
    // An orphaned sleep outlives its parent: ended by its pid.
    if (early) process.kill(early, 'SIGKILL');
  }
});

test('a parent blanks the secrets of a child that has read its configuration, and of the child’s own children', async () => {
  const secret = randomBytes(24).toString('hex');
  const child = spawn('sh', ['-c', 'sleep 60 & wait'], { env: { PATH: process.env['PATH'] ?? '', ORCHESTRATOR_TOKEN: secret }, stdio: 'ignore' });
  const grandchildren = (): number[] =>
    readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(child.pid)).map(Number);
  try {
    while (grandchildren().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const result = scrubProcessTree(child.pid!);
    assert.equal(result.error, undefined);
    for (const pid of [child.pid!, ...grandchildren()]) {
      assert.ok(!(await readFile(`/proc/${pid}/environ`, 'utf8')).includes(secret), `pid ${pid} still holds the secret`);
    }
  } finally {
    for (const pid of grandchildren()) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  }
});
