// Runs the browser benchmarks: serves www/ (node www/server.mjs, on a free port), opens
// bench.html in headless Chromium (Debian's, driven by playwright-core), waits until the page
// sets <body data-status=done>, and prints the JSON results from #results to stdout.
//   node scripts/bench-browser.mjs [--out FILE] [--only NAME[,NAME...]]
// --out also writes the JSON to FILE; --only runs only the named benchmarks (`pool` for the pool
// rows), for example --only lock-contended.
// The npm package and the pool benchmark must be built first: node scripts/build-pkg.mjs and
// node scripts/bench-build-web.mjs (into www/bench-pkg/; not needed when --only leaves out `pool`).

import { existsSync, writeFileSync } from 'node:fs';
import { launchChromium, startServer } from '../tests/e2e/support/browser.mjs';

const RUN_TIMEOUT_MS = 300_000;

const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? process.argv[outIndex + 1] : null;
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : null;
const needsPool = only === null || only.split(',').includes('pool');

if (!existsSync(new URL('../pkg/amphi.js', import.meta.url))) {
  console.error('pkg/amphi.js is missing: build the npm package first (node scripts/build-pkg.mjs)');
  process.exit(2);
}
if (needsPool && !existsSync(new URL('../www/bench-pkg/amphi_bench_pool.js', import.meta.url))) {
  console.error('www/bench-pkg/ is missing: build the pool benchmark first (node scripts/bench-build-web.mjs)');
  process.exit(2);
}

async function main() {
  const server = await startServer({}, { stderr: 'inherit' });
  let browser;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.stack ?? error}`));
    const url = new URL('bench.html', server.url);
    if (only !== null) url.searchParams.set('only', only);
    await page.goto(url.href);
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
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error?.stack ?? error);
  process.exit(1);
});
