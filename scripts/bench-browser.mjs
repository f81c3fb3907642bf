// Runs the browser benchmarks: serves www/ (node www/server.mjs, on a free port), opens
// bench.html in headless Chromium (Debian's, driven by playwright-core), waits until the page
// sets <body data-status=done>, and prints the JSON results from #results to stdout.
//   node scripts/bench-browser.mjs [--out FILE]     (also writes the JSON to FILE)
// The npm package must be built first: node scripts/build-pkg.mjs

import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RUN_TIMEOUT_MS = 300_000;
const SERVER_START_TIMEOUT_MS = 30_000;

const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? process.argv[outIndex + 1] : null;

if (!existsSync(new URL('../pkg/amphi.js', import.meta.url))) {
  console.error('pkg/amphi.js is missing: build the npm package first (node scripts/build-pkg.mjs)');
  process.exit(2);
}

/** Starts `node www/server.mjs` on a free port; resolves to `{ url, child }`. */
function startServer() {
  const child = spawn(process.execPath, ['www/server.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the server printed no address within ${SERVER_START_TIMEOUT_MS} ms`));
    }, SERVER_START_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited before listening (code ${code}, signal ${signal})`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/^amphi page: (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ url: match[1], child });
    });
  });
}

async function main() {
  const server = await startServer();
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.stack ?? error}`));
    await page.goto(new URL('bench.html', server.url).href);
    await page.waitForSelector('body[data-status=done], body[data-status=failed]', {
      state: 'attached',
      timeout: RUN_TIMEOUT_MS,
    });
    const status = await page.evaluate(() => document.body.dataset.status);
    const text = await page.locator('#results').textContent();
    if (status !== 'done') {
      const progress = await page.locator('#progress').textContent();
      throw new Error(`the benchmark page failed: ${progress}\n${text}`);
    }
    const results = JSON.parse(text);
    const json = JSON.stringify(results, null, 2);
    if (outFile) writeFileSync(outFile, json + '\n');
    console.log(json);
  } finally {
    await browser?.close();
    server.child.kill('SIGTERM');
  }
}

main().catch((error) => {
  console.error(error?.stack ?? error);
  process.exit(1);
});
