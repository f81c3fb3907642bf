// Builds the fixture app with `amphi` resolved to the package built into pkg/, as an app that
// depends on the npm package would. `vite preview` serves it cross-origin isolated.

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  resolve: { alias: { amphi: fileURLToPath(new URL('../../../pkg', import.meta.url)) } },
  // The package loads its wasm and worker with `new URL(..., import.meta.url)`: leave it out of
  // the dev server's dependency pre-bundling, which would move the files away from each other.
  optimizeDeps: { exclude: ['amphi'] },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { outDir: 'dist', emptyOutDir: true },
});
