// Builds the template crate (templates/web-app/) as its README tells a user to, for the
// end-to-end tests in tests/e2e/template.test.mjs: `wasm-pack build --target web` in the crate
// (with --dev, the fastest to build), from a user's environment. So none of the variables with
// which amphi's own scripts pick the nightly and the wasm flags (scripts/wasm-env.sh) is passed
// on: the template's rust-toolchain.toml and .cargo/config.toml must do it. The build shares
// amphi's target folder (CARGO_TARGET_DIR, else target/), which only saves compiling std and the
// dependencies again.
//
// Usage: npm run build:template

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
export const template = join(root, 'templates', 'web-app');
/** The glue that the build writes, which the template's app imports. */
export const templateGlue = join(template, 'pkg', 'web_app.js');

const amphiBuildVariables = [
  'RUSTUP_TOOLCHAIN',
  'CARGO_UNSTABLE_BUILD_STD',
  'CARGO_BUILD_TARGET',
  'RUSTFLAGS',
  'CARGO_ENCODED_RUSTFLAGS',
  'RUSTDOCFLAGS',
];

function userEnvironment() {
  const env = { ...process.env };
  for (const name of amphiBuildVariables) delete env[name];
  env.CARGO_TARGET_DIR ??= join(root, 'target');
  return env;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = spawnSync('wasm-pack', ['build', '--target', 'web', '--dev'], {
    cwd: template,
    env: userEnvironment(),
    stdio: 'inherit',
  });
  if (built.error) throw built.error;
  if (built.status !== 0) {
    console.error(`wasm-pack build failed in templates/web-app (exit code ${built.status})`);
    process.exit(built.status ?? 1);
  }
}
