// Test support for the real-Chromium page tests: launching Chromium, opening the page with a watch on errors and outside requests, and driving the run form.
import assert from 'node:assert/strict';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startFrontendProcess, startOrchestrator, type Service } from './processes.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const RUN_TIMEOUT_MS = 120_000;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What a browser test runs against: the real orchestrator (offline model) and frontend as processes, and Chromium. */
export interface PageStack {
  orchestrator: Service & { home: string };
  frontend: Service;
  browser: Browser;
  stop(): Promise<void>;
}

export async function startPageStack(token: string, environment?: NodeJS.ProcessEnv): Promise<PageStack> {
  const orchestrator = await startOrchestrator({ token, ...(environment ? { environment } : {}) });
  const frontend = await startFrontendProcess({ orchestratorUrl: orchestrator.url, token });
  const browser = await launchChromium();
  return {
    orchestrator,
    frontend,
    browser,
    stop: async () => {
      await browser.close();
      await frontend.stop();
      await orchestrator.stop();
    },
  };
}

export async function openPage(browser: Browser, url: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // A failed request to a host other than the frontend would mean the page loads something from outside.
  page.on('request', (request) => {
    if (!request.url().startsWith(url) && !request.url().startsWith('data:')) problems.push(`outside request: ${request.url()}`);
  });
  await page.goto(url);
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}

export function problemsOf(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/** Types the prompt, sets the slider with the keyboard, and presses Run. */
export async function startRun(page: Page, prompt: string, agents: number): Promise<string> {
  await page.getByLabel('Prompt').fill(prompt);
  const slider = page.getByLabel('Agents', { exact: true });
  await slider.focus();
  await page.keyboard.press('Home');
  for (let count = 1; count < agents; count += 1) await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('#agents-value').textContent(), String(agents));
  const previous = (await page.locator('#run-id').textContent()) ?? '';
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  // The new run's id, not the one shown before Run was pressed.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const runId = await waitForText(page.locator('#run-id'), /^\d{8}_\d{6}_[0-9a-f]+$/, 15_000);
    if (runId !== previous) return runId;
    if (Date.now() > deadline) throw new Error(`no new run started; still showing ${previous}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls from here: the page's policy forbids the string evaluation waitForFunction would need. */
export async function waitForText(locator: Locator, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await locator.textContent()) ?? '';
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; last text: ${JSON.stringify(text)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function waitForRunStatus(page: Page, status: string, timeoutMs = RUN_TIMEOUT_MS): Promise<void> {
  await page.locator(`#run[data-status="${status}"]`).waitFor({ timeout: timeoutMs });
}

export function panel(page: Page, agentId: number): Locator {
  return page.locator(`.agent[data-agent="${agentId}"]`);
}
