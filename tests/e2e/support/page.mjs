// What the page's end-to-end tests (page, sources, timeline) share: a fresh page of the real
// server in a fresh headless Chromium, torn down whatever the test does, and the wait for a
// run's end that the page signals on <body data-status>.

import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { builtPackage, launchChromium, startServer } from './browser.mjs';

/** How long one example's run may take in the page. */
export const RUN_TIMEOUT_MS = 120_000;

/**
 * Starts a server (with `serverEnv` in its environment) and a fresh headless Chromium, calls
 * `body({ url, page, pageErrors })` with a new page (`pageOptions` as Playwright's `newPage`
 * takes them), and always closes the browser and stops the server afterwards.
 */
export async function withPage(serverEnv, body, pageOptions = {}) {
  assert.ok(
    existsSync(builtPackage),
    `${builtPackage} is missing: build the npm package first with \`npm run build\``,
  );
  const server = await startServer(serverEnv);
  let browser;
  try {
    browser = await launchChromium();
    const page = await browser.newPage(pageOptions);
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    await body({ url: server.url, page, pageErrors });
  } finally {
    await browser?.close();
    await server.stop();
  }
}

/** Waits until the page's run has ended and returns `data-status` ("done" or "failed"). */
export async function waitForRunEnd(page) {
  await page.waitForSelector('body[data-status=done], body[data-status=failed]', {
    state: 'attached',
    timeout: RUN_TIMEOUT_MS,
  });
  return page.evaluate(() => document.body.dataset.status);
}
