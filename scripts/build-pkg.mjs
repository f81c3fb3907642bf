// Builds the npm package `amphi` into pkg/ with wasm-pack (ES module for the web, TypeScript
// types, threads). Pass --dev for an unoptimised build. The wasm build uses the pinned nightly
// named in scripts/toolchain.env, with std rebuilt for atomics.

import { readFileSync, writeFileSync } from 'node:fs';

import { profile, wasmPackBuild } from './wasm-pack-build.mjs';

wasmPackBuild('web', '../pkg', 'amphi');

// The Rust crate is `amphi-web` (the core crate owns the name `amphi`); the package is `amphi`.
const manifestPath = new URL('../pkg/package.json', import.meta.url);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
manifest.name = 'amphi';
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');

console.log(`built pkg/ (${profile.slice(2)}): npm package "amphi" ${manifest.version}`);
