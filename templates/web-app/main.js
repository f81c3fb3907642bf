// The app: loads the crate that wasm-pack built into pkg/ and calls its `parallelSum`. It leaves
// the result in #output and "done" or "failed" in <body data-status>, which the end-to-end tests
// of amphi read.

import init, { parallelSum } from './pkg/web_app.js';

const N = 1_000_000;
const THREADS = 4;
const expected = (N * (N - 1)) / 2;
const output = document.getElementById('output');

async function main() {
  await init();
  const sums = await parallelSum(N, THREADS);
  const result = {
    expected,
    threads: sums.threads,
    process: sums.process,
    processExitCode: sums.processExitCode,
  };
  output.textContent = JSON.stringify(result);
  const ok = sums.threads === expected && sums.process === expected && sums.processExitCode === 0;
  document.body.dataset.status = ok ? 'done' : 'failed';
}

main().catch((error) => {
  output.textContent = `failed: ${error?.stack ?? error}`;
  document.body.dataset.status = 'failed';
});
