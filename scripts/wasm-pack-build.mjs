// One wasm-pack build of a crate of this workspace for the web, as every build script here runs
// it: an ES module for the web, threads, the pinned nightly named in scripts/toolchain.env, with
// std rebuilt for atomics. Pass `--dev` on the command line for an unoptimised build.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const toolchain = readFileSync(new URL('./toolchain.env', import.meta.url), 'utf8').match(
  /^WASM_TOOLCHAIN=(\S+)$/m,
)[1];

/** `--release`, or `--dev` when the script was given `--dev`. */
export const profile = process.argv.includes('--dev') ? '--dev' : '--release';

/**
 * Builds `crate` (a folder of the workspace) into `outDir` (relative to the crate) as
 * `outName`, with `extra` wasm-pack options (such as `--no-pack`).
 */
export function wasmPackBuild(crate, outDir, outName, extra = []) {
  execFileSync(
    'wasm-pack',
    ['build', crate, profile, '--target', 'web', '--out-dir', outDir, '--out-name', outName,
      ...extra, '--mode', 'no-install', '--', '-Z', 'build-std=panic_unwind,std'],
    { cwd: root, stdio: 'inherit', env: { ...process.env, RUSTUP_TOOLCHAIN: toolchain } },
  );
}
