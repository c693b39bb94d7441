// The CLI driven as a user drives it: real `multiclaude` processes, with and without a pseudo-terminal, against a real orchestrator running the offline model.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RunStateSchema } from '@multiclaude/contract';
import { cleanEnvironment, makeRepository, recordingProxy, runCli, scratchHome, spawnCli, startOrchestrator, type Orchestrator, type RecordingProxy } from './support/processes.ts';

describe('multiclaude against a running orchestrator', () => {
  let orchestrator: Orchestrator;
  let proxy: RecordingProxy;
  let scratch: Awaited<ReturnType<typeof scratchHome>>;
  let repository: string;
  let environment: NodeJS.ProcessEnv;
  /** The run of the first test, reviewed by the later ones. */
  let runId = '';

  before(async () => {
    orchestrator = await startOrchestrator();
    proxy = await recordingProxy(orchestrator.url);
    scratch = await scratchHome();
    repository = await makeRepository(scratch.home);
    environment = cleanEnvironment({ HOME: scratch.home, ORCHESTRATOR_URL: proxy.url, ORCHESTRATOR_TOKEN: orchestrator.token });
  });
  after(async () => {
    await proxy?.close();
    await orchestrator?.stop();
    await scratch?.remove();
  });

  test('run in a repository without a terminal: plain progress lines on stderr, the ranking on stdout, exit 0', async () => {
    const result = await runCli(['run', 'Write a haiku about git.', '-n', '2', '--budget', '5'], { cwd: repository, env: environment });
    assert.equal(result.code, 0, result.stderr);
    runId = new RegExp(`run (\\S+): 2 agents; source ${repository}; follow it elsewhere with: multiclaude logs \\S+`).exec(result.stderr)?.[1] ?? '';
    assert.ok(runId, result.stderr);
    // Until the orchestrator takes a source (it records it in run_info.source), the CLI says the agents did not start from it.
    const recorded = (await (await fetch(`${orchestrator.url}/runs/${runId}`, { headers: { authorization: `Bearer ${orchestrator.token}` } })).json()) as { run_info: { source?: unknown } };
    if (recorded.run_info.source === undefined) assert.match(result.stderr, new RegExp(`does not take a run source yet, so the agents start from a fresh repository, not from ${repository}`));
    else assert.doesNotMatch(result.stderr, /does not take a run source/);
    assert.match(result.stderr, new RegExp(`run ${runId}: running`));
    assert.match(result.stderr, /^agent 1 +running /m);
    assert.match(result.stderr, /^agent 2 +success +turns \d+ +tokens \S+ +\$\d+\.\d{4} +tools \d+ +last: Bash /m);
    assert.doesNotMatch(result.stderr, /\u001b\[/, 'no terminal escapes off a terminal');
    assert.match(result.stdout, /^rank +agent +status +check +diff +cost +reasons$/m);
    // Without a check command nothing tested the attempts: ranked, but none recommended, and the table says why.
    assert.match(result.stdout, /^1 +\d +success +- +1 file \+\d+ -0 +\$\d/m);
    assert.match(result.stdout, /recommended: none \(no check command: nothing tested the attempts, so none is recommended; compare their diffs\)/);
    // What the CLI asked for: the repository it ran in as the source (the server ignores it until it supports sources), and the budget.
    assert.deepEqual(proxy.runRequests.at(-1), { prompt: 'Write a haiku about git.', agent_count: 2, source: { repo: repository }, budget_usd: 5 });
  });

  test('run --json prints the finished run, as GET /runs/:id has it, as one line on stdout', async () => {
    const result = await runCli(['run', 'Write a haiku about git.', '-n', '2', '--json', '--repo', repository, '--ref', 'main'], { env: environment });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 1, result.stdout);
    const run = RunStateSchema.parse(JSON.parse(lines[0]!));
    assert.equal(run.status, 'completed');
    assert.equal(run.results.length, 2);
    assert.ok(run.results.every((agent) => agent.status === 'success'));
    assert.equal(run.recommended_agent_id, null, 'no check command, so no recommendation');
    assert.match(run.no_recommendation_reason ?? '', /no check command/);
    assert.deepEqual((proxy.runRequests.at(-1) as { source?: unknown }).source, { repo: repository, ref: 'main' });
  });

  test('run on a pseudo-terminal redraws one line per agent in place', async () => {
    const result = await runCli(['run', 'Write a haiku about git.', '-n', '2'], { cwd: repository, env: environment, tty: true });
    assert.equal(result.code, 0, result.stdout);
    // log-update moves the cursor up and erases lines to redraw the frame.
    assert.match(result.stdout, /\u001b\[1A/);
    assert.match(result.stdout, /\u001b\[2K/);
    assert.match(result.stdout, /agent 1 +success +turns \d+/);
    assert.match(result.stdout, /agent 2 +success +turns \d+/);
    assert.match(result.stdout, /rank +agent +status +check +diff +cost +reasons/);
  });

  test('a check that fails for every agent: they rank with the check\'s outcome and the exit status is 1', async () => {
    const result = await runCli(['run', 'Write a haiku about git.', '-n', '2', '--check', 'exit 3'], { cwd: repository, env: environment });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^\d +\d +success +failed +1 file/m);
    assert.match(result.stderr, /check failed/);
    assert.equal((proxy.runRequests.at(-1) as { check_command?: string }).check_command, 'exit 3');
  });

  test('runs, show, diff and logs review a finished run', async () => {
    const runs = await runCli(['runs'], { env: environment });
    assert.equal(runs.code, 0, runs.stderr);
    assert.match(runs.stdout, new RegExp(`^${runId} +completed +2 +2 `, 'm'));

    const show = await runCli(['show', runId], { env: environment });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /prompt: Write a haiku about git\./);
    assert.match(show.stdout, /recommended: none \(no check command/);

    const diff = await runCli(['diff', runId, '1'], { env: environment });
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^\+\+\+ b\/agent-1\.md$/m);
    const stat = await runCli(['diff', runId, '2', '--stat'], { env: environment });
    assert.match(stat.stdout, /agent-2\.md/);
    assert.match(stat.stdout, /1 files changed, \d+ insertions/);

    const logs = await runCli(['logs', runId], { env: environment });
    assert.equal(logs.code, 0, logs.stderr);
    const lines = logs.stdout.trim().split('\n');
    assert.match(lines.at(-1)!, /^\d+ \S+ run finished completed$/);
    assert.ok(lines.some((line) => / agent 1 tool Write \.\/agent-1\.md/.test(line)), logs.stdout);
    // Resumable: after the second-to-last event only the last one comes.
    const lastButOne = Number(lines.at(-2)!.split(' ')[0]);
    const resumed = await runCli(['logs', runId, '--after', String(lastButOne)], { env: environment });
    assert.equal(resumed.stdout.trim(), lines.at(-1));
    // After the last event of an ended run there is nothing, and the command ends.
    const nothing = await runCli(['logs', runId, '--after', lines.at(-1)!.split(' ')[0]!], { env: environment });
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal(nothing.stdout, '');
  });

  test('merge: the recommended agent merges; a second agent that wrote the same file is a conflict naming it', async () => {
    const json = await runCli(['run', 'Write a haiku. [[file name=haiku.md]]', '-n', '2', '--json'], { env: environment });
    assert.equal(json.code, 0, json.stderr);
    const run = RunStateSchema.parse(JSON.parse(json.stdout));
    const id = run.run_info.run_id;
    const merged = await runCli(['merge', id, '1'], { env: environment });
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, new RegExp(`merged agent-1 into main of run ${id}: [0-9a-f]{12} \\(fast-forward\\)`));
    const conflict = await runCli(['merge', id, '2'], { env: environment });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /conflicting files: haiku\.md/);
    assert.match(conflict.stderr, /main is unchanged/);
  });

  test('push: the agent’s branch lands in the repository the run started from, as a new branch', async () => {
    const result = await runCli(['push', runId, '1', '--branch', 'try-1'], { env: environment });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`pushed agent 1 of run ${runId} to ${repository} as branch try-1 \\([0-9a-f]{12}\\)`));
    assert.match(execFileSync('git', ['rev-parse', 'refs/heads/try-1'], { cwd: repository, encoding: 'utf8' }), /^[0-9a-f]{40}$/m);
    const onto = await runCli(['push', runId, '2', '--branch', 'try-1'], { env: environment });
    assert.equal(onto.code, 1, 'another agent’s branch is not pushed over it');
  });

  test('Ctrl-C stops watching and leaves the run going; cancel stops it; logs shows it ended cancelled', async () => {
    // Each agent writes its file, then its model takes a minute to answer: the run is still going when it is interrupted.
    const watching = spawnCli(['run', 'Write a haiku. [[slow ms=60000 from=1]]', '-n', '2'], { env: environment });
    try {
      const [, id] = await watching.waitForStderr(/run (\S+): running/);
      await watching.waitForStderr(/tools 1 +last: Write/);
      watching.child.kill('SIGINT');
      assert.equal(await watching.exited, 130);
      assert.match(watching.stderr(), new RegExp(`stopped watching run ${id}; it goes on at http://127\\.0\\.0\\.1:\\d+: \`multiclaude logs ${id}\` follows it, \`multiclaude cancel ${id}\` stops it`));

      const cancelled = await runCli(['cancel', id!], { env: environment });
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.equal(cancelled.stdout.trim(), `run ${id}: cancelling`);
      const logs = await runCli(['logs', id!], { env: environment });
      assert.match(logs.stdout, /agent 1 cancelled/);
      assert.match(logs.stdout.trim().split('\n').at(-1)!, /run finished cancelled$/);
    } finally {
      if (watching.child.exitCode === null) watching.child.kill('SIGKILL');
    }
  });

  test('cancel: a finished run cannot be cancelled, and says why', async () => {
    const result = await runCli(['cancel', runId], { env: environment });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /has already ended \(completed\)/);
  });

  test('errors name the fix: a missing run, a missing token, a bad flag', async () => {
    const missing = await runCli(['show', '20990101_000000_00000000'], { env: environment });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no run 20990101_000000_00000000 \(`multiclaude runs` lists the runs\)/);

    const { ORCHESTRATOR_TOKEN: _token, ...withoutToken } = environment;
    const refused = await runCli(['runs'], { env: withoutToken });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401.*set ORCHESTRATOR_TOKEN/);

    const badFlag = await runCli(['run', 'x', '--bogus'], { env: environment });
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /unknown option '--bogus'/);
    assert.match(badFlag.stderr, /--help/);

    const badCount = await runCli(['run', 'x', '-n', '0'], { env: environment });
    assert.equal(badCount.code, 2);
    assert.match(badCount.stderr, /argument '0' is invalid\. expected an integer from 1 to 10/);
  });
});

describe('multiclaude without an orchestrator', () => {
  test('starts one on a free loopback port for the command, says so, and stops it afterwards', async () => {
    const scratch = await scratchHome();
    try {
      const port = await (await import('./support/processes.ts')).unusedPort();
      const environment = cleanEnvironment({ ...scratch.environment, ORCHESTRATOR_URL: `http://127.0.0.1:${port}` });
      const result = await runCli(['run', 'Write a haiku about git.', '-n', '1', '--json'], { env: environment });
      assert.equal(result.code, 0, result.stderr);
      const notice = /no orchestrator at http:\/\/127\.0\.0\.1:\d+; started one at http:\/\/127\.0\.0\.1:(\d+) \(pid (\d+)\) for this command; model: offline demo model/.exec(result.stderr);
      assert.ok(notice, result.stderr);
      assert.notEqual(Number(notice[1]), port);
      const run = RunStateSchema.parse(JSON.parse(result.stdout));
      assert.equal(run.status, 'completed');
      const { alive } = await import('./support/processes.ts');
      assert.equal(alive(Number(notice[2])), false, 'the orchestrator started for the command is gone');

      // Runs live on disk: the next command's own orchestrator finds the run again.
      const shown = await runCli(['show', run.run_info.run_id], { env: environment });
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stderr, /started one at/);
      assert.match(shown.stdout, new RegExp(`run ${run.run_info.run_id} completed: 1 succeeded`));

      const refused = await runCli(['--no-embed', 'runs'], { env: environment });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot reach the orchestrator at http:\/\/127\.0\.0\.1:\d+ .*start one with `npm start`/);
    } finally {
      await scratch.remove();
    }
  });

  test('--help for every command, and shell completion', async () => {
    const commands = ['run', 'runs', 'show', 'diff', 'merge', 'push', 'cancel', 'logs', 'mcp', 'completion'];
    const helps = await Promise.all(commands.map((command) => runCli([command, '--help'])));
    commands.forEach((command, index) => {
      const help = helps[index]!;
      assert.equal(help.code, 0, `${command}: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: multiclaude ${command}`, 'm'));
    });
    const bash = await runCli(['completion', 'bash']);
    assert.equal(bash.code, 0, bash.stderr);
    assert.match(bash.stdout, /complete .*multiclaude/);
    const suggestions = await runCli(['complete', '--', 'me']);
    assert.match(suggestions.stdout, /^merge/m);
  });
});
