// End-to-end runs from a source with a setup step, through the real SDK, claude binary, git and sandboxes: the credential and the source reach no sandbox (an agent hunts for them, and tries to push, through its own Bash tool), the setup's output reaches every agent's check, and in Docker only the setup container has a network.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { RunStateSchema, type RunState } from '@multiclaude/contract';
import { startHarness, type Harness } from './support/harness.ts';
import { readEvents } from './support/sse.ts';
import { makeSourceRepository, startHttpGitServer, type HttpGitServer, type SourceRepository } from './support/git-servers.ts';
import { createDockerRuntime } from '../src/sandboxes/docker.ts';
import { skipUnlessRequired } from './support/required.ts';
import { dockerUnavailable } from './support/docker.ts';
import { gitStatus } from '../src/git/git.ts';

let sources: string;
let project: SourceRepository;

before(async () => {
  sources = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-sources-e2e-'));
  project = await makeSourceRepository(sources);
});
after(async () => {
  await rm(sources, { recursive: true, force: true });
});

async function submit(harness: Harness, body: Record<string, unknown>): Promise<string> {
  const response = await harness.post('/runs', body);
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { run_id: string }).run_id;
}

async function finished(harness: Harness, runId: string): Promise<RunState> {
  await readEvents(await harness.app.request(`/runs/${runId}/events`));
  return RunStateSchema.parse(await (await harness.app.request(`/runs/${runId}`)).json());
}

async function filesUnder(directory: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) parts.push(await readFile(path.join(entry.parentPath, entry.name), 'latin1'));
  }
  return parts.join('\n');
}

const SETUP = 'env; mkdir -p deps && echo installed > deps/a';
const CHECK = 'env; git config --list; cat "$HOME/.git-credentials" 2>/dev/null; test "$(cat deps/a)" = installed';

test('local runtime: a credentialed source with a setup step; every agent’s check uses the setup’s output, and no sandbox sees the credential or the source, even an agent hunting for them with its Bash tool', async () => {
  const password = ['pw', 'e2e', String(process.pid)].join('-');
  const server: HttpGitServer = await startHttpGitServer(sources, 'owner', password);
  const harness = await startHarness({ sources: { httpToken: password, httpUser: 'owner' } });
  try {
    const repo = `${server.url}/project.git`;
    // Agent 1 hunts for the source's credential and remote through its own Bash tool, and tries to push
    // to the source itself (the local runtime does not isolate the network).
    const hunt =
      'env > hunt.txt; for p in /proc/[0-9]*; do tr "\\0" "\\n" < $p/environ; tr "\\0" " " < $p/cmdline; echo; done >> hunt.txt 2>/dev/null; ' +
      'git config --list --show-origin > git.txt 2>&1; git remote -v >> git.txt 2>&1; cat "$HOME/.git-credentials" ~/.config/git/credentials >> git.txt 2>&1; ' +
      `git push ${repo} HEAD:refs/heads/stolen > push.txt 2>&1; echo "push exit $?" >> push.txt`;
    const runId = await submit(harness, {
      prompt: `Write notes. [[bash agent=1 cmd=${JSON.stringify(hunt)}]]`,
      agent_count: 2,
      source: { repo },
      setup_command: SETUP,
      check_command: CHECK,
    });
    const state = await finished(harness, runId);
    assert.equal(state.setup?.status, 'passed', state.setup?.output_tail);
    assert.deepEqual(state.summary, { total_agents: 2, successful: 2, failed: 0, cancelled: 0 }, JSON.stringify(state.results.map((r) => r.error)));
    for (const result of state.results) assert.equal(result.check?.status, 'passed', result.check?.output_tail);
    const everything = [JSON.stringify(state), harness.logLines.join('\n'), await filesUnder(harness.workspace)].join('\n');
    assert.match(state.setup?.output_tail ?? '', /HOME=/, 'the setup’s environment is in its output');
    assert.ok(!everything.includes(password), 'the credential is in no sandbox’s environment or files, no record and no log');
    const huntTree = path.join(harness.workspace, state.results.find((result) => result.agent_id === 1)!.workspace.worktree_path);
    const found = await readFile(path.join(huntTree, 'hunt.txt'), 'utf8');
    assert.match(found, /PATH=/, 'the agent read environments');
    assert.ok(!found.includes(password), 'no environment, process or git config the agent can read holds the credential');
    const gitSeen = await readFile(path.join(huntTree, 'git.txt'), 'utf8');
    assert.match(gitSeen, /remote\.origin\.url/, 'the agent read its repository’s configuration');
    assert.ok(!gitSeen.includes(password) && !gitSeen.includes(server.url), 'its repository’s configuration and remotes name neither the source nor a credential');
    assert.match(await readFile(path.join(huntTree, 'push.txt'), 'utf8'), /push exit [1-9]/, 'the agent’s own push is refused');
    assert.equal(await gitStatus(['rev-parse', '--verify', '--quiet', 'refs/heads/stolen'], { gitDirectory: project.path }).then((found) => found.exitCode), 1, 'nothing landed on the source');
    for (const result of state.results) {
      const repository = path.join(harness.workspace, result.workspace.worktree_path);
      // Its git directory (config, refs, logs): agent 1's own hunt files in its tree quote the URL it was given.
      assert.ok(!(await filesUnder(path.join(repository, '.git'))).includes(server.url), `agent ${result.agent_id}'s repository does not name the source`);
      assert.ok(!(result.check?.output_tail ?? '').includes(server.url), `agent ${result.agent_id}'s check sees no source URL (environment, git config)`);
    }
  } finally {
    await harness.close();
    await server.close();
  }
});

const dockerSkip = skipUnlessRequired(dockerUnavailable());

test('docker runtime: the setup container is the only one of the run with a network', { skip: dockerSkip }, async () => {
  const harness = await startHarness({ runtime: (config, logger) => createDockerRuntime(config, logger) });
  const networks = new Map<string, string>();
  let watching = true;
  try {
    const runId = await submit(harness, {
      prompt: 'Write notes.',
      agent_count: 2,
      source: { repo: project.path, ref: 'main' },
      // Long enough for the watcher below to see the container.
      setup_command: `sleep 2; ls /sys/class/net; ${SETUP}`,
      check_command: `ls /sys/class/net; ${CHECK}`,
    });
    const watcher = (async () => {
      while (watching) {
        const listing = execFileSync('docker', ['ps', '--filter', `label=multiclaude.run_id=${runId}`, '--format', '{{.Names}}\t{{.Networks}}'], { encoding: 'utf8' });
        for (const line of listing.split('\n').filter(Boolean)) {
          const [name = '', network = ''] = line.split('\t');
          networks.set(name, network);
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const state = await finished(harness, runId);
    watching = false;
    await watcher;
    assert.equal(state.setup?.status, 'passed', state.setup?.output_tail);
    assert.match(state.setup?.output_tail ?? '', /eth0/, 'the setup container has an interface besides lo');
    for (const result of state.results) {
      assert.equal(result.status, 'success', result.error);
      assert.equal(result.check?.status, 'passed', result.check?.output_tail);
      assert.doesNotMatch(result.check?.output_tail ?? '', /eth0/, 'a check container has only lo');
    }
    const setupName = [...networks.keys()].find((name) => name.endsWith('-setup'));
    assert.ok(setupName, `the setup container was seen: ${JSON.stringify([...networks])}`);
    assert.equal(networks.get(setupName), 'bridge');
    const others = [...networks].filter(([name]) => name !== setupName);
    assert.ok(others.length >= 2, `agents' containers were seen: ${JSON.stringify([...networks])}`);
    for (const [name, network] of others) assert.equal(network, 'none', `${name} has no network`);
  } finally {
    watching = false;
    await harness.close();
  }
});
