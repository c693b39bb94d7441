// End-to-end in real headless Chromium, from ten attempts to one finished change: the overview, live usage, compare, merge's next steps, follow-ups, and the confirmations and messages around them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startFrontendProcess, startOrchestrator, type Service } from './support/processes.ts';
import { CHROMIUM, startPageStack, type PageStack, RUN_TIMEOUT_MS, openPage as openPageIn, panel, problemsOf, startRun, waitForRunStatus, waitForText } from './support/page.ts';
import { skipUnlessRequired } from '../../backend/orchestrator/test/support/required.ts';

const TOKEN = 'e2e-orchestrator-token-5d0e';
const ARTIFACTS = path.resolve(import.meta.dirname, '..', '..', 'test-artifacts');
const skip = skipUnlessRequired(existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; CI installs it)`);

let orchestrator: (Service & { home: string }) | undefined;
let frontend: Service | undefined;
let browser: Browser | undefined;

const openPage = (viewport?: { width: number; height: number }) => openPageIn(browser!, frontend!.url, viewport);

function runRepository(runId: string): string {
  return path.join(orchestrator!.home, 'workspace', 'runs', `run_${runId}`);
}

function gitIn(directory: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd: directory, encoding: 'utf8' }).trim();
}

/** The page's scrollable size (the tests are typed without the DOM library, so the document is reached through globalThis). */
async function documentSize(page: Page): Promise<{ width: number; height: number }> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; scrollHeight: number } } }).document.documentElement;
    return { width: root.scrollWidth, height: root.scrollHeight };
  });
}

/** A duration as the page writes it (450 ms, 12.3 s, 2 min 5 s), in seconds. */
function seconds(text: string): number {
  const match = /^(?:(\d+) min )?([\d.]+) (m?s)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2]) / (match[3] === 'ms' ? 1000 : 1);
}

async function setCheck(page: Page, command: string): Promise<void> {
  await page.getByLabel('Check command').fill(command);
}

describe('choosing and finishing in Chromium', { skip }, () => {
  let stack: PageStack | undefined;
  before(async () => {
    if (skip) return;
    await mkdir(ARTIFACTS, { recursive: true });
    // Three slots for ten agents, so the rest say they wait for one.
    stack = await startPageStack(TOKEN, { MAX_CONCURRENT_AGENTS: '3' });
    ({ orchestrator, frontend, browser } = stack);
  });
  after(async () => {
    await stack?.stop();
  });

  test('a 10-agent run is seen at a glance: an overview row per agent, waiting agents say so, cards fold, rows sort and jump; at 1280×900 and 390×844', async () => {
    const page = await openPage();
    await setCheck(page, 'ls agent-*.md');
    const runId = await startRun(page, 'Build a clock, ten ways. [[slow ms=300]]', 10);
    const rows = page.locator('.overview-table tbody tr');
    await waitForText(page.locator('.overview-table tbody'), /waiting for a free slot \(\d ahead\)/, RUN_TIMEOUT_MS);
    assert.equal(await rows.count(), 10);
    assert.equal(await page.locator('.agent.collapsed').count(), 10, 'more than three cards start folded to their summary');
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-10-running.png') });
    // Ten agents on three slots of a shared machine take a while.
    await waitForRunStatus(page, 'completed', 6 * RUN_TIMEOUT_MS);
    await page.waitForTimeout(300);
    // The best-ranked agent is recommended, with its reasons above the table and a star in its row.
    const recommendation = await waitForText(page.locator('#run-recommendation'), /^Recommended: Agent \d+ — check passed; diff \+\d+ −0 in 1 file; cost \$/, 5_000);
    const best = /Agent (\d+)/.exec(recommendation)![1]!;
    const third = page.locator(`.overview-table tr[data-agent="${best}"]`);
    assert.match((await third.locator('td[data-column="rank"]').textContent()) ?? '', /^1 ★$/);
    assert.equal(await third.locator('td[data-column="check"]').textContent(), 'passed');
    for (const column of ['time', 'turns', 'tokens', 'cost', 'changes']) {
      assert.notEqual(await third.locator(`td[data-column="${column}"]`).textContent(), '—', `${column} is filled in`);
    }
    assert.match((await third.locator('td[data-column="tokens"]').textContent()) ?? '', /^[\d.]+k? \/ [\d.]+k?$/);
    // Starting a run brought it into view: its head, totals, recommendation and all ten rows on one laptop screen.
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-10-laptop.png') });
    const lastRow = await rows.last().boundingBox();
    assert.ok(lastRow && lastRow.y + lastRow.height <= 900 && lastRow.y > 0, `the tenth row is on screen at 1280×900 (${JSON.stringify(lastRow)})`);
    // The whole table fits the laptop screen without scrolling sideways.
    const box = await page.locator('.table-scroll').boundingBox();
    const table = await page.locator('.overview-table').boundingBox();
    assert.ok(box && table && table.width <= box.width + 1, 'the overview fits at 1280 wide');

    // Sorting by rank puts the recommended agent first; again reverses.
    await page.getByRole('button', { name: 'Rank' }).click();
    assert.equal(await rows.first().getAttribute('data-agent'), best);
    assert.equal(await page.locator('th[data-column="rank"]').getAttribute('aria-sort'), 'ascending');
    await page.getByRole('button', { name: 'Rank' }).click();
    assert.equal(await rows.last().getAttribute('data-agent'), best);

    // A row jumps to its card and opens it.
    await page.getByRole('button', { name: 'Go to agent 7' }).click();
    const seventh = panel(page, 7);
    assert.equal(await seventh.getByRole('button', { name: 'Agent 7' }).getAttribute('aria-expanded'), 'true');
    assert.ok(await seventh.locator('.timeline').isVisible());
    assert.equal(await page.locator('#agent-7:focus').count(), 1, 'focus moved to the card');
    assert.equal(new URL(page.url()).hash, `#run=${runId}`);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#run-recommendation').evaluate((element) => element.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-10-phone.png') });
    const { height: phoneHeight, width: pageWidth } = await documentSize(page);
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-10-phone-full.png'), fullPage: true });
    assert.ok(phoneHeight < 9000, `the phone page is ${phoneHeight} px tall with ten agents`);
    assert.ok(pageWidth <= 390, `the page does not scroll sideways on a phone (${pageWidth} px)`);
    assert.deepEqual(problemsOf(page), []);
    await page.close();
  });

  test('tokens and cost move while agents work, before any ends; "—" before the first turn, never a false 0', async () => {
    const page = await openPage();
    await startRun(page, 'Work slowly. [[slow ms=2500]]', 2);
    const seen: string[] = [];
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const ended = await page.locator('.agent[data-status="success"], .agent[data-status="error"]').count();
      const cost = (await page.locator('#run-cost').textContent()) ?? '';
      if (ended > 0) break;
      if (seen.at(-1) !== cost) seen.push(cost);
      if (seen.filter((value) => value.startsWith('$')).length >= 2) break;
      await page.waitForTimeout(100);
    }
    assert.equal(seen[0], '—', 'nothing is known before the first turn');
    assert.ok(!seen.includes('$0.0000'), `never a false 0: ${seen.join(', ')}`);
    const costs = seen.filter((value) => value.startsWith('$'));
    assert.ok(costs.length >= 2, `the run's cost moved twice before any agent ended: ${seen.join(', ')}`);
    assert.equal(await page.locator('.agent[data-status="success"]').count(), 0, 'no agent has ended yet');
    assert.match((await page.locator('#run-tokens').textContent()) ?? '', /^[\d,]+ in \/ [\d,]+ out$/);
    const costCells = await page.locator('.overview-table td[data-column="cost"]').allTextContents();
    assert.ok(costCells.some((cell) => cell.startsWith('$')), `an agent's own cost shows while it works: ${costCells.join(', ')}`);
    await waitForRunStatus(page, 'completed');
    // One meaning of time: wall clock from start to end, and the model's own time beside it, labelled.
    const wall = (await panel(page, 1).locator('[data-field="time"]').textContent()) ?? '';
    const model = (await panel(page, 1).locator('[data-field="model-time"]').textContent()) ?? '';
    assert.ok(seconds(wall) >= 7.5, `three slow turns take at least 7.5 s of wall clock: ${wall}`);
    assert.ok(seconds(model) > 0 && seconds(model) <= seconds(wall) + 1, `the model's own time (${model}) is within the wall clock (${wall})`);
    await page.close();
  });

  test('two agents are compared against each other, unified or side by side', async () => {
    const page = await openPage();
    await startRun(page, 'Write notes.', 3);
    await waitForRunStatus(page, 'completed');
    // Two agents that committed their work (on a loaded machine one may have failed).
    const [a, b] = await page.locator('.overview-table tr[data-status="success"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-agent') ?? ''));
    assert.ok(a && b, 'two agents succeeded');
    await page.getByText('Compare two agents').click();
    await page.getByLabel('Agent A').selectOption(a);
    await page.getByLabel('Agent B').selectOption(b);
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    const output = page.locator('.compare-output');
    await waitForText(output.locator('.compare-summary'), new RegExp(`^Agent ${b} against agent ${a}: 2 files, \\+\\d+ −\\d+`), 15_000);
    assert.match((await output.locator('.patch').textContent()) ?? '', new RegExp(`--- a/agent-${a}\\.md[\\s\\S]*\\+\\+\\+ b/agent-${b}\\.md`));
    await page.getByLabel('View', { exact: true }).selectOption('split');
    const split = output.locator('table.split');
    await split.waitFor();
    assert.match((await split.locator('td.del').first().textContent()) ?? '', /^− /);
    assert.match((await split.locator('td.add').first().textContent()) ?? '', /^\+ /);
    assert.match((await split.textContent()) ?? '', new RegExp(`agent-${a}\\.md[\\s\\S]*agent-${b}\\.md`));
    // Without a check command no agent is recommended by tie-break, and the page says why.
    assert.match((await page.locator('#run-recommended').textContent()) ?? '', /^none \(no check command/);
    assert.match((await page.locator('#run-recommendation').textContent()) ?? '', /^No recommendation: no check command/);
    assert.equal(await page.locator('.agent.recommended').count(), 0);
    await page.getByLabel('Agent B').selectOption(a);
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await waitForText(page.locator('#compare .error'), /^Pick two different agents to compare\.$/, 5_000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-compare.png'), fullPage: true });
    await page.close();
  });

  test('after a merge: the run repository’s absolute path with a copy button, main to download, the git commands; a Merge that would conflict says so before it is pressed', async () => {
    const page = await openPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await setCheck(page, 'test -s notes-x.md');
    const runId = await startRun(page, 'Write your notes. [[file name=notes-x.md]]', 2);
    await waitForRunStatus(page, 'completed');
    assert.equal(await page.locator('#next-steps').isVisible(), false);
    await panel(page, 1).getByRole('button', { name: 'Merge into main' }).click();
    await waitForText(panel(page, 1).locator('.merged'), /^Merged into main/, 15_000);
    const steps = page.locator('#next-steps');
    await steps.waitFor();
    const repository = runRepository(runId);
    assert.equal(await page.locator('#run-path').textContent(), repository);
    await steps.getByRole('button', { name: 'Copy path' }).click();
    await waitForText(steps.getByRole('status'), /^Copied\.$/, 5_000);
    const commands = (await page.locator('#next-commands').textContent()) ?? '';
    assert.match(commands, new RegExp(`git fetch ${repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} main:multiclaude/${runId}`));
    // The commands work: a user repository fetches main from the run repository.
    const user = path.join(orchestrator!.home, 'user-repository');
    execFileSync('git', ['init', '-q', user]);
    execFileSync('bash', ['-c', commands.split('\n')[1]!], { cwd: user });
    assert.equal(gitIn(user, 'rev-parse', `multiclaude/${runId}`), gitIn(repository, 'rev-parse', 'main'));
    // main downloads as a bundle a user can clone.
    const bundleHref = await steps.getByRole('link', { name: 'main as a git bundle' }).getAttribute('href');
    const bundle = await fetch(new URL(bundleHref!, frontend!.url));
    assert.equal(bundle.status, 200);
    assert.match(Buffer.from(await bundle.arrayBuffer()).subarray(0, 20).toString(), /^# v\d git bundle/);
    assert.equal((await fetch(new URL((await steps.getByRole('link', { name: '.zip' }).getAttribute('href'))!, frontend!.url))).status, 200);
    // Agent 2 wrote the same file: its Merge says it would conflict, and names the file, before anyone presses it.
    const second = panel(page, 2);
    await waitForText(second.locator('.merge-conflict'), /^Merging now would conflict with main on notes-x\.md\.$/, 15_000);
    assert.equal(await second.getByRole('button', { name: 'Merge into main (would conflict)' }).count(), 1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-next-steps.png'), fullPage: true });
    assert.deepEqual(problemsOf(page), []);
    await page.close();
  });

  test('a follow-up to a finished agent adds a commit on its branch, re-runs its check and shows under the run in the history', async () => {
    const page = await openPage();
    await setCheck(page, 'test -s agent-1-followup.md');
    const runId = await startRun(page, 'Write a clock.', 1);
    await waitForRunStatus(page, 'completed');
    const agent = panel(page, 1);
    assert.match((await agent.locator('[data-field="check"]').textContent()) ?? '', /^failed/);
    const cost = (await agent.locator('[data-field="cost"]').textContent()) ?? '';
    await agent.getByLabel('Follow-up to agent 1').fill('Now also handle time zones.');
    await agent.getByRole('button', { name: 'Send follow-up' }).click();
    await page.locator('.agent[data-agent="1"][data-status="running"]').waitFor({ timeout: RUN_TIMEOUT_MS });
    await waitForRunStatus(page, 'completed');
    await page.locator('.agent[data-agent="1"][data-status="success"]').waitFor({ timeout: RUN_TIMEOUT_MS });
    await waitForText(agent.locator('[data-field="check"]'), /^passed/, 15_000);
    assert.match((await agent.locator('.timeline .followup').textContent()) ?? '', /Follow-up: Now also handle time zones\./);
    assert.match((await agent.locator('[data-field="changes"]').textContent()) ?? '', /^2 files/);
    assert.notEqual(await agent.locator('[data-field="cost"]').textContent(), cost, 'the follow-up adds to the agent’s cost');
    assert.equal(await page.locator('#run-recommended').textContent(), 'Agent 1');
    assert.deepEqual(gitIn(runRepository(runId), 'log', '--format=%s', 'agent-1').split('\n').slice(0, 2), [
      'Agent 1: follow-up, add agent-1-followup.md',
      'Agent 1: add agent-1.md',
    ]);
    await page.locator('#history-refresh').click();
    await waitForText(page.locator(`.history-item[data-run-id="${runId}"] + .history-followups`), /Agent 1: Now also handle time zones\./, 5_000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'choosing-follow-up.png'), fullPage: true });
    assert.deepEqual(problemsOf(page), []);
    await page.close();
  });

  test('Cancel asks first; a prompt over the limit is counted and refused whole; an agent’s error shows once; the skip link keeps #run=', async () => {
    const page = await openPage();
    const runId = await startRun(page, 'Work slowly. [[slow ms=3000]]', 1);
    await page.locator('.agent[data-agent="1"][data-status="running"]').waitFor({ timeout: RUN_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Keep running' }).click();
    assert.equal(await page.locator('#run').getAttribute('data-status'), 'running', 'asking stops nothing');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await waitForRunStatus(page, 'cancelled');
    assert.equal(await panel(page, 1).locator('p.error').first().textContent(), 'cancelled');

    // The skip link goes to the prompt and leaves the open run in the address.
    await page.keyboard.press('Home');
    await page.locator('a.skip').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#prompt:focus').count(), 1);
    assert.equal(new URL(page.url()).hash, `#run=${runId}`);

    const long = `${'x'.repeat(149_992)}[[text]]`;
    await page.getByLabel('Prompt').fill(long);
    await waitForText(page.locator('#prompt-count'), /^150,000 \/ 100,000 characters — 50,000 over the limit$/, 5_000);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    assert.equal(
      await page.locator('#form-error').textContent(),
      'The prompt is 150,000 characters; the limit is 100,000. Shorten it by 50,000.',
    );
    assert.equal((await page.getByLabel('Prompt').inputValue()).length, 150_000, 'nothing was cut');
    assert.equal(await page.locator('#run-id').textContent(), runId, 'no run started');
    await page.getByLabel('Budget in US dollars').fill('-3');
    await page.getByLabel('Prompt').fill('Fail one agent. [[fail agent=2]]');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await waitForText(page.locator('#form-error'), /^The budget must be a positive amount/, 5_000);
    await page.getByLabel('Budget in US dollars').fill('5');
    const failedRun = await startRun(page, 'Fail one agent. [[fail agent=2]]', 2);
    await waitForRunStatus(page, 'completed');
    assert.equal(await page.locator('#run-budget').textContent(), '$5.00');
    const error = (await panel(page, 2).locator('p.error').first().textContent()) ?? '';
    assert.ok(error.length > 0);
    const panelText = await panel(page, 2).innerText();
    assert.equal(panelText.split(error).length - 1, 1, `the error is shown once in: ${panelText}`);
    // Nor is the model's error message repeated as the agent's last words.
    const said = /API Error: [^\n]+/.exec(error)?.[0];
    if (said) assert.equal(panelText.split(said).length - 1, 1, `"${said}" is shown once in: ${panelText}`);
    assert.notEqual(failedRun, runId);
    await page.close();
  });

  test('a shutdown of the orchestrator leaves the run interrupted and tells each agent why', async () => {
    const lonelyOrchestrator = await startOrchestrator({ token: TOKEN });
    const lonelyFrontend = await startFrontendProcess({ orchestratorUrl: lonelyOrchestrator.url, token: TOKEN });
    try {
      const page = await openPageIn(browser!, lonelyFrontend.url);
      await startRun(page, 'Work for ever. [[slow ms=60000]]', 2);
      await page.locator('.agent[data-status="running"]').first().waitFor({ timeout: RUN_TIMEOUT_MS });
      await lonelyOrchestrator.stop();
      await waitForRunStatus(page, 'interrupted');
      for (const agentId of [1, 2]) {
        assert.match((await panel(page, agentId).locator('p.error').first().textContent()) ?? '', /^interrupted: the orchestrator running this agent stopped/);
      }
      await page.close();
    } finally {
      await lonelyFrontend.stop();
      await lonelyOrchestrator.stop();
    }
  });
});
