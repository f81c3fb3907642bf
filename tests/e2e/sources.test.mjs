// End-to-end tests of the sources panels of the amphi web page (www/sources.js) in headless
// Chromium, set up as page.test.mjs: after `?run=NAME` the "Rust source" panel holds the
// example's Rust module and the "Python original" panel the Python program it translates, both
// compared with the files on disk; an example no seed has code for says it has no original.
//
// The npm package must be built into pkg/ first:  npm run build   (then: npm run test:e2e)

import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForRunEnd, withPage } from './support/page.mjs';

/** A file of the examples crate, read from disk (`path` relative to examples/). */
function examplesFile(path) {
  return readFileSync(new URL(`../../examples/${path}`, import.meta.url), 'utf8');
}

/** Loads `?run=NAME`, waits for the run to end, and returns the two panels' text. */
async function runAndReadPanels(url, page, name) {
  await page.goto(new URL(`?run=${name}`, url).href);
  await waitForRunEnd(page);
  assert.equal(await page.locator('#sources').isVisible(), true, 'the sources panels are hidden');
  assert.equal(await page.locator('#sources').getAttribute('data-example'), name);
  return {
    rust: await page.locator('#rust-source').textContent(),
    python: await page.locator('#python-source').textContent(),
  };
}

test('?run=bank-account shows its Rust source and its Python original beside the output', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    const { rust, python } = await runAndReadPanels(url, page, 'bank-account');
    const rustFile = examplesFile('src/bank_account.rs');
    const pythonFile = examplesFile('python/bank-account.py');
    const rustLine = rustFile.split('\n').find((line) => line.includes('fn run('));
    const pythonLine = pythonFile.split('\n').find((line) => line.includes('class Account'));
    assert.ok(rustLine && pythonLine, 'the files on disk lack the lines this test looks for');
    assert.ok(rust.includes(rustLine), `the Rust panel lacks ${JSON.stringify(rustLine)}`);
    assert.ok(python.includes(pythonLine), `the Python panel lacks ${JSON.stringify(pythonLine)}`);
    assert.equal(rust, rustFile, 'the Rust panel is not examples/src/bank_account.rs');
    assert.equal(python, pythonFile, 'the Python panel is not examples/python/bank-account.py');
    assert.deepEqual(pageErrors, [], pageErrors.map((error) => error.stack).join('\n'));
  });
});

test('?run=timer shows its Rust source and says it has no Python original', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    const { rust, python } = await runAndReadPanels(url, page, 'timer');
    assert.equal(rust, examplesFile('src/timer.rs'));
    assert.match(python, /^no Python original/);
    assert.deepEqual(pageErrors, [], pageErrors.map((error) => error.stack).join('\n'));
  });
});
