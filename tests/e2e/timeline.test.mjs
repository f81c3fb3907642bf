// End-to-end tests of the page's timeline (www/timeline.js) in a real browser, set up as
// page.test.mjs: every run draws an SVG with one lane per thread that ran a slice (its
// `data-pid`/`data-tid` the same (pid, tid) pairs as the trace's complete slices, which the page
// keeps on window.__amphiTrace), for a thread pool and for process workers (whose events come
// back to the page with their exit reports), and the "Download trace" button saves the trace as
// amphi-NAME-trace.json, a trace-event array.
//
// The npm package must be built into pkg/ first:  npm run build   (then: npm run test:e2e)

import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForRunEnd, withPage } from './support/page.mjs';

/** Opens `?run=NAME` in a fresh page, waits for the run to end ok, and calls `body(page)`. */
async function withRun(name, body) {
  await withPage(
    {},
    async ({ url, page, pageErrors }) => {
      await page.goto(new URL(`?run=${name}`, url).href);
      const status = await waitForRunEnd(page);
      const report = await page.locator('#report').textContent();
      assert.equal(status, 'done', `${name}: the run failed: ${report}`);
      assert.deepEqual(pageErrors, [], `${name}: page errors: ${pageErrors.map(String).join('\n')}`);
      await body(page);
    },
    { acceptDownloads: true },
  );
}

/** The trace the page kept, and its SVG's lanes: `{ trace, lanes, declared }`. */
async function readTimeline(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('#timeline svg');
    return {
      trace: window.__amphiTrace,
      declared: Number(svg?.dataset.lanes),
      lanes: [...(svg?.querySelectorAll('g.lane') ?? [])].map((lane) => ({
        pid: Number(lane.dataset.pid),
        tid: Number(lane.dataset.tid),
        bars: lane.querySelectorAll('rect.slice').length,
        tooltips: [...lane.querySelectorAll('rect.slice > title')].map((title) => title.textContent),
      })),
      visible: !document.getElementById('timeline').hidden,
    };
  });
}

/** The distinct "pid tid" of the trace's complete slices. */
function sliceThreads(trace) {
  return new Set(trace.filter((event) => event.ph === 'X').map((event) => `${event.pid} ${event.tid}`));
}

/** Checks the SVG has exactly one lane per (pid, tid) that ran a slice; returns the timeline. */
async function assertOneLanePerThread(page, name) {
  const timeline = await readTimeline(page);
  assert.ok(timeline.visible, `${name}: the timeline is shown`);
  assert.ok(Array.isArray(timeline.trace), `${name}: the page kept the trace`);
  const threads = sliceThreads(timeline.trace);
  const lanes = timeline.lanes.map((lane) => `${lane.pid} ${lane.tid}`);
  assert.equal(new Set(lanes).size, lanes.length, `${name}: a lane twice: ${lanes}`);
  assert.deepEqual(new Set(lanes), threads, `${name}: one lane per thread that ran`);
  assert.equal(timeline.declared, lanes.length, `${name}: data-lanes counts the lanes`);
  const slices = timeline.trace.filter((event) => event.ph === 'X').length;
  assert.equal(
    timeline.lanes.reduce((sum, lane) => sum + lane.bars, 0),
    slices,
    `${name}: one bar per slice`,
  );
  for (const lane of timeline.lanes) {
    assert.ok(
      lane.tooltips.every((tip) => /: [\d.]+ (ms|µs)$/.test(tip)),
      `${name}: every bar's tooltip has its name and duration: ${lane.tooltips}`,
    );
  }
  return timeline;
}

test('?run=pool draws one lane per pool worker that ran, and the trace downloads as JSON', async () => {
  await withRun('pool', async (page) => {
    const timeline = await assertOneLanePerThread(page, 'pool');
    const tasks = timeline.trace.filter((event) => event.ph === 'X' && event.name === 'pool.task');
    assert.ok(tasks.length > 0, 'the pool\'s tasks are slices');
    const flowIds = (ph) => timeline.trace.filter((e) => e.ph === ph).map((e) => e.id).sort();
    assert.deepEqual(flowIds('s'), flowIds('f'), 'every task\'s submission flows to its run');
    assert.equal(flowIds('s').length, tasks.length, 'one flow per task');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#download-trace'),
    ]);
    assert.equal(download.suggestedFilename(), 'amphi-pool-trace.json');
    const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.ok(Array.isArray(saved), 'the download is a trace-event array');
    assert.equal(saved.length, timeline.trace.length, 'the download is the run\'s trace');
    for (const event of saved) {
      assert.equal(typeof event.name, 'string', JSON.stringify(event));
      assert.ok(['X', 's', 'f', 'M'].includes(event.ph), JSON.stringify(event));
      assert.equal(typeof event.ts, 'number', JSON.stringify(event));
      assert.ok(Number.isInteger(event.pid) && Number.isInteger(event.tid), JSON.stringify(event));
      if (event.ph === 'X') assert.ok(event.dur >= 0, JSON.stringify(event));
    }
  });
});

test('?run=four-processes draws the process workers\' lanes with their own pids', async () => {
  await withRun('four-processes', async (page) => {
    const timeline = await assertOneLanePerThread(page, 'four-processes');
    const pids = new Set(timeline.lanes.map((lane) => lane.pid));
    assert.ok(pids.size >= 5, `the page and its four children have lanes: ${[...pids]}`);
    const processSlices = timeline.trace.filter((event) => event.ph === 'X' && event.name === 'process');
    assert.equal(processSlices.length, 4, 'each child sent its own slice');
  });
});
