// Builds the browser pool benchmark (the bench-pool crate: amphi's ThreadPool against
// wasm-bindgen-rayon) into www/bench-pkg/ with wasm-pack, as scripts/build-pkg.mjs builds the npm
// package: release, ES module for the web, threads, the pinned nightly with std rebuilt.
// wasm-bindgen-rayon is a dependency of that crate only, never of amphi or its npm package.
//   node scripts/bench-build-web.mjs [--dev]

import { profile, wasmPackBuild } from './wasm-pack-build.mjs';

wasmPackBuild('bench-pool', '../www/bench-pkg', 'amphi_bench_pool', ['--no-pack']);

console.log(`built www/bench-pkg/ (${profile.slice(2)}): the browser pool benchmark`);
