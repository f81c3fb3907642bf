// A tiny application that uses the npm package `amphi` through a bundler: it runs one example
// and leaves the report in #report and "done" or "failed" in <body data-status>.

import init, { runExample } from 'amphi';

const $ = (id) => document.getElementById(id);

async function main() {
  await init();
  document.body.dataset.status = 'running';
  const lines = [];
  const report = await runExample('bank-account', {
    onLine: (line) => {
      lines.push(line);
      $('output').textContent = lines.join('\n');
    },
  });
  window.__amphiLines = lines;
  $('report').textContent = JSON.stringify(report);
  document.body.dataset.status = report.ok ? 'done' : 'failed';
}

main().catch((error) => {
  $('output').textContent = `amphi failed to start: ${error?.stack ?? error}`;
  document.body.dataset.status = 'failed';
});
