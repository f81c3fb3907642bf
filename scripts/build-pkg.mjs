// Builds the npm package `amphi` into pkg/ with wasm-pack (ES module for the web, TypeScript
// types, threads). Pass --dev for an unoptimised build. The wasm build uses the pinned nightly
// named in scripts/toolchain.env, with std rebuilt for atomics.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const toolchain = readFileSync(new URL('./toolchain.env', import.meta.url), 'utf8').match(
  /^WASM_TOOLCHAIN=(\S+)$/m,
)[1];
const profile = process.argv.includes('--dev') ? '--dev' : '--release';

execFileSync(
  'wasm-pack',
  ['build', 'web', profile, '--target', 'web', '--out-dir', '../pkg', '--out-name', 'amphi',
    '--mode', 'no-install', '--', '-Z', 'build-std=panic_unwind,std'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RUSTUP_TOOLCHAIN: toolchain } },
);

// The Rust crate is `amphi-web` (the core crate owns the name `amphi`); the package is `amphi`.
const manifestPath = new URL('../pkg/package.json', import.meta.url);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
manifest.name = 'amphi';
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');

console.log(`built pkg/ (${profile.slice(2)}): npm package "amphi" ${manifest.version}`);
