// Best-of-N on the page in real headless Chromium, against the real frontend server, orchestrator and offline model: the form's fields, the leaderboard, the judge's reasons and its fallback note.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM, openPage, problemsOf, startPageStack, waitForRunStatus, waitForText, type PageStack } from './support/page.ts';
import { skipUnlessRequired } from '../../backend/orchestrator/test/support/required.ts';

const TOKEN = 'e2e-orchestrator-token-b3n7';
const ARTIFACTS = path.resolve(import.meta.dirname, '..', '..', 'test-artifacts');
const RUN_TIMEOUT_MS = 180_000;
const skip = skipUnlessRequired(existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; CI installs it)`);

let stack: PageStack | undefined;

/** Fills the form, opens Best of N, picks the winner's selection, and runs with this many agents. */
async function startRun(page: Page, prompt: string, agents: number, fields: { check?: string; select: string }): Promise<void> {
  await page.getByLabel('Prompt').fill(prompt);
  if (fields.check) await page.getByLabel('Check command').fill(fields.check);
  await page.getByText('Best of N: stop early, start adaptively, judge').click();
  await page.getByLabel('Pick the winner by').selectOption(fields.select);
  await page.getByLabel('Agents', { exact: true }).fill(String(agents));
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await waitForText(page.locator('#run-id'), /^\d{8}_\d{6}_[0-9a-f]+$/, 15_000);
  await waitForRunStatus(page, 'completed', RUN_TIMEOUT_MS);
}

describe('best-of-N on the web page in Chromium', { skip }, () => {
  before(async () => {
    if (skip) return;
    await mkdir(ARTIFACTS, { recursive: true });
    stack = await startPageStack(TOKEN);
  });
  after(async () => {
    await stack?.stop();
  });

  test('a judge ranks three passing attempts: the leaderboard shows its order, why the winner won, and each attempt’s tokens, cost and time', async () => {
    const page = await openPage(stack!.browser, stack!.frontend.url, { width: 1280, height: 1000 });
    await startRun(page, 'Write your notes. [[judge order=3,1,2]]', 3, { check: 'true', select: 'check+judge' });
    const board = page.locator('#leaderboard');
    await waitForText(board.locator('#leaderboard-winner'), /^Agent 3 wins \(chosen by the judge\): agent 3's change reads best against the task \(offline judge, scripted\)$/, 15_000);
    assert.deepEqual(await board.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-agent'))), ['3', '1', '2']);
    const winner = board.locator('tbody tr[data-agent="3"]');
    assert.equal(await winner.getAttribute('class'), 'winner');
    assert.match((await winner.locator('td.why').textContent()) ?? '', /^judge: agent 3's change reads best against the task/);
    const cells = await winner.locator('td').allTextContents();
    assert.equal(cells[0], '1');
    assert.equal(cells[2], 'passed');
    assert.match(cells[3] ?? '', /^[\d,]+ in \/ [\d,]+ out$/);
    assert.match(cells[4] ?? '', /^\$\d/);
    assert.match(cells[5] ?? '', /^\d+(\.\d)? m?s$/);
    assert.match((await board.locator('#leaderboard-judge').textContent()) ?? '', /^Judge ranked agents 3, 1, 2 \(/);
    assert.match((await board.locator('#leaderboard-totals').textContent()) ?? '', /^Run: 3 of 3 attempts started · [\d,]+ in \/ [\d,]+ out · \$[\d.]+ \(judge \$[\d.]+\) · /);
    assert.equal(await board.locator('#leaderboard-note').isVisible(), false);
    await board.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'frontend-leaderboard.png'), fullPage: true });
    assert.deepEqual(problemsOf(page), []);
    await page.close();
  });

  test('a judge that fails leaves the design’s ranking with a visible note', async () => {
    const page = await openPage(stack!.browser, stack!.frontend.url);
    await startRun(page, 'Write your notes. [[judge fail]]', 2, { check: 'true', select: 'judge' });
    const note = page.locator('#leaderboard-note');
    await waitForText(note, /^the judge failed \(its answer holds no JSON ranking\): ranked by the check and diff rules instead$/, 15_000);
    assert.match((await page.locator('#leaderboard-winner').textContent()) ?? '', /^Agent 1 wins: /);
    await page.close();
  });
});
