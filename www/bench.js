// The amphi benchmark page: runs each browser benchmark in turn (on Web Workers; the page never
// blocks) and shows amphi's and the peer's time per op and their ratio. When all have run,
// #results holds the JSON array of results and <body data-status> is "done" (or "failed", with
// the reason in #progress and #results).

import init, { runBenchmark } from './pkg/amphi.js';

const BENCHMARKS = ['lock-contended', 'event-ping-pong', 'queue-throughput'];
const $ = (id) => document.getElementById(id);

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function addRow(result) {
  const row = document.createElement('tr');
  row.append(
    cell(result.name),
    cell(result.op),
    cell(result.amphi),
    cell(result.amphi_ns_per_op.toFixed(1), 'number'),
    cell(result.peer),
    cell(result.peer_ns_per_op.toFixed(1), 'number'),
    cell(`${result.ratio.toFixed(2)}x`, 'number'),
  );
  $('rows').append(row);
}

async function main() {
  if (!self.crossOriginIsolated) {
    const box = $('isolation');
    box.hidden = false;
    box.textContent = 'This page is not cross-origin isolated, so amphi threads cannot start: serve ' +
      'it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: ' +
      'require-corp (as `npm start` does).';
  }
  await init();
  document.body.dataset.status = 'running';
  const results = [];
  for (const name of BENCHMARKS) {
    $('progress').textContent = `Running ${name}…`;
    const result = await runBenchmark(name);
    results.push(result);
    addRow(result);
  }
  $('progress').textContent = 'Done.';
  $('results').textContent = JSON.stringify(results, null, 2);
  document.body.dataset.status = 'done';
}

main().catch((error) => {
  const why = `the benchmarks failed: ${error?.stack ?? error}`;
  $('progress').textContent = why;
  $('results').textContent = JSON.stringify({ error: String(error?.message ?? error) });
  document.body.dataset.status = 'failed';
});
