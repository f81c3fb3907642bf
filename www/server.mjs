// Serves the amphi page (www/) and the npm package (pkg/ at /pkg/) with the headers that make
// the page cross-origin isolated, which SharedArrayBuffer and shared wasm memory require:
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
// Usage: PORT=8080 node www/server.mjs   (AMPHI_ISOLATION=off serves without them, for tests)

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const roots = [
  { prefix: '/pkg/', dir: resolve(here, '..', 'pkg') },
  { prefix: '/', dir: resolve(here) },
];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
};
const isolated = process.env.AMPHI_ISOLATION !== 'off';

function locate(pathname) {
  const root = roots.find((r) => pathname.startsWith(r.prefix));
  const relative = normalize(decodeURIComponent(pathname.slice(root.prefix.length)));
  const file = join(root.dir, relative);
  if (file !== root.dir && !file.startsWith(root.dir + sep)) return null;
  return file;
}

const server = createServer(async (request, response) => {
  const headers = { 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' };
  if (isolated) {
    headers['Cross-Origin-Opener-Policy'] = 'same-origin';
    headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
  }
  try {
    const { pathname } = new URL(request.url, 'http://localhost');
    let file = locate(pathname);
    if (!file) throw Object.assign(new Error('outside the served folders'), { code: 'ENOENT' });
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const body = await readFile(file);
    headers['Content-Type'] = types[extname(file)] ?? 'application/octet-stream';
    response.writeHead(200, headers).end(body);
  } catch (error) {
    const status = error.code === 'ENOENT' || error.code === 'EISDIR' ? 404 : 500;
    response.writeHead(status, { ...headers, 'Content-Type': 'text/plain' }).end(String(status));
  }
});

const port = Number(process.env.PORT || 8080);
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  console.log(`amphi page: http://127.0.0.1:${actual}/ (cross-origin isolated: ${isolated})`);
});
