// amphi's Web Worker: the script every amphi thread runs, and the helper that starts one.
//
// The page (or a worker) calls startWorker(); the new worker receives the compiled module, the
// shared memory and the URL of the generated main script, instantiates the module on that
// memory and runs the Rust closure registered under `id`. Only the id crosses into Rust.
//
// Finding this script: by default `new URL('./worker.js', import.meta.url)`, which works from
// plain <script type="module"> pages and which bundlers (Vite, webpack 5, Parcel) recognise and
// emit. A page may override it with setWorkerUrl(url) (exported by the npm package).

const PREFIX = 'amphi:';
const RUNNING = 0;
const LOST = 2;

let workerUrl = null;
// Workers that share memory must stay referenced or some engines collect them.
const live = new Set();

export function setWorkerUrl(url) {
  workerUrl = url ? String(url) : null;
}

export function startWorker(name, module, memory, mainUrl, id, exitWord) {
  const url = workerUrl ?? new URL('./worker.js', import.meta.url);
  const worker = new Worker(url, { type: 'module', name: PREFIX + name });
  live.add(worker);
  worker.addEventListener('error', (event) => {
    const reason = event.message || 'the worker script failed to load';
    console.error(`amphi: worker ${name} failed:`, reason);
    // Rust validates the id; an id whose thread already finished is ignored.
    import(mainUrl).then((glue) => glue.__amphi_worker_lost(id, reason));
  });
  worker.addEventListener('message', (event) => {
    if (event.data === 'amphi:exit') live.delete(worker);
  });
  worker.postMessage({ module, memory, mainUrl, id, exitWord });
}

// Used only when this worker could not load the module, so Rust cannot be called here. The
// registry entry for `id` still holds the thread's exit word alive on that path.
function markLost(memory, exitWord) {
  const words = new Int32Array(memory.buffer);
  const index = exitWord >>> 2;
  if (Atomics.compareExchange(words, index, RUNNING, LOST) === RUNNING) {
    Atomics.notify(words, index);
  }
}

async function runInWorker({ module, memory, mainUrl, id, exitWord }) {
  let glue;
  let exports;
  try {
    glue = await import(mainUrl);
    exports = await glue.default({ module_or_path: module, memory });
  } catch (error) {
    console.error('amphi: a worker could not load the wasm module:', error);
    markLost(memory, exitWord);
    self.postMessage('amphi:exit');
    self.close();
    return;
  }
  try {
    glue.__amphi_worker_run(id);
    exports.__wbindgen_thread_destroy?.();
  } catch (error) {
    const reason = (error && (error.stack || error.message)) || String(error);
    try {
      glue.__amphi_worker_lost(id, reason);
    } catch {
      markLost(memory, exitWord);
    }
  }
  self.postMessage('amphi:exit');
  self.close();
}

const isAmphiWorker =
  typeof DedicatedWorkerGlobalScope !== 'undefined' &&
  self instanceof DedicatedWorkerGlobalScope &&
  typeof self.name === 'string' &&
  self.name.startsWith(PREFIX);

if (isAmphiWorker && !self.__amphiWorkerStarted) {
  self.__amphiWorkerStarted = true;
  self.addEventListener('message', (event) => runInWorker(event.data), { once: true });
}
