// End-to-end in real headless Chromium: the page against the real frontend server, the real orchestrator and the offline model.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startFrontendProcess, type Service } from './support/processes.ts';
import { unusedPort } from './support/servers.ts';
import { CHROMIUM, startPageStack, type PageStack, RUN_TIMEOUT_MS, openPage as openPageIn, panel, problemsOf, startRun, waitForRunStatus, waitForText } from './support/page.ts';
import { skipUnlessRequired } from '../../backend/orchestrator/test/support/required.ts';
import { makeSourceRepository } from '../../backend/orchestrator/test/support/git-servers.ts';

const TOKEN = 'e2e-orchestrator-token-81c2';
const ARTIFACTS = path.resolve(import.meta.dirname, '..', '..', 'test-artifacts');
const skip = skipUnlessRequired(existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; CI installs it)`);
if (skip) console.log(`skipping the browser tests: ${skip}`);

let orchestrator: Service | undefined;
let frontend: Service | undefined;
let browser: Browser | undefined;
/** The first test's run, which a later test reopens from the history. */
let twoAgentRunId = '';

const openPage = (url: string, viewport?: { width: number; height: number }) => openPageIn(browser!, url, viewport);

describe('the web page in Chromium', { skip }, () => {
  let stack: PageStack | undefined;
  before(async () => {
    if (skip) return;
    await mkdir(ARTIFACTS, { recursive: true });
    stack = await startPageStack(TOKEN);
    ({ orchestrator, frontend, browser } = stack);
  });
  after(async () => {
    await stack?.stop();
  });

  test('a user sets 2 agents with the keyboard, runs a prompt, and sees both agents’ streamed results, branches and the run id', async () => {
    const page = await openPage(frontend!.url);
    await page.locator('#banner.demo').getByText('Demo mode:').waitFor();
    const runId = await startRun(page, 'Build a typescript app which shows a digital clock.', 2);
    twoAgentRunId = runId;
    await waitForRunStatus(page, 'completed');
    assert.equal(await page.locator('.agent').count(), 2);
    for (const agentId of [1, 2]) {
      const agent = panel(page, agentId);
      assert.equal(await agent.getAttribute('data-status'), 'success');
      assert.equal(await agent.locator('[data-field="branch"]').textContent(), `agent-${agentId}`);
      const timeline = (await agent.locator('.timeline').textContent()) ?? '';
      assert.match(timeline, new RegExp(`agent-${agentId}\\.md`), 'the agent said which file it writes');
      assert.match(timeline, /Write/, 'the Write tool call is listed');
      assert.match(timeline, /git commit/, 'the commit is listed');
      assert.match((await agent.locator('[data-field="tokens"]').textContent()) ?? '', /^[\d,]+ in \/ [\d,]+ out$/);
      assert.match((await agent.locator('[data-field="cost"]').textContent()) ?? '', /^\$\d/);
      assert.match((await agent.locator('[data-field="time"]').textContent()) ?? '', /^\d+(\.\d)? m?s$/);
    }
    assert.match((await page.locator('#run-dir').textContent()) ?? '', new RegExp(`runs/run_${runId}`));
    assert.match((await page.locator('#run-progress').textContent()) ?? '', /completed: 2 success/);
    // The typed prompt stays for the next run, and the run is in the history.
    assert.equal(await page.getByLabel('Prompt').inputValue(), 'Build a typescript app which shows a digital clock.');
    await page.locator(`.history-item[data-run-id="${runId}"]`).waitFor();
    assert.deepEqual(problemsOf(page), []);
    await page.close();
  });

  test('three agents are watched live: running panels show tool calls before the run ends, then each result and branch', async () => {
    const page = await openPage(frontend!.url);
    const runId = await startRun(page, 'Build a clock, slowly. [[slow ms=700]]', 3);
    await page.locator('.agent[data-status="running"] .timeline .tool').first().waitFor({ timeout: RUN_TIMEOUT_MS });
    assert.equal(await page.locator('#run').getAttribute('data-status'), 'running');
    assert.match((await page.locator('#run-progress').textContent()) ?? '', /working/);
    // The history entry follows the open run live rather than keeping the status it was listed with.
    await page.locator(`.history-item[data-run-id="${runId}"] .badge.running`).waitFor({ timeout: RUN_TIMEOUT_MS });
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).isVisible(), true);
    await waitForRunStatus(page, 'completed');
    await page.locator(`.history-item[data-run-id="${runId}"] .badge.completed`).waitFor({ timeout: 5_000 });
    for (const agentId of [1, 2, 3]) {
      assert.equal(await panel(page, agentId).getAttribute('data-status'), 'success');
      assert.equal(await panel(page, agentId).locator('[data-field="branch"]').textContent(), `agent-${agentId}`);
    }
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).isVisible(), false);
    assert.equal(await page.locator('#run-id').textContent(), runId);
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(ARTIFACTS, 'frontend.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'frontend-phone.png'), fullPage: true });
    assert.deepEqual(problemsOf(page), []);
    await page.close();
  });

  test('a past run reopened from the history replays what its agents did', async () => {
    const page = await openPage(frontend!.url);
    const runId = twoAgentRunId;
    assert.ok(runId, 'the first test ran a run');
    const first = page.locator(`.history-item[data-run-id="${runId}"]`);
    await first.waitFor();
    await first.focus();
    await page.keyboard.press('Enter');
    await waitForRunStatus(page, 'completed');
    assert.equal(await page.locator('#run-id').textContent(), runId);
    assert.equal(await first.getAttribute('aria-current'), 'true');
    assert.equal(await page.locator('.agent').count(), 2);
    // The snapshot says "completed" at once; the agents' work then arrives by replaying the event log.
    await waitForText(panel(page, 2).locator('.timeline'), /agent-2\.md/, 15_000);
    // The address names the run, so a reload (or a shared link) opens it again.
    await page.reload();
    await waitForRunStatus(page, 'completed');
    assert.equal(await page.locator('#run-id').textContent(), runId);
    await page.close();
  });

  test('an agent that fails shows its error in its panel while the other succeeds', async () => {
    const page = await openPage(frontend!.url);
    await startRun(page, 'Fail one agent. [[fail agent=2]]', 2);
    await waitForRunStatus(page, 'completed');
    assert.equal(await panel(page, 1).getAttribute('data-status'), 'success');
    assert.equal(await panel(page, 2).getAttribute('data-status'), 'error');
    assert.ok(((await panel(page, 2).getByRole('alert').textContent()) ?? '').length > 0);
    assert.match((await page.locator('#run-progress').textContent()) ?? '', /1 success, 1 error/);
    await page.close();
  });

  test('Cancel on one agent stops only that agent, and Cancel run stops the rest', async () => {
    const page = await openPage(frontend!.url);
    await startRun(page, 'Work slowly. [[slow ms=6000]]', 2);
    await page.locator('.agent[data-agent="2"][data-status="running"]').waitFor({ timeout: RUN_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Cancel agent 2' }).click();
    await page.getByRole('button', { name: 'Yes, cancel agent 2' }).click();
    await page.locator('.agent[data-agent="2"][data-status="cancelled"]').waitFor({ timeout: RUN_TIMEOUT_MS });
    assert.equal(await panel(page, 1).getAttribute('data-status'), 'running');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await waitForRunStatus(page, 'cancelled');
    assert.equal(await panel(page, 1).getAttribute('data-status'), 'cancelled');
    await page.close();
  });

  test('after a run with a check command, a user reads each agent’s check and diff, sees the recommendation, and merges agents into main', async () => {
    const page = await openPage(frontend!.url);
    await page.getByLabel('Check command').fill('test -s notes-x.md');
    await startRun(page, 'Write your notes. [[file name=notes-x.md]]', 2);
    await waitForRunStatus(page, 'completed');
    await waitForText(page.locator('#run-check'), /^test -s notes-x\.md$/, 5_000);
    await waitForText(page.locator('#run-recommended'), /^Agent \d$/, 5_000);
    for (const agentId of [1, 2]) {
      assert.match((await panel(page, agentId).locator('[data-field="check"]').textContent()) ?? '', /^passed, exit 0, /);
      assert.match((await panel(page, agentId).locator('[data-field="changes"]').textContent()) ?? '', /^1 file, \+\d+ −0$/);
    }
    assert.equal(await page.locator('.agent.recommended').count(), 1);

    const first = panel(page, 1);
    await first.getByRole('button', { name: 'Show diff' }).click();
    await waitForText(first.locator('.patch'), /\+\+\+ b\/notes-x\.md/, 15_000);
    assert.equal(await first.getByRole('button', { name: 'Hide diff' }).getAttribute('aria-expanded'), 'true');

    await first.getByRole('button', { name: 'Merge into main' }).click();
    await waitForText(first.locator('.merged'), /^Merged into main \(fast-forward\) as [0-9a-f]{10}$/, 15_000);
    assert.equal(await first.getByRole('button', { name: 'Merge into main' }).count(), 0);
    // Both agents wrote the same file name, so the second merge conflicts and says so.
    const second = panel(page, 2);
    await second.getByRole('button', { name: 'Merge into main' }).click();
    await waitForText(second.getByRole('alert').last(), /^Could not merge: .*conflicts: notes-x\.md$/, 15_000);
    // The history column is sticky: from the top, the full-page picture shows it where a user sees it.
    await page.locator('h1').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'frontend-review.png'), fullPage: true });
    await page.close();
  });

  test('a run from a repository shows its source and setup, and Push sends an agent’s branch back to it', async () => {
    const sources = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-page-source-'));
    try {
      const project = await makeSourceRepository(sources);
      const page = await openPage(frontend!.url);
      await page.getByLabel('Repository').fill(project.path);
      await page.getByLabel('Ref', { exact: false }).fill('feature');
      await page.getByLabel('Setup command').fill('mkdir -p deps && echo x > deps/a');
      const runId = await startRun(page, 'Write your notes.', 1);
      await waitForRunStatus(page, 'completed');
      await waitForText(page.locator('#run-source'), new RegExp(`^${project.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} @ feature \\(${project.commits.feature.slice(0, 10)}\\)$`), 5_000);
      await waitForText(page.locator('#run-setup'), /^passed, exit 0, .*gave every agent deps/, 5_000);
      const first = panel(page, 1);
      await first.getByRole('button', { name: 'Push' }).click();
      await waitForText(first.locator('.pushed'), new RegExp(`^Pushed to .* as multiclaude/${runId}/agent-1 \\([0-9a-f]{10}\\)$`), 30_000);
      const pushed = execFileSync('git', ['rev-parse', `refs/heads/multiclaude/${runId}/agent-1`], { cwd: project.path, encoding: 'utf8' }).trim();
      assert.match(pushed, /^[0-9a-f]{40}$/);
      await waitForText(page.locator('#history-list'), new RegExp(`@ feature`), 10_000);
      assert.deepEqual(problemsOf(page), []);
      await page.close();
    } finally {
      await rm(sources, { recursive: true, force: true });
    }
  });

  test('an orchestrator that is down is shown plainly, and the typed prompt is kept', async () => {
    const downUrl = `http://127.0.0.1:${await unusedPort()}`;
    const lonely = await startFrontendProcess({ orchestratorUrl: downUrl, token: TOKEN });
    try {
      const page = await openPage(lonely.url);
      await page.getByText('The orchestrator is not reachable').waitFor();
      await page.getByLabel('Prompt').fill('Keep this prompt, please.');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      const error = page.locator('#form-error');
      await error.waitFor();
      assert.equal(await error.textContent(), `Could not start the run: orchestrator unreachable at ${downUrl}`);
      assert.equal(await page.getByLabel('Prompt').inputValue(), 'Keep this prompt, please.');
      assert.equal(await page.locator('#run').isVisible(), false);
      await page.screenshot({ path: path.join(ARTIFACTS, 'frontend-orchestrator-down.png') });
      await page.close();
    } finally {
      await lonely.stop();
    }
  });
});
