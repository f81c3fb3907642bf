//! The npm package `amphi`: the JavaScript face of amphi's examples.
//!
//! ```js
//! import init, { listExamples, runExample } from 'amphi';
//! await init();
//! for (const { name, summary } of listExamples()) console.log(name, summary);
//! const report = await runExample('bank-account');   // runs in a Web Worker
//! console.log(report.ok, report.checks);
//! await runExample('washer-dryer', { onLine: (line) => console.log(line) });   // live lines
//! ```
//!
//! `runBenchmark(name)` (used by `www/bench.html`) times an amphi primitive against its
//! `std::sync` peer on Web Workers and resolves to both figures and their ratio.
//!
//! `runExample` never blocks the page: the example runs on an amphi thread (a Web Worker) and
//! the page awaits its `join_async`. The page must be cross-origin isolated (COOP/COEP
//! headers); if it is not, the report says so in `error`.
//!
//! This crate is only meaningful on wasm32; natively it compiles to nothing.

#[cfg(target_arch = "wasm32")]
mod bench;
#[cfg(target_arch = "wasm32")]
mod bindings;
