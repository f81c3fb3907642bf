// Builds the browser pool benchmark (the bench-pool crate: amphi's ThreadPool against
// wasm-bindgen-rayon) into www/bench-pkg/ with wasm-pack, as scripts/build-pkg.mjs builds the npm
// package: release, ES module for the web, threads, the pinned nightly with std rebuilt.
// wasm-bindgen-rayon is a dependency of that crate only, never of amphi or its npm package.
//   node scripts/bench-build-web.mjs [--dev]

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const toolchain = readFileSync(new URL('./toolchain.env', import.meta.url), 'utf8').match(
  /^WASM_TOOLCHAIN=(\S+)$/m,
)[1];
const profile = process.argv.includes('--dev') ? '--dev' : '--release';

execFileSync(
  'wasm-pack',
  ['build', 'bench-pool', profile, '--target', 'web', '--out-dir', '../www/bench-pkg',
    '--out-name', 'amphi_bench_pool', '--no-pack', '--mode', 'no-install', '--',
    '-Z', 'build-std=panic_unwind,std'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RUSTUP_TOOLCHAIN: toolchain } },
);

console.log(`built www/bench-pkg/ (${profile.slice(2)}): the browser pool benchmark`);
