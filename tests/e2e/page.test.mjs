// End-to-end tests of the amphi web page (www/) in a real browser: Debian's Chromium, driven
// headless by playwright-core, loading the page from the real server (node www/server.mjs).
// They check that `?run=bank-account` runs the example on Web Workers and reports it ok in a
// cross-origin isolated page (streaming its output lines through `onLine`), that the examples
// list runs an example on click, and that a page served without COOP/COEP headers explains the
// problem and fails the run with a clear error; and that the pool examples (threads and
// processes), four-processes and daemon run from the page; and that the seed examples of thread
// information, Timer, process basics and start methods run there too.
//
// The npm package must be built into pkg/ first:  npm run build   (then: npm run test:e2e)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_TIMEOUT_MS, waitForRunEnd, withPage } from './support/page.mjs';

/** The JSON report the page put in #report. */
async function readReport(page) {
  const text = await page.locator('#report').textContent();
  try {
    return JSON.parse(text);
  } catch (error) {
    const output = await page.locator('#output').textContent();
    assert.fail(`#report is not JSON (${error.message}): ${JSON.stringify(text)}\n#output: ${output}`);
  }
}

function describeErrors(errors) {
  return errors.map((error) => error.stack ?? String(error)).join('\n');
}

function assertBankAccountOk(report) {
  assert.equal(report.example, 'bank-account', JSON.stringify(report));
  assert.equal(report.ok, true, `the report is not ok: ${JSON.stringify(report, null, 2)}`);
  assert.equal(report.error, null, JSON.stringify(report));
  assert.ok(Array.isArray(report.checks), JSON.stringify(report));
  const balance = report.checks.find((check) => check.name === 'balance == 100');
  assert.ok(balance, `no check "balance == 100": ${JSON.stringify(report.checks)}`);
  assert.equal(balance.ok, true, JSON.stringify(balance));
  assert.ok(Array.isArray(report.output), JSON.stringify(report));
  assert.ok(
    report.output.some((line) => /balance:? 100\b/i.test(line)),
    `no output line gives the balance 100: ${JSON.stringify(report.output)}`,
  );
}

test('?run=bank-account runs the example in a cross-origin isolated page', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(new URL('?run=bank-account', url).href);
    const status = await waitForRunEnd(page);
    const report = await readReport(page);
    assert.equal(status, 'done', `the run failed: ${JSON.stringify(report, null, 2)}`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    assert.equal(await page.locator('#isolation').isVisible(), false);
    assertBankAccountOk(report);
    assert.deepEqual(
      await page.evaluate(() => window.__amphiLines),
      report.output,
      "runExample's onLine received every output line, in order, while the example ran",
    );
    assert.deepEqual(pageErrors, [], `page errors:\n${describeErrors(pageErrors)}`);
  });
});

test('the examples list runs bank-account on click', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(url);
    await page.waitForSelector('body[data-status=ready]', {
      state: 'attached',
      timeout: RUN_TIMEOUT_MS,
    });
    assert.equal(await page.locator('#report').textContent(), '', 'nothing has run yet');
    const button = page.locator('#examples button', { hasText: /^bank-account$/ });
    assert.equal(await button.count(), 1, 'no bank-account button in #examples');
    await button.click();
    const status = await waitForRunEnd(page);
    const report = await readReport(page);
    assert.equal(status, 'done', `the run failed: ${JSON.stringify(report, null, 2)}`);
    assertBankAccountOk(report);
    assert.deepEqual(pageErrors, [], `page errors:\n${describeErrors(pageErrors)}`);
  });
});

test('without COOP/COEP headers the page explains isolation and the run fails', async () => {
  await withPage({ AMPHI_ISOLATION: 'off' }, async ({ url, page, pageErrors }) => {
    await page.goto(new URL('?run=bank-account', url).href);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
    const isolation = page.locator('#isolation');
    await isolation.waitFor({ state: 'visible', timeout: RUN_TIMEOUT_MS });
    const explanation = await isolation.textContent();
    assert.match(explanation, /Cross-Origin-Opener-Policy/);
    assert.match(explanation, /Cross-Origin-Embedder-Policy/);

    const status = await waitForRunEnd(page);
    const output = await page.locator('#output').textContent();
    assert.equal(
      status,
      'failed',
      `the run did not fail; #output: ${output}\npage errors:\n${describeErrors(pageErrors)}`,
    );
    const reportText = await page.locator('#report').textContent();
    assert.notEqual(
      reportText,
      '',
      `no report in #report; #output: ${output}\npage errors:\n${describeErrors(pageErrors)}`,
    );
    const report = await readReport(page);
    assert.equal(report.example, 'bank-account', JSON.stringify(report));
    assert.equal(report.ok, false, JSON.stringify(report));
    assert.equal(typeof report.error, 'string', `no error in the report: ${JSON.stringify(report)}`);
    assert.match(report.error, /cross-origin isolat/i);
  });
});

test('?run=shared-memory runs processes (workers with their own memory) from the page', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(new URL('?run=shared-memory', url).href);
    const status = await waitForRunEnd(page);
    const report = await readReport(page);
    assert.equal(status, 'done', `the run failed: ${JSON.stringify(report, null, 2)}`);
    assert.equal(report.example, 'shared-memory', JSON.stringify(report));
    assert.equal(report.ok, true, `the report is not ok: ${JSON.stringify(report, null, 2)}`);
    const exact = report.checks.find((check) => check.name.startsWith('with the lock'));
    assert.ok(exact, `no check on the locked total of 200: ${JSON.stringify(report.checks)}`);
    assert.equal(exact.ok, true, JSON.stringify(exact));
    assert.deepEqual(pageErrors, [], `page errors:\n${describeErrors(pageErrors)}`);
  });
});

test('?run=manager runs a manager process worker and three children from the page', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(new URL('?run=manager', url).href);
    const status = await waitForRunEnd(page);
    const report = await readReport(page);
    assert.equal(status, 'done', `the run failed: ${JSON.stringify(report, null, 2)}`);
    assert.equal(report.example, 'manager', JSON.stringify(report));
    assert.equal(report.ok, true, `the report is not ok: ${JSON.stringify(report, null, 2)}`);
    const atomic = report.checks.find((check) => check.name.startsWith('with the server-side add'));
    assert.ok(atomic, `no check on the atomic count: ${JSON.stringify(report.checks)}`);
    assert.equal(atomic.ok, true, JSON.stringify(atomic));
    assert.deepEqual(pageErrors, [], `page errors:\n${describeErrors(pageErrors)}`);
  });
});

test('?run=manager-dict runs seed 003\'s manager dict from the page', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(new URL('?run=manager-dict', url).href);
    const status = await waitForRunEnd(page);
    const report = await readReport(page);
    assert.equal(status, 'done', `the run failed: ${JSON.stringify(report, null, 2)}`);
    assert.equal(report.example, 'manager-dict', JSON.stringify(report));
    assert.equal(report.ok, true, `the report is not ok: ${JSON.stringify(report, null, 2)}`);
    assert.deepEqual(report.output, ["{'a': 1, 'b': 2}"], JSON.stringify(report));
    assert.deepEqual(pageErrors, [], `page errors:\n${describeErrors(pageErrors)}`);
  });
});

test('?run=early-stop terminates a looping process worker from the page', async () => {
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(new URL('?run=early-stop', url).href);
    const status = await waitForRunEnd(page);
    const report = await readReport(page);
    assert.equal(status, 'done', `the run failed: ${JSON.stringify(report, null, 2)}`);
    assert.equal(report.example, 'early-stop', JSON.stringify(report));
    assert.equal(report.ok, true, `the report is not ok: ${JSON.stringify(report, null, 2)}`);
    const exitcode = report.checks.find((check) => check.name.startsWith('exitcode == -15'));
    assert.ok(exitcode, `no exit code check: ${JSON.stringify(report.checks)}`);
    assert.equal(exitcode.ok, true, JSON.stringify(exitcode));
    assert.ok(
      report.output.some((line) => line.startsWith('Doing 1 of')),
      `the child's lines did not reach the page: ${JSON.stringify(report.output)}`,
    );
    assert.deepEqual(pageErrors, [], `page errors:\n${describeErrors(pageErrors)}`);
  });
});

/** Runs `?run=NAME` in a fresh page; asserts the run ended ok and returns its report. */
async function runOk(name) {
  let report;
  await withPage({}, async ({ url, page, pageErrors }) => {
    await page.goto(new URL(`?run=${name}`, url).href);
    const status = await waitForRunEnd(page);
    report = await readReport(page);
    assert.equal(status, 'done', `${name}: the run failed: ${JSON.stringify(report, null, 2)}`);
    assert.equal(report.example, name, JSON.stringify(report));
    assert.equal(report.ok, true, `${name}: the report is not ok: ${JSON.stringify(report, null, 2)}`);
    assert.ok(report.checks.length > 0, `${name}: no checks: ${JSON.stringify(report)}`);
    assert.deepEqual(pageErrors, [], `${name}: page errors:\n${describeErrors(pageErrors)}`);
  });
  return report;
}

test('the pool examples run from the page: thread pools of Web Workers, awaited by the page', async () => {
  for (const name of ['pool', 'pool-executor', 'cpu-speedup', 'image-processing']) {
    await runOk(name);
  }
});

test('the process pool examples run from the page: pools of process workers', async () => {
  for (const name of ['process-pool', 'process-pool-executor']) {
    await runOk(name);
  }
  const report = await runOk('process-cpu-speedup');
  for (const workers of ['4 threads:', '4 processes:']) {
    assert.ok(report.output.includes(workers), `no ${workers} timing: ${JSON.stringify(report.output)}`);
  }
});

test('?run=four-processes and ?run=daemon run process workers from the page', async () => {
  const four = await runOk('four-processes');
  const distinct = four.checks.find((check) => check.name === '4 distinct child pids');
  assert.ok(distinct?.ok, `no passing distinct-pid check: ${JSON.stringify(four.checks)}`);
  const daemon = await runOk('daemon');
  const gone = daemon.checks.find((check) => check.name === 'the daemon is gone once its parent has ended');
  assert.ok(gone?.ok, `no passing daemon-gone check: ${JSON.stringify(daemon.checks)}`);
  assert.ok(
    daemon.output.some((line) => line.endsWith('d.is_alive(): true')),
    `the timed join did not leave the daemon alive: ${JSON.stringify(daemon.output)}`,
  );
});

test('?run=thread-info, ?run=timer, ?run=process-basics and ?run=start-methods run from the page', async () => {
  const info = await runOk('thread-info');
  assert.ok(
    info.output.some((line) => line.includes('<_MainThread(MainThread, started')),
    `enumerate() did not list the main thread: ${JSON.stringify(info.output)}`,
  );
  const timer = await runOk('timer');
  assert.equal(
    timer.output.filter((line) => line.startsWith('hello, world')).length,
    1,
    `only the timer that was not cancelled says hello: ${JSON.stringify(timer.output)}`,
  );
  await runOk('process-basics');
  const methods = await runOk('start-methods');
  assert.ok(
    methods.output.includes("get_start_method(): 'worker'"),
    `the page's children are not isolated workers: ${JSON.stringify(methods.output)}`,
  );
});
