// What the end-to-end tests (tests/e2e/) and the browser benchmarks (scripts/bench-browser.mjs)
// share: starting the real server (node www/server.mjs) on a free port, serving a folder of
// static files cross-origin isolated, and launching Debian's Chromium headless, driven by
// playwright-core, with the standard flags.

import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SERVER_START_TIMEOUT_MS = 30_000;

/** The built npm package, which the page and the bundled app load. */
export const builtPackage = fileURLToPath(new URL('../../../pkg/amphi.js', import.meta.url));

/** Servers still running, killed if this process exits early. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `node www/server.mjs` on a free port with `env` added to the environment and resolves
 * to `{ url, stop }` once it prints the address it listens on. The server's stderr is collected
 * for the error if it fails to start, or passed through with `{ stderr: 'inherit' }`.
 */
export function startServer(env = {}, { stderr: stderrMode = 'pipe' } = {}) {
  const child = spawn(process.execPath, ['www/server.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', stderrMode],
  });
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    running.delete(child);
  };
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      const details = child.stderr ? `\nserver stderr:\n${stderr}` : '';
      stop().finally(() => reject(new Error(`${why}${details}`)));
    };
    const timer = setTimeout(
      () => fail(`the server printed no address within ${SERVER_START_TIMEOUT_MS} ms`),
      SERVER_START_TIMEOUT_MS,
    );
    child.once('error', (error) => fail(`the server could not be started: ${error.message}`));
    const exitedEarly = (code, signal) =>
      fail(`the server exited before listening (code ${code}, signal ${signal})`);
    child.once('exit', exitedEarly);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/^amphi page: (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (!match) return;
      clearTimeout(timer);
      child.removeListener('exit', exitedEarly);
      resolve({ url: match[1], stop });
    });
  });
}

/** Launches a fresh headless Chromium (CHROMIUM_PATH, else Debian's) with the standard flags. */
export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const staticTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/**
 * Serves the files under `dir` as they are, cross-origin isolated (COOP/COEP), on a free port,
 * as any static file server configured for threaded wasm would; resolves to `{ url, close }`.
 */
export async function serveIsolated(dir) {
  const server = createServer(async (request, response) => {
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    try {
      const { pathname } = new URL(request.url, 'http://localhost');
      let file = join(dir, normalize(decodeURIComponent(pathname)));
      if (file !== dir && !file.startsWith(dir + sep)) {
        throw Object.assign(new Error('outside the served folder'), { code: 'ENOENT' });
      }
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      headers['Content-Type'] = staticTypes[extname(file)] ?? 'application/octet-stream';
      response.writeHead(200, headers).end(body);
    } catch (error) {
      const status = error.code === 'ENOENT' || error.code === 'EISDIR' ? 404 : 500;
      response.writeHead(status, { ...headers, 'Content-Type': 'text/plain' }).end(String(status));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
