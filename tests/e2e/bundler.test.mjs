// End-to-end test of the npm package through a bundler: builds the app in tests/e2e/vite-app/
// (`import init, { runExample } from 'amphi'`, with `amphi` resolved to pkg/) with Vite's
// production build, serves the output cross-origin isolated, and checks in Debian's Chromium,
// driven headless by playwright-core, that the bundled worker runs bank-account to an ok report.
//
// The npm package must be built into pkg/ first:  npm run build   (then: npm run test:e2e)

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'vite';
import { builtPackage, launchChromium, serveIsolated } from './support/browser.mjs';

const app = fileURLToPath(new URL('./vite-app/', import.meta.url));
const RUN_TIMEOUT_MS = 120_000;

/** Builds the fixture app into a fresh temporary folder and returns that folder. */
async function buildApp() {
  const outDir = await mkdtemp(join(tmpdir(), 'amphi-vite-'));
  await build({
    configFile: join(app, 'vite.config.mjs'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

test('a Vite production build of an app that imports amphi runs bank-account', async () => {
  assert.ok(
    existsSync(builtPackage),
    `${builtPackage} is missing: build the npm package first with \`npm run build\``,
  );
  const outDir = await buildApp();
  const server = await serveIsolated(outDir);
  let browser;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    const consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-status=done], body[data-status=failed]', {
      state: 'attached',
      timeout: RUN_TIMEOUT_MS,
    });
    const status = await page.evaluate(() => document.body.dataset.status);
    const output = await page.locator('#output').textContent();
    const reportText = await page.locator('#report').textContent();
    const context =
      `#output: ${output}\n#report: ${reportText}\n` +
      `console errors:\n${consoleErrors.join('\n')}`;
    assert.equal(status, 'done', `the run failed\n${context}`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);

    const report = JSON.parse(reportText);
    assert.equal(report.example, 'bank-account', context);
    assert.equal(report.ok, true, context);
    assert.equal(report.error, null, context);
    const balance = report.checks.find((check) => check.name === 'balance == 100');
    assert.ok(balance?.ok, `no passing check "balance == 100"\n${context}`);
    assert.deepEqual(
      await page.evaluate(() => window.__amphiLines),
      report.output,
      'onLine received every output line, in order',
    );
    const errors = pageErrors.map((error) => error.stack ?? String(error)).join('\n');
    assert.deepEqual(pageErrors, [], `page errors:\n${errors}`);
  } finally {
    await browser?.close();
    await server.close();
    await rm(outDir, { recursive: true, force: true });
  }
});
