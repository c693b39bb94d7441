// Test support for the browser tests: waiting for a locator's text from the test's side.
import type { Locator } from 'playwright-core';

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
