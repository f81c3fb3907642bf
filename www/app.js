// The amphi page: lists the examples, runs one on click, and runs `?run=NAME` at once, showing
// the example's Rust source and Python original beside its output (sources.js).
// Output lines appear as the example prints them. When a run ends, #report holds its JSON report,
// #timeline its timeline (timeline.js), and <body data-status> is "done" or "failed".

import init, { listExamples, runExample } from './pkg/amphi.js';
import { showSources } from './sources.js';
import { showRunTimeline } from './timeline.js';

const $ = (id) => document.getElementById(id);

function explainIsolation() {
  const box = $('isolation');
  box.hidden = false;
  box.innerHTML = `<strong>This page is not cross-origin isolated</strong>, so the browser disables
    <code>SharedArrayBuffer</code> and Web Workers cannot share WebAssembly memory: amphi's threads
    cannot start. Serve the page with the response headers
    <code>Cross-Origin-Opener-Policy: same-origin</code> and
    <code>Cross-Origin-Embedder-Policy: require-corp</code> (as <code>npm start</code> does); then
    <code>self.crossOriginIsolated</code> is <code>true</code>.`;
}

function show(report) {
  $('title').textContent = `Output: ${report.example}`;
  $('output').textContent = report.output.join('\n') + (report.error ? `\nerror: ${report.error}` : '');
  $('checks').replaceChildren(
    ...report.checks.map((check) => {
      const item = document.createElement('li');
      item.className = check.ok ? 'ok' : 'fail';
      item.textContent = `${check.name} (${check.detail})`;
      return item;
    }),
  );
  $('report').textContent = JSON.stringify(report, null, 2);
  document.body.dataset.status = report.ok ? 'done' : 'failed';
}

async function run(name) {
  document.body.dataset.status = 'running';
  showSources(name);
  $('title').textContent = `Output: ${name} (running…)`;
  $('output').textContent = '';
  $('checks').replaceChildren();
  showRunTimeline(name, null, null);
  // The lines as they arrive, while the example runs (kept on window for the tests).
  const lines = (window.__amphiLines = []);
  const onLine = (line) => {
    lines.push(line);
    $('output').textContent = lines.join('\n');
  };
  const { trace, trace_error: traceError, ...report } = await runExample(name, { onLine, trace: true });
  showRunTimeline(name, trace, traceError);
  show(report);
}

async function main() {
  if (!self.crossOriginIsolated) explainIsolation();
  await init();
  $('examples').replaceChildren(
    ...listExamples().map(({ name, summary }) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.textContent = name;
      button.addEventListener('click', () => run(name));
      const note = document.createElement('small');
      note.textContent = summary;
      item.append(button, note);
      return item;
    }),
  );
  document.body.dataset.status = 'ready';
  const requested = new URLSearchParams(location.search).get('run');
  if (requested) await run(requested);
}

main().catch((error) => {
  $('output').textContent = `amphi failed to start: ${error?.stack ?? error}`;
  document.body.dataset.status = 'failed';
});
