// Vite for an app that uses a crate built with amphi. Shared wasm memory needs a cross-origin
// isolated page: the dev server and `vite preview` send the two headers; your production server
// must send them too.
import { defineConfig } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
});
