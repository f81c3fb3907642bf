// Builds the npm package `amphi` into pkg/ with wasm-pack (ES module for the web, TypeScript
// types, threads). Pass --dev for an unoptimised build. The wasm build uses the pinned nightly
// named in scripts/toolchain.env, with std rebuilt for atomics.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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

// amphi's worker script imports the package's entry statically, so that a bundler builds the
// glue into the worker (see src/sys/web/worker.js). Only the package knows the entry's name.
const pkg = join(root, 'pkg');
const placeholder = 'const packageGlue = null;';
const workerScripts = readdirSync(join(pkg, 'snippets'))
  .filter((dir) => dir.startsWith('amphi-'))
  .map((dir) => join(pkg, 'snippets', dir, 'src', 'sys', 'web', 'worker.js'))
  .filter((path) => existsSync(path) && readFileSync(path, 'utf8').includes(placeholder));
if (workerScripts.length === 0) {
  throw new Error(`no amphi worker script in pkg/snippets has the line "${placeholder}"`);
}
for (const workerScript of workerScripts) {
  const entry = relative(dirname(workerScript), join(pkg, manifest.main)).split('\\').join('/');
  const source = readFileSync(workerScript, 'utf8');
  const glueImport = `import * as packageGlue from '${entry}';`;
  writeFileSync(workerScript, source.replace(placeholder, glueImport));
}
console.log(`built pkg/ (${profile.slice(2)}): npm package "amphi" ${manifest.version}`);
