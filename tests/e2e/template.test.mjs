// End-to-end tests of amphi in a user's own crate: the template in templates/web-app/ (a crate
// that depends on amphi, and an app that calls it), built as its README says, with plain
// `wasm-pack build --target web` and nothing done to the generated files. The crate is built
// once, before these tests (npm run build:template, see support/build-template.mjs); its
// `parallelSum` (amphi threads, then a child process) then runs in Debian's Chromium, driven
// headless by playwright-core, in these settings: the files served as they are (at the server's
// root, and below another path), the Vite dev server, a Vite production build and a webpack 5
// production build. Each checks the sums and that the page logged no error.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build as viteBuild, createServer as viteServer } from 'vite';
import webpack from 'webpack';
import { launchChromium, serveIsolated } from './support/browser.mjs';
import { template, templateGlue } from './support/build-template.mjs';

const RUN_TIMEOUT_MS = 120_000;
const N = 1_000_000;
const THREADS_SUM = (N * (N - 1)) / 2;

before(() => {
  assert.ok(
    existsSync(templateGlue),
    `${templateGlue} is missing: build the template crate first with \`npm run build:template\``,
  );
});

test('the template pins the toolchain and the wasm-bindgen version that amphi pins', async () => {
  const pinned = await readFile(new URL('../../scripts/toolchain.env', import.meta.url), 'utf8');
  const pin = (name) => pinned.match(new RegExp(`^${name}=(\\S+)$`, 'm'))[1];
  const toolchain = await readFile(join(template, 'rust-toolchain.toml'), 'utf8');
  assert.match(toolchain, new RegExp(`^channel = "${pin('WASM_TOOLCHAIN')}"$`, 'm'));
  const manifest = await readFile(join(template, 'Cargo.toml'), 'utf8');
  assert.match(manifest, new RegExp(`^wasm-bindgen = "=${pin('WASM_BINDGEN_VERSION')}"$`, 'm'));
});

/**
 * Opens `url` in a fresh headless Chromium, waits for the app's run to end, and checks the sums
 * it reports and that neither the page nor any of its workers logged an error.
 */
async function expectSums(url) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(`page error: ${error.stack ?? error}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
    });
    page.on('requestfailed', (request) =>
      errors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
    );
    page.on('response', (response) => {
      if (response.status() >= 400) errors.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    await page.goto(url);
    await page.waitForSelector('body[data-status=done], body[data-status=failed]', {
      state: 'attached',
      timeout: RUN_TIMEOUT_MS,
    });
    const status = await page.evaluate(() => document.body.dataset.status);
    const output = await page.locator('#output').textContent();
    const context = `#output: ${output}\n${errors.join('\n')}`;
    assert.equal(status, 'done', `the run failed\n${context}`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    assert.deepEqual(
      JSON.parse(output),
      { expected: THREADS_SUM, threads: THREADS_SUM, process: THREADS_SUM, processExitCode: 0 },
      context,
    );
    assert.deepEqual(errors, [], 'the page logged errors');
  } finally {
    await browser.close();
  }
}

/** Runs `body(dir)` with a fresh temporary folder, removed afterwards. */
async function withTemporaryFolder(prefix, body) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Serves `dir` as static files while `body(url)` runs. */
async function withStaticServer(dir, body) {
  const server = await serveIsolated(dir);
  try {
    return await body(server.url);
  } finally {
    await server.close();
  }
}

test('the template crate served as plain files', () =>
  withStaticServer(template, (url) => expectSums(url)));

test('the template crate served as plain files below another path', () =>
  withStaticServer(join(template, '..'), (url) => expectSums(new URL('web-app/', url).href)));

test('the template crate under the Vite dev server', async () => {
  const server = await viteServer({
    configFile: join(template, 'vite.config.js'),
    root: template,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  try {
    await server.listen();
    await expectSums(server.resolvedUrls.local[0]);
  } finally {
    await server.close();
  }
});

test('the template crate in a Vite production build', () =>
  withTemporaryFolder('amphi-template-vite-', async (outDir) => {
    await viteBuild({
      configFile: join(template, 'vite.config.js'),
      root: template,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    await withStaticServer(outDir, (url) => expectSums(url));
  }));

test('the template crate in a webpack 5 production build', () =>
  withTemporaryFolder('amphi-template-webpack-', async (outDir) => {
    // A webpack configuration with nothing for amphi in it: the app's entry, and a folder.
    const stats = await new Promise((resolve, reject) =>
      webpack(
        {
          mode: 'production',
          context: template,
          entry: './main.js',
          output: { path: outDir, filename: 'main.js' },
          performance: { hints: false },
        },
        (error, result) => (error ? reject(error) : resolve(result)),
      ),
    );
    assert.equal(stats.hasErrors(), false, stats.toString('errors-only'));
    // webpack's default output is a classic script: the page loads it as one.
    const page = await readFile(join(template, 'index.html'), 'utf8');
    const classic = page.replace('<script type="module" src="./main.js">', '<script src="./main.js">');
    assert.notEqual(classic, page, 'index.html no longer loads ./main.js as expected');
    await writeFile(join(outDir, 'index.html'), classic);
    await withStaticServer(outDir, (url) => expectSums(url));
  }));
